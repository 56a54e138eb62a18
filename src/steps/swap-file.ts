// swapFile(): a swap file where memory is small and no swap is active (src/facts/swap.ts decides),
// its /etc/fstab line (a marked block, undone from the file's backup), and vm.swappiness through a
// sysctl.d drop-in and the running kernel. The file itself has a typed undo, remove-swap-file:
// swapoff, then remove. Where swap cannot be enabled (a container, a virtualisation whose kernel
// refuses swapon) the step says so with a warning and holds: the run goes on, no file left behind.
import type { Config } from '../config/schema.js'
import type { Facts } from '../facts/environment.js'
import { readText } from '../facts/files.js'
import { blockContent } from '../facts/marked-block.js'
import { activeSwaps, decideSwap, SWAP_FILE } from '../facts/swap.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { CommandError, type System } from '../system/port.js'
import { template } from '../templates.js'
import { file } from './file.js'
import { markedBlock } from './marked-block.js'
import type { Check, Step, StepContext } from './types.js'

export const FSTAB = '/etc/fstab'
export const SWAP_MARKER = 'swap'
export const SWAP_SYSCTL = '/etc/sysctl.d/60-vps-provision-swap.conf'
/** Keep the IDEs in RAM and swap out what sits idle; the kernel's 60 swaps out too eagerly. */
export const SWAPPINESS = 10
const FSTAB_LINE = `${SWAP_FILE} none swap sw 0 0\n`

/**
 * Refusals apply met in this process (swapon failed where no container was detected): the check
 * holds with them, so the run goes on. A later run tries again, and says so again.
 */
const refused = new WeakMap<System, string>()

export interface SwapFileArgs {
  id: string
  size: Config['swap']['size']
  facts: Facts
}

const fstab = markedBlock({ path: FSTAB, marker: SWAP_MARKER, content: FSTAB_LINE })
/** Built when asked, not at import: templates are read when a phase is built (src/templates.ts). */
const dropIn = (): Step =>
  file({ path: SWAP_SYSCTL, content: template('sysctl-swap.conf', { swappiness: SWAPPINESS }), mode: 0o644 })

/** Our swap file is there: the fstab block names it (written only once swapon worked). */
async function ours(sys: System): Promise<boolean> {
  const text = await readText(sys, FSTAB)
  return text !== null && blockContent(text, SWAP_MARKER) !== null
}

async function swappiness(sys: System): Promise<string> {
  return (await sys.readFile('/proc/sys/vm/swappiness'))?.toString('utf8').trim() ?? '?'
}

export function swapFile(args: SwapFileArgs): Step {
  return {
    id: args.id,
    title: 'Swap file where memory is small',
    async check(sys): Promise<Check> {
      if (await ours(sys)) return checkOurs(sys)
      const refusal = refused.get(sys)
      if (refusal) return { done: true, observed: refusal }
      const d = await decideSwap(sys, args.size, args.facts)
      if (d.kind === 'skip') return { done: true, observed: d.detail, ...(d.warn ? { warning: d.warn } : {}) }
      return { done: false, observed: 'no swap', why: d.detail }
    },
    async apply(ctx) {
      const sys = ctx.sys
      if (!(await ours(sys))) {
        const d = await decideSwap(sys, args.size, args.facts)
        if (d.kind === 'skip') return
        const refusal = await makeSwapFile(ctx, d.mib)
        if (refusal) {
          ctx.warn(refusal)
          refused.set(sys, refusal)
          return
        }
      } else if (!(await activeSwaps(sys)).some((s) => s.path === SWAP_FILE)) {
        await swapOnAgain(ctx)
      }
      if (!(await fstab.check(sys)).done) await fstab.apply(ctx)
      if (!(await dropIn().check(sys)).done) await dropIn().apply(ctx)
      await setSwappiness(ctx)
    },
  }
}

/** Ours is done when the file is active swap, in fstab, and swappiness is set both ways. */
async function checkOurs(sys: System): Promise<Check> {
  const active = (await activeSwaps(sys)).find((s) => s.path === SWAP_FILE)
  const [block, conf, value] = await Promise.all([fstab.check(sys), dropIn().check(sys), swappiness(sys)])
  const problems = [
    ...(active ? [] : [`${SWAP_FILE} is not active swap`]),
    ...(block.done ? [] : [block.why ?? `${FSTAB}: our block differs`]),
    ...(conf.done ? [] : [conf.why ?? `${SWAP_SYSCTL} differs`]),
    ...(value === String(SWAPPINESS) ? [] : [`vm.swappiness is ${value}, want ${SWAPPINESS}`]),
  ]
  const observed = `${SWAP_FILE} ${active ? `active ${Math.round(active.sizeKiB / 1024)} MiB` : 'inactive'}; ${block.observed}; ${conf.observed}; vm.swappiness=${value}`
  return problems.length === 0
    ? { done: true, observed }
    : { done: false, observed, why: problems.join('; ') }
}

/** Ours, but not in use (someone ran swapoff): on again, or a clear stop when the file is gone. */
async function swapOnAgain(ctx: StepContext): Promise<void> {
  if (!(await ctx.sys.stat(SWAP_FILE)))
    throw new ProvisionError(
      `Unable to enable swap: ${FSTAB} names our ${SWAP_FILE}, but the file is gone`,
      EXIT.provisioning,
      `Roll back the session that made it (vps-provision rollback), or remove our block from ${FSTAB}`,
    )
  await ctx.change(
    {
      actionType: 'COMMAND_EXEC',
      target: `swapon ${SWAP_FILE}`,
      undo: { kind: 'argv', argv: ['swapoff', SWAP_FILE], allowFailure: true },
    },
    async () => {
      await ctx.sys.exec(['swapon', SWAP_FILE])
      return undefined
    },
  )
}

/** The running kernel's value now; the drop-in makes it so at boot. */
async function setSwappiness(ctx: StepContext): Promise<void> {
  const before = await swappiness(ctx.sys)
  if (before === String(SWAPPINESS)) return
  await ctx.change(
    {
      actionType: 'COMMAND_EXEC',
      target: `sysctl -w vm.swappiness=${SWAPPINESS}`,
      // The drop-in goes with its own undo; the running kernel gets its old value back now.
      undo: { kind: 'argv', argv: ['sysctl', '-w', `vm.swappiness=${before}`], allowFailure: true },
    },
    async () => {
      const r = await ctx.sys.exec(['sysctl', '-w', `vm.swappiness=${SWAPPINESS}`])
      return { output: r.stdout.trim() }
    },
  )
}

/**
 * fallocate (dd where the filesystem cannot), chmod 600, mkswap, swapon: one journaled change whose
 * undo is swapoff and remove. Returns why swapon was refused (the file is then removed again), or
 * null when the swap is on.
 */
async function makeSwapFile(ctx: StepContext, mib: number): Promise<string | null> {
  const sys = ctx.sys
  const st = await sys.stat(SWAP_FILE)
  if (st)
    throw new ProvisionError(
      `Unable to make ${SWAP_FILE}: a ${st.kind} of that name exists and is not active swap`,
      EXIT.provisioning,
      `Look at ${SWAP_FILE}: remove it, or enable it yourself (swapon), or set swap.size to 0`,
    )
  let refusal: string | null = null
  await ctx.change(
    { actionType: 'FILE_CREATE', target: SWAP_FILE, undo: { kind: 'remove-swap-file', path: SWAP_FILE } },
    async () => {
      const fast = await sys.exec(['fallocate', '--length', `${mib}MiB`, SWAP_FILE], { allowFailure: true })
      if (fast.exitCode !== 0) {
        // Some filesystems (older XFS, btrfs without nocow) refuse fallocate'd swap: write zeros.
        await sys.removeFile(SWAP_FILE)
        await sys.exec(['dd', 'if=/dev/zero', `of=${SWAP_FILE}`, 'bs=1M', `count=${mib}`, 'status=none'], {
          timeoutMs: 30 * 60_000,
        })
      }
      await sys.exec(['chmod', '600', SWAP_FILE])
      await sys.exec(['mkswap', SWAP_FILE])
      const on = await sys.exec(['swapon', SWAP_FILE], { allowFailure: true })
      if (on.exitCode === 0) return { output: `${SWAP_FILE}: ${mib} MiB swap on` }
      await sys.removeFile(SWAP_FILE)
      const why = new CommandError(['swapon', SWAP_FILE], on).message
      refusal = `no swap file: the kernel refused it (${why}); ${SWAP_FILE} was removed again. This virtualisation may not allow swap: give the machine more memory`
      return { output: refusal, files: { [SWAP_FILE]: null } }
    },
  )
  return refusal
}
