// Swap: what is active (/proc/swaps), and whether this machine should get our swap file. Pure
// reads through the System port; the decision is in one function so the step's check, plan and
// docs/phases.md say the same thing.
import type { System } from '../system/port.js'
import type { Facts } from './environment.js'
import { diskSpace, memTotalMiB } from './machine.js'
import { REQUIRED_FREE_GB } from './requirements.js'

export const SWAP_FILE = '/swapfile'
/**
 * "Below 4 GiB of RAM", as MemTotal: the kernel keeps 5-8% for itself, so a 4 GiB machine reports
 * about 3800-3900 MiB. Below this, three Electron IDEs and Firefox run a machine out of memory.
 */
export const SMALL_MEMORY_MIB = 3700
/** What `auto` makes: enough to park idle IDE windows, small enough for a 20 GB disk. */
export const AUTO_SWAP_MIB = 2048
/** Smaller than this is not worth a swap file: the disk cap then skips it instead. */
export const MIN_SWAP_MIB = 256
/** Left free on / after the swap file: what preflight promised the rest of the run. */
export const DISK_MARGIN_BYTES = REQUIRED_FREE_GB * 1e9

export interface ActiveSwap {
  path: string
  type: string
  sizeKiB: number
}

/** /proc/swaps without its header; paths as the kernel prints them (a space as \040). */
export async function activeSwaps(sys: System): Promise<ActiveSwap[]> {
  const text = (await sys.readFile('/proc/swaps'))?.toString('utf8') ?? ''
  const out: ActiveSwap[] = []
  for (const line of text.split('\n').slice(1)) {
    const [path, type, size] = line.trim().split(/\s+/)
    if (path && type && size) out.push({ path, type, sizeKiB: Number(size) })
  }
  return out
}

/** swap.size as MiB: 'auto' stays 'auto', 0 is 0. */
export function swapSizeMiB(size: 'auto' | 0 | string): number | 'auto' {
  if (size === 'auto') return 'auto'
  if (size === 0 || size === '0') return 0
  const m = /^(\d+)([MG])$/.exec(size)
  if (!m) throw new Error(`swap.size ${size}: not 'auto', 0 or a size such as 2G`)
  return Number(m[1]) * (m[2] === 'G' ? 1024 : 1)
}

/**
 * Why there will be no swap file of ours (`skip`, with `warn` when the person should hear it), or
 * its size (`make`). Asked only when our swap file is not there yet.
 */
export type SwapDecision =
  | { kind: 'skip'; detail: string; warn?: string }
  | { kind: 'make'; mib: number; detail: string }

export async function decideSwap(
  sys: System,
  size: 'auto' | 0 | string,
  facts: Facts,
): Promise<SwapDecision> {
  const want = swapSizeMiB(size)
  if (want === 0) return { kind: 'skip', detail: 'swap.size is 0: no swap file' }
  // Swap belongs to the kernel, and a container's or a chroot's kernel is its host's: swapon is
  // refused there (EPERM: LXC, OpenVZ, Docker's seccomp), or, where the container keeps
  // CAP_SYS_ADMIN (systemd-nspawn without a user namespace), it would give the host swap. So it is
  // decided here, not by trying. /proc/swaps there lists the host's swap, not the machine's.
  if (facts.container || facts.chroot) {
    const where = facts.chroot ? 'a chroot' : `a ${facts.virtualization} container`
    const detail = `no swap file: swap cannot be enabled in ${where}, whose kernel (and swap) is its host's`
    return { kind: 'skip', detail, warn: `${detail}. Give the machine more memory, or add swap on the host.` }
  }
  const active = await activeSwaps(sys)
  if (active.length > 0) {
    const list = active.map((s) => `${s.path} (${Math.round(s.sizeKiB / 1024)} MiB)`).join(', ')
    return { kind: 'skip', detail: `swap already active: ${list}` }
  }
  const ram = await memTotalMiB(sys)
  if (want === 'auto' && (ram === null || ram >= SMALL_MEMORY_MIB))
    return { kind: 'skip', detail: `${ram ?? '?'} MiB RAM (>= ${SMALL_MEMORY_MIB} MiB): no swap needed` }
  const mib = want === 'auto' ? AUTO_SWAP_MIB : want
  const disk = await diskSpace(sys, '/')
  const room = disk ? Math.floor((disk.availBytes - DISK_MARGIN_BYTES) / 1024 / 1024) : 0
  const fits = Math.min(mib, room)
  if (fits < MIN_SWAP_MIB) {
    const free = disk ? `${(disk.availBytes / 1e9).toFixed(1)} GB free on /` : 'free space on / unknown'
    const detail = `no swap file: ${free}, and ${REQUIRED_FREE_GB} GB must stay free for the rest of the run`
    return { kind: 'skip', detail, warn: `${detail}. Grow the disk, or set swap.size to 0 to silence this.` }
  }
  const why = want === 'auto' ? `${ram} MiB RAM (< ${SMALL_MEMORY_MIB} MiB)` : `swap.size ${size}`
  const capped = fits < mib ? `, capped from ${mib} MiB by the free disk` : ''
  return { kind: 'make', mib: fits, detail: `${why}, no swap active: ${SWAP_FILE} of ${fits} MiB${capped}` }
}
