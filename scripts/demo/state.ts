// The demo's shared record: one JSON file (0600 in a 0700 directory: it holds the RDP password)
// that the detached keeper writes at every change and the foreground command reads. Whoever owns
// the demo (the launcher at first, then the keeper) is named by pid and proven alive by its
// command line, so a recycled pid is never mistaken for the keeper.
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { DEFAULT_CACHE_DIR } from '../../test/lab/trixie-root.js'

export const DEMO_DIR = path.join(DEFAULT_CACHE_DIR, 'demo')
export const STATE_FILE = path.join(DEMO_DIR, 'state.json')
export const KEEPER_LOG = path.join(DEMO_DIR, 'keeper.log')
/** Where the harness puts container roots (startWorld names them <scenario>-<pid>-<hex>). */
export const WORLDS_DIR = path.join(DEFAULT_CACHE_DIR, 'e2e')
export const SCENARIO = 'demo'
export const MACHINE_NAME = 'demo'
export const VETH = `ve-${MACHINE_NAME}`
/** The keeper tears everything down after this long, whatever happens. */
export const MAX_LIFETIME_MS = 8 * 60 * 60_000
/** Something in every demo process's command line (launcher and keeper alike). */
const SCRIPT_MARK = `${path.sep}scripts${path.sep}demo${path.sep}demo.mts`

export type DemoPhase =
  | 'launching'
  | 'starting'
  | 'installing'
  | 'provisioning'
  | 'ready'
  | 'failed'
  | 'stopped'

export interface DemoState {
  phase: DemoPhase
  /** The process responsible for the demo now: the launcher, then the keeper. */
  owner: number
  startedAt: string
  /** When the keeper tears it down by itself. */
  expiresAt?: string
  /** Why it failed or stopped. */
  reason?: string
  machine?: { name: string; root: string; address: string; pid1: number; veth: string }
  rdp?: { host: string; port: number; username: string; password: string }
  deb?: string
  /** How long `vps-provision run` took. */
  provisionMs?: number
}

function ensureDir(): void {
  mkdirSync(DEMO_DIR, { recursive: true, mode: 0o700 })
}

export function readState(): DemoState | null {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as DemoState
  } catch {
    return null
  }
}

/** Atomic replace: a reader sees the old or the new state, never half of one. */
export function writeState(s: DemoState): void {
  ensureDir()
  const tmp = `${STATE_FILE}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, STATE_FILE)
}

/**
 * Claims the demo for this process: creates the state file only if there is none. Returns false
 * when another one exists (the caller decides whether it is alive or left over).
 */
export function claimState(s: DemoState): boolean {
  ensureDir()
  try {
    const fd = openSync(STATE_FILE, 'wx', 0o600)
    writeFileSync(fd, `${JSON.stringify(s, null, 2)}\n`)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  }
}

export function removeState(): void {
  rmSync(STATE_FILE, { force: true })
}

/** True when pid is a live demo process (launcher or keeper), not just any process with that pid. */
export function isDemoProcess(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((a) => a.endsWith(SCRIPT_MARK))
  } catch {
    return false
  }
}

/**
 * The state while its owner is alive (in any phase: a failed or stopped keeper is still tearing
 * down), or null when no demo process is left (a left-over file does not count).
 */
export function liveState(): DemoState | null {
  const s = readState()
  return s && isDemoProcess(s.owner) ? s : null
}
