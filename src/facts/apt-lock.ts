// When apt-get gave up waiting for the dpkg lock (unattended-upgrades, cloud-init, a person's apt),
// say who holds it. apt names the holder of a classic POSIX lock itself ("It is held by process
// 812 (unattended-upgr)"); for any other kind (an OFD lock from `flock --fcntl`, a flock(2)) we look
// for a process with the lock file open, as fuser would, since minbase has no fuser or lsof.
import { EXIT, ProvisionError } from '../model/errors.js'
import type { ExecResult, System } from '../system/port.js'

const LOCK_FAILURE =
  /Could not get lock (\S+?)\.?(?:\s|$)|Unable to acquire the dpkg frontend lock \(([^)]+)\)/

export interface LockHolder {
  pid: number
  name: string
}

/** The lock file apt could not get, or null when the failure was something else. */
export function lockFailure(r: ExecResult): string | null {
  const m = LOCK_FAILURE.exec(`${r.stdout}\n${r.stderr}`)
  return m ? (m[1] ?? m[2] ?? '/var/lib/dpkg/lock-frontend') : null
}

/** apt's own word for the holder ("It is held by process N (name)"), when it gave one. */
export function holderFromApt(r: ExecResult): LockHolder | null {
  const m = /It is held by process (\d+)(?: \(([^)]*)\))?/.exec(`${r.stdout}\n${r.stderr}`)
  return m?.[1] ? { pid: Number(m[1]), name: m[2] || 'unknown' } : null
}

/**
 * Processes with one of dpkg's lock files open, found through /proc like fuser: each /proc/PID/fd
 * entry is followed (-L) and compared by device and inode (-samefile), so a process holding the
 * same path in another root (a container, a chroot) is not taken for the holder.
 */
export async function holdersFromProc(sys: System): Promise<LockHolder[]> {
  const locks = ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock']
  const r = await sys.exec(
    [
      'find',
      '-L',
      '/proc',
      '-mindepth',
      '1',
      '-maxdepth',
      '3',
      '-regextype',
      'posix-extended',
      // Only /proc/<pid>/fd/<n>: prune every other entry on the way down.
      '(',
      '-regex',
      '/proc/[^/]+',
      '!',
      '-regex',
      '/proc/[0-9]+',
      '-prune',
      ')',
      '-o',
      '(',
      '-regex',
      '/proc/[0-9]+/[^/]+',
      '!',
      '-name',
      'fd',
      '-prune',
      ')',
      '-o',
      '(',
      '-regex',
      '/proc/[0-9]+/fd/[0-9]+',
      '(',
      '-samefile',
      locks[0] as string,
      '-o',
      '-samefile',
      locks[1] as string,
      ')',
      '-printf',
      '%h\\n',
      ')',
    ],
    { allowFailure: true, timeoutMs: 20_000 },
  )
  const pids = [...new Set(r.stdout.split('\n').map((l) => /^\/proc\/(\d+)\/fd$/.exec(l)?.[1]))]
    .filter((p): p is string => p !== undefined)
    .map(Number)
  const out: LockHolder[] = []
  for (const pid of pids) {
    const comm = await sys.readFile(`/proc/${pid}/comm`).catch(() => null)
    // Gone since the scan (e.g. the apt-get that just gave up): it holds nothing any more.
    if (comm === null) continue
    out.push({ pid, name: comm.toString('utf8').trim() || 'unknown' })
  }
  return out
}

/** The error for an apt-get that timed out on the dpkg lock; null when `r` failed for another reason. */
export async function lockError(
  sys: System,
  what: string,
  r: ExecResult,
  waitedSeconds: number,
): Promise<ProvisionError | null> {
  const file = lockFailure(r)
  if (!file) return null
  const named = holderFromApt(r)
  const holders = named ? [named] : (await holdersFromProc(sys)).filter((h) => h.pid > 0)
  const who =
    holders.length > 0 ? holders.map((h) => `process ${h.pid} (${h.name})`).join(', ') : 'another process'
  const check =
    holders.length > 0 ? `\`ps -o pid,etime,args -p ${holders.map((h) => h.pid).join(',')}\`` : '`ps aux`'
  return new ProvisionError(
    `Unable to ${what}: the dpkg lock ${file} is held by ${who}; gave up after waiting ${waitedSeconds} s`,
    EXIT.provisioning,
    `Another package manager is at work (unattended-upgrades, cloud-init, apt): let it finish (check it with ${check}), then run again; aptLockTimeoutSeconds sets how long to wait`,
  )
}
