// Mount and process bookkeeping for lab roots. Everything here exists so that a lab root can never
// leave something behind on the host: no mount under it survives, no process keeps running in it,
// and `rm -rf` never walks into a bind mount of the host's /dev or /proc.

import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { run } from './proc.js'

/** Undoes the octal escapes of /proc/mounts (`\040` for a space, `\134` for a backslash...). */
export function decodeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
}

/** Mount points of this mount namespace, in /proc/mounts order (parents before children). */
export async function listMountPoints(): Promise<string[]> {
  const text = await readFile('/proc/mounts', 'utf8')
  const out: string[] = []
  for (const line of text.split('\n')) {
    const field = line.split(' ')[1]
    if (field) out.push(decodeMountField(field))
  }
  return out
}

/** The canonical absolute form of `dir`: realpath when it exists, else a resolved path. */
export async function canonical(dir: string): Promise<string> {
  try {
    return await realpath(dir)
  } catch {
    return path.resolve(dir)
  }
}

export function isUnder(child: string, parent: string): boolean {
  if (parent === '/') return true
  return child === parent || child.startsWith(`${parent}/`)
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = await canonical(dir)
  const found = (await listMountPoints()).filter((m) => isUnder(m, root))
  // Later entries in /proc/mounts were mounted later: unmount them first.
  return [...new Set(found.reverse())].sort((a, b) => depth(b) - depth(a))
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length
}

/**
 * Unmounts `mountPoint`; a busy mount is detached lazily (`umount --lazy`) so that nothing under
 * a lab root stays visible. Returns how it went, for the caller's log.
 */
export async function unmountOne(mountPoint: string): Promise<'unmounted' | 'lazy' | 'failed'> {
  const r = await run(['umount', mountPoint], { allowFailure: true, timeoutMs: 60_000 })
  if (r.exitCode === 0) return 'unmounted'
  const lazy = await run(['umount', '--lazy', mountPoint], { allowFailure: true, timeoutMs: 60_000 })
  return lazy.exitCode === 0 ? 'lazy' : 'failed'
}

/** Unmounts everything at or below `dir` (deepest first) and checks /proc/mounts afterwards. */
export async function unmountAllUnder(dir: string, log: (line: string) => void = () => {}): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const mounts = await mountsUnder(dir)
    if (mounts.length === 0) return
    for (const m of mounts) {
      const how = await unmountOne(m)
      if (how !== 'unmounted') log(`unmount ${m}: ${how}`)
    }
  }
  await assertNothingMountedUnder(dir)
}

export async function assertNothingMountedUnder(dir: string): Promise<void> {
  const left = await mountsUnder(dir)
  if (left.length > 0) throw new Error(`still mounted under ${dir}: ${left.join(', ')}`)
}

/** PIDs of processes whose root directory is `dir` or below it (processes running in a chroot). */
export async function processesRootedIn(dir: string): Promise<number[]> {
  const root = await canonical(dir)
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const pid = Number(name)
    if (pid === process.pid) continue
    try {
      const r = await readlink(`/proc/${name}/root`)
      if (r !== '/' && isUnder(r, root)) pids.push(pid)
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return pids
}

/** Ends every process still running inside `dir` (TERM, then KILL); returns the PIDs it found. */
export async function killProcessesRootedIn(dir: string, graceMs = 2_000): Promise<number[]> {
  const found = await processesRootedIn(dir)
  if (found.length === 0) return []
  for (const pid of found) signal(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline && (await processesRootedIn(dir)).length > 0) await sleep(100)
  for (const pid of await processesRootedIn(dir)) signal(pid, 'SIGKILL')
  const until = Date.now() + 5_000
  while (Date.now() < until && (await processesRootedIn(dir)).length > 0) await sleep(100)
  return found
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // gone already
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Deletes a lab directory tree (a root, a clone, a half-built debootstrap target) safely:
 * refuses shallow or system paths, ends processes running in it, unmounts everything below it,
 * checks that, and only then runs `rm -rf --one-file-system`.
 */
export async function removeTree(dir: string, log?: (line: string) => void): Promise<void> {
  if (!path.isAbsolute(dir)) throw new Error(`removeTree: not an absolute path: ${dir}`)
  const target = await canonical(dir)
  const underTmp = isUnder(target, '/tmp') || isUnder(target, tmpdir())
  if (target === '/' || (depth(target) < 3 && !(underTmp && depth(target) >= 2))) {
    throw new Error(`removeTree: refusing to delete ${target}`)
  }
  try {
    await stat(target)
  } catch {
    return
  }
  await killProcessesRootedIn(target)
  await unmountAllUnder(target, log)
  await run(['rm', '-rf', '--one-file-system', '--', target], { timeoutMs: 10 * 60_000 })
}
