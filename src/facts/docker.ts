// Docker, as its own CLI and its daemon.json say: whether a named volume exists and whose it is
// (our labels), and the daemon.json we want with our one key merged into what is there. Pure reads
// through the System port; the labels are the only thing that decides a volume is ours.
import type { System } from '../system/port.js'

export const DAEMON_JSON = '/etc/docker/daemon.json'
/** Every volume we create carries both: the first says "ours", the second which session made it. */
export const OUR_LABEL = 'vps-provision'
export const SESSION_LABEL = 'vps-provision.session'

export type VolumeState =
  | { state: 'present'; labels: Record<string, string> }
  | { state: 'absent' }
  /** No docker command: the engine is not installed (yet). */
  | { state: 'no-docker' }
  /** The CLI is there but could not say (the daemon is down): `detail` is its last line. */
  | { state: 'unknown'; detail: string }

const NO_SUCH_VOLUME = /no such volume/i

export async function dockerVolume(sys: System, name: string): Promise<VolumeState> {
  const r = await sys.exec(['docker', 'volume', 'inspect', '--format', '{{json .Labels}}', name], {
    allowFailure: true,
  })
  if (r.exitCode === 127) return { state: 'no-docker' }
  if (r.exitCode === 0) return { state: 'present', labels: parseLabels(r.stdout) }
  if (NO_SUCH_VOLUME.test(r.stderr)) return { state: 'absent' }
  const detail = `${r.stderr}\n${r.stdout}`.trim().split('\n').pop() ?? `exit ${r.exitCode}`
  return { state: 'unknown', detail }
}

/** `{{json .Labels}}` prints `null` for a volume without labels. */
export function parseLabels(stdout: string): Record<string, string> {
  const parsed: unknown = JSON.parse(stdout.trim() || 'null')
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {}
  return Object.fromEntries(
    Object.entries(parsed as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  )
}

/** Made by vps-provision (any session, or exactly `session`). */
export function isOurs(labels: Record<string, string>, session?: string): boolean {
  if (labels[OUR_LABEL] !== '1') return false
  return session === undefined || labels[SESSION_LABEL] === session
}

export class DaemonJsonError extends Error {}

/**
 * daemon.json with `"ip": "127.0.0.1"`: published ports bind to loopback unless a `-p` names an
 * address. An existing file keeps every other key, in its order; one that already says so is
 * returned unchanged (no rewrite for formatting). Not a JSON object: DaemonJsonError (dockerd would
 * refuse it too).
 */
export function daemonJsonWithLoopback(current: string | null): string {
  if (current === null || current.trim() === '') return `${JSON.stringify({ ip: '127.0.0.1' }, null, 2)}\n`
  let parsed: unknown
  try {
    parsed = JSON.parse(current)
  } catch (e) {
    throw new DaemonJsonError(`it is not valid JSON (${(e as Error).message})`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DaemonJsonError('it is not a JSON object')
  const obj = parsed as Record<string, unknown>
  if (obj.ip === '127.0.0.1') return current
  return `${JSON.stringify({ ...obj, ip: '127.0.0.1' }, null, 2)}\n`
}
