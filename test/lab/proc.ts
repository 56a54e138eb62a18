// Running host commands for the lab: argv arrays only (no shell), a clean environment, a hard
// timeout that kills the whole process group (debootstrap and apt leave grandchildren behind when
// only the direct child is killed), and errors that say what ran and how it ended.

import { execa } from 'execa'

/** The environment every lab command starts from; nothing leaks in from the test runner's env. */
export const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export interface RunOptions {
  /** Written to stdin; stdin is /dev/null otherwise. */
  input?: string | Uint8Array
  /** A host file streamed to stdin (instead of `input`). */
  inputFile?: string
  /** The whole environment of the child (PATH defaults to CLEAN_PATH, LANG to C.UTF-8). */
  env?: Record<string, string>
  cwd?: string
  /** Kill the process group after this long; default 10 minutes. */
  timeoutMs?: number
  /** Return a non-zero exit (or timeout) instead of throwing RunError. */
  allowFailure?: boolean
  /** Extra work on timeout, after the process group was signalled (e.g. kill chroot daemons). */
  onTimeout?: () => Promise<void>
  /** Keep stdout/stderr exactly as written (default: one final newline is stripped). */
  keepFinalNewline?: boolean
}

export interface RunResult {
  argv: readonly string[]
  /** -1 when the process was killed by a signal. */
  exitCode: number
  signal?: string
  stdout: string
  stderr: string
  durationMs: number
  timedOut: boolean
}

export class RunError extends Error {
  constructor(readonly result: RunResult) {
    const how = result.timedOut
      ? `timed out after ${result.durationMs} ms`
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited ${result.exitCode}`
    const tail = lastLines(`${result.stdout}\n${result.stderr}`, 15)
    super(`\`${result.argv.join(' ')}\` ${how}${tail ? `:\n${tail}` : ''}`)
    this.name = 'RunError'
  }
}

export function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n').trim()
}

export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: CLEAN_PATH, LANG: 'C.UTF-8', ...extra }
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000
const KILL_GRACE_MS = 3_000

export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv
  if (file === undefined) throw new Error('run: empty argv')
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const started = Date.now()
  const child = execa(file, args, {
    env: opts.env ?? cleanEnv(),
    extendEnv: false,
    cwd: opts.cwd,
    reject: false,
    // Own process group, so a timeout can kill everything the command started.
    detached: true,
    stripFinalNewline: !opts.keepFinalNewline,
    ...(opts.input !== undefined
      ? { input: opts.input }
      : opts.inputFile !== undefined
        ? { inputFile: opts.inputFile }
        : { stdin: 'ignore' as const }),
  })
  let timedOut = false
  const killGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return
    try {
      process.kill(-child.pid, signal)
    } catch {
      // already gone
    }
  }
  let graceTimer: NodeJS.Timeout | undefined
  let onTimeoutDone: Promise<void> | undefined
  const timer = setTimeout(() => {
    timedOut = true
    killGroup('SIGTERM')
    graceTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS)
    if (opts.onTimeout) onTimeoutDone = opts.onTimeout().catch(() => undefined)
  }, timeoutMs)
  let r: Awaited<typeof child>
  try {
    r = await child
  } finally {
    clearTimeout(timer)
    if (graceTimer) clearTimeout(graceTimer)
    // The caller sees the timeout only once the extra cleanup is done.
    if (onTimeoutDone) await onTimeoutDone
  }
  const result: RunResult = {
    argv,
    // no exit code and no signal: the command could not be started at all (ENOENT...)
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : r.signal || timedOut ? -1 : 127,
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    durationMs: Date.now() - started,
    timedOut,
  }
  if (r.signal) result.signal = r.signal
  if (result.exitCode === 127 && r.exitCode === undefined)
    result.stderr = `${result.stderr}\n${r.message}`.trim()
  if (!opts.allowFailure && (result.exitCode !== 0 || timedOut)) throw new RunError(result)
  return result
}

/** True when `name` is an executable on CLEAN_PATH of the host. */
export async function hostHas(name: string): Promise<boolean> {
  const r = await run(['sh', '-c', 'command -v "$1"', 'sh', name], { allowFailure: true, timeoutMs: 10_000 })
  return r.exitCode === 0
}
