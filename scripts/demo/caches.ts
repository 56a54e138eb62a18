// The demo's caches under the lab directory (/var/tmp/vps-provision-lab), which `--down` keeps so
// the next demo starts in minutes rather than after a four-minute debootstrap: it says where they
// are and how big, and `--down --purge` removes them. Only the demo's own entries, chosen by exact
// name directly in the lab directory: the integration tests' roots, the VM images and anything a
// running test uses are never touched.
import { lstat, readdir, realpath, rm } from 'node:fs/promises'
import path from 'node:path'
import { E2E_INCLUDE } from '../../test/e2e/harness/world.js'
import { mountsUnder, processesRootedIn } from '../../test/lab/mounts.js'
import { run } from '../../test/lab/proc.js'
import { DEFAULT_CACHE_DIR, hostArch, hostDebianMirror, rootCacheKey } from '../../test/lab/trixie-root.js'

export const LAB_DIR = DEFAULT_CACHE_DIR

export interface DemoCache {
  path: string
  what: string
  bytes: number
}

/** What may ever be purged, by name: the demo's log dir, the apt proxy's cache, a trixie root. */
const PURGEABLE = /^(demo|e2e-pool-cache|trixie-minbase-[0-9a-f]{12}(\.log|\.lock)?)$/

/** Why `p` must not be purged, or null when it is one of the demo's caches directly in `labDir`. */
export function refusePurge(labDir: string, p: string): string | null {
  if (!path.isAbsolute(labDir) || path.resolve(labDir) === '/') return `${labDir} is not a lab directory`
  if (!path.isAbsolute(p)) return `${p} is not an absolute path`
  // Compared as written: a path with .. or // in it is refused rather than interpreted.
  if (path.resolve(p) !== p) return `${p} is not a plain path`
  if (path.dirname(p) !== path.resolve(labDir)) return `${p} is not directly in ${labDir}`
  if (!PURGEABLE.test(path.basename(p))) return `${p} is not one of the demo's caches`
  return null
}

/** The lab entries that are the demo's: the root it boots (with its build log and lock), the rest. */
export function demoCacheNames(entries: readonly string[], rootName: string): string[] {
  const own = ['demo', 'e2e-pool-cache', rootName, `${rootName}.log`, `${rootName}.lock`]
  return own.filter((n) => entries.includes(n))
}

const WHAT: Record<string, string> = {
  demo: "the demo's log",
  'e2e-pool-cache': '.debs the containers downloaded (the apt proxy keeps them)',
}

function describe(name: string): string {
  if (WHAT[name]) return WHAT[name]
  if (name.endsWith('.log')) return 'how that root was built (debootstrap log)'
  if (name.endsWith('.lock')) return 'its build lock'
  return 'the Debian 13 root the container is cloned from (debootstrap, ~4 min to rebuild)'
}

/** The directory name of the root the demo boots on this host (same key as ensureTrixieRoot's). */
export async function demoRootName(): Promise<string> {
  const mirror = await hostDebianMirror()
  const key = rootCacheKey({ suite: 'trixie', include: E2E_INCLUDE, mirror, arch: await hostArch() })
  return `trixie-minbase-${key}`
}

async function bytesOf(p: string): Promise<number> {
  const r = await run(['du', '-s', '-x', '-B1', '--', p], { allowFailure: true, timeoutMs: 120_000 })
  return Number(/^(\d+)/.exec(r.stdout)?.[1] ?? 0)
}

/** The demo's caches now, with their sizes, and the size of everything else in the lab dir. */
export async function demoCaches(labDir = LAB_DIR): Promise<{ own: DemoCache[]; otherBytes: number }> {
  const entries = await readdir(labDir).catch(() => [] as string[])
  const names = demoCacheNames(entries, await demoRootName())
  const own: DemoCache[] = []
  for (const n of names) {
    const p = path.join(labDir, n)
    own.push({ path: p, what: describe(n), bytes: await bytesOf(p) })
  }
  const all = entries.length > 0 ? await bytesOf(labDir) : 0
  return { own, otherBytes: Math.max(0, all - own.reduce((a, c) => a + c.bytes, 0)) }
}

export function mb(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`
  return bytes >= 1e6 ? `${Math.round(bytes / 1e6)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`
}

/** What `--down` says about the caches it kept. */
export function cachesReport(own: readonly DemoCache[], otherBytes: number, labDir = LAB_DIR): string {
  if (own.length === 0) return `No demo caches are left in ${labDir}.`
  const total = own.reduce((a, c) => a + c.bytes, 0)
  const lines = [
    `Kept for the next demo (it starts faster with them): ${mb(total)} in ${labDir}`,
    ...own.map((c) => `  ${mb(c.bytes).padStart(7)}  ${path.basename(c.path).padEnd(32)} ${c.what}`),
    'Remove them: npm run demo -- --down --purge',
  ]
  if (otherBytes > 0)
    lines.push(`(${mb(otherBytes)} more there are the tests' caches, not the demo's: left alone.)`)
  return lines.join('\n')
}

/** Test runs using the lab dir now (their pid alive): their files must not go from under them. */
export async function labUsers(labDir = LAB_DIR): Promise<string[]> {
  const users: string[] = []
  for (const sub of ['', 'e2e', 'clones']) {
    const dir = path.join(labDir, sub)
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(/-(\d+)-[0-9a-f]{6,8}$/.exec(name)?.[1] ?? Number.NaN)
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) users.push(path.join(dir, name))
    }
  }
  return users
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the demo's caches; checks every path first and removes nothing if one is refused. */
export async function purge(own: readonly DemoCache[], labDir = LAB_DIR): Promise<void> {
  if ((await realpath(labDir)) !== path.resolve(labDir))
    throw new Error(`${labDir} is a symlink: not purging`)
  for (const c of own) {
    const why = refusePurge(labDir, c.path)
    if (why) throw new Error(`not purging: ${why}`)
    if ((await lstat(c.path).catch(() => null))?.isSymbolicLink())
      throw new Error(`not purging: ${c.path} is a symlink`)
  }
  for (const c of own) {
    const st = await lstat(c.path).catch(() => null)
    if (!st) continue
    if (!st.isDirectory()) {
      await rm(c.path, { force: true })
      continue
    }
    // A root a test has mounted things in or runs processes in is in use: leave it, say so.
    const busy = [...(await mountsUnder(c.path)), ...(await processesRootedIn(c.path)).map(String)]
    if (busy.length > 0) throw new Error(`not purging: ${c.path} is in use (${busy.join(', ')})`)
    await run(['rm', '-rf', '--one-file-system', '--', c.path], { timeoutMs: 10 * 60_000 })
  }
}
