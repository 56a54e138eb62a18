// `status --wait [--timeout S] [latest|SESSION]`: blocks, quietly, until a session's run ends and
// exits with that run's exit code, like `cloud-init status --wait`, so a script (or cloud-init's
// own runcmd) can wait for a run it did not start.
//
// How the end and its code are known:
// - a detached run (it has an event log): the worker's `worker-end` record gives the exact code
//   and error, read with the same follower `status --follow` uses, without rendering anything;
// - a foreground run (no event log): the session state file, read every second, until its status
//   is final; the code is derived from it (exitCodeOfSession). While it is not final, the run is
//   alive as long as the state lock names it and its pid exists; otherwise it died unrecorded (2).
import { promises as fsp } from 'node:fs'
import { eventLogPath, followEventLog, type StatePaths } from '../engine/index.js'
import { EXIT, type ExitCode, ProvisionError } from '../model/errors.js'
import type { ProvisioningSession } from '../model/schemas.js'
import { type CliContext, type OutputFlags, renderOptions, resolveLazy } from './deps.js'
import { type Supervisor, unitName } from './detached.js'
import { FIRST_BOOT_LOG, FIRST_BOOT_UNIT } from './first-boot-names.js'
import { waitForFirstBoot } from './first-boot-wait.js'
import { resolveTarget } from './follow.js'
import { SIGNAL_EXIT } from './signals.js'

export interface WaitFlags extends OutputFlags {
  /** Seconds; undefined waits for ever. */
  timeout?: number
}

const FINAL = new Set(['COMPLETED', 'FAILED', 'ROLLED_BACK'])

export async function waitCommand(ctx: CliContext, session: string, flags: WaitFlags): Promise<void> {
  const sup = ctx.deps.supervisor ? await resolveLazy(ctx.deps.supervisor) : null
  const pollMs = ctx.deps.waitPollMs ?? 1000
  const stop = new AbortController()
  let timedOut = false
  const onAbort = () => stop.abort(ctx.signal.reason)
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  const timer =
    flags.timeout === undefined
      ? null
      : setTimeout(() => {
          timedOut = true
          stop.abort('timeout')
        }, flags.timeout * 1000)
  let id = session
  try {
    // On a cloud-init server "latest" is only known once the first-boot run has begun (first-boot-wait.ts).
    const firstBoot =
      session === 'latest' && ctx.deps.firstBoot
        ? await waitForFirstBoot(await resolveLazy(ctx.deps.firstBoot), pollMs, stop.signal, sleep)
        : undefined
    if (firstBoot === null) return stoppedWaiting(ctx, timedOut, flags, 'the first-boot unit', 'latest')
    const found = await resolveTarget(ctx, sup, session, 'wait for').catch((e: unknown) => {
      if (firstBoot?.unitLoaded && firstBoot.exitStatus !== null && firstBoot.exitStatus !== 0) return null
      throw e
    })
    if (found === null) {
      // The unit's run failed before it recorded a session (it could not start, or its lock was busy).
      const status = firstBoot?.exitStatus ?? EXIT.provisioning
      ctx.exitCode = status
      throw new ProvisionError(
        `Unable to wait for the first-boot run: it ended with exit code ${status} before it recorded a session`,
        status as ExitCode,
        `Its output: ${FIRST_BOOT_LOG}; its unit: systemctl status ${FIRST_BOOT_UNIT}`,
      )
    }
    id = found
    ctx.sessionId = id
    const code = (await waitForEnd(ctx, sup, id, pollMs, stop.signal)) ?? null
    if (code === null) return stoppedWaiting(ctx, timedOut, flags, `session ${id}`, id)
    await showStatus(ctx, id, flags)
    ctx.exitCode = code.exitCode
    if (code.error) throw new ProvisionError(code.error.message, code.exitCode as ExitCode, code.error.hint)
  } finally {
    if (timer) clearTimeout(timer)
    ctx.signal.removeEventListener('abort', onAbort)
  }
}

/** The wait ended first: a timeout (exit 124) or an interruption (128 + the signal). */
function stoppedWaiting(
  ctx: CliContext,
  timedOut: boolean,
  flags: WaitFlags,
  what: string,
  target: string,
): void {
  if (timedOut)
    throw new ProvisionError(
      `Unable to wait for ${what}: its run had not ended after ${flags.timeout} s`,
      EXIT.waitTimeout,
      `It goes on; wait again: vps-provision status --wait ${target}; watch it: vps-provision status --follow ${target}`,
    )
  // Interrupted: the run is not ours to stop; runCli exits 128 + the signal without "stopped" lines.
  ctx.detached = true
  ctx.err.line(`Stopped waiting; ${what} goes on.`)
}

interface End {
  exitCode: number
  error?: { message: string; hint?: string } | null
}

/** The run's end, or null when `signal` aborted first. */
async function waitForEnd(
  ctx: CliContext,
  sup: Supervisor | null,
  id: string,
  pollMs: number,
  signal: AbortSignal,
): Promise<End | null> {
  const paths = ctx.deps.paths
  const log = eventLogPath(paths, id)
  if ((await exists(log)) || (sup && (await sup.alive(unitName(id))))) {
    const end = await followEventLog(log, {
      alive: () => (sup ? sup.alive(unitName(id)) : Promise.resolve(false)),
      onEvent: () => {},
      signal,
      pollMs,
    })
    if (end.kind === 'detached') return null
    if (end.kind === 'ended') return { exitCode: end.end.exitCode, error: end.end.error }
    const unit = unitName(id)
    return {
      exitCode: EXIT.provisioning,
      error: {
        message: `Unable to wait for session ${id}: its worker ${unit} ended without recording how (killed, or it could not start)`,
        hint: `Its log: journalctl -u ${unit}; its state: vps-provision status ${id}; resume: vps-provision run`,
      },
    }
  }
  const engine = await resolveLazy(ctx.deps.engine)
  for (;;) {
    const s = await engine.status(paths, id)
    if (FINAL.has(s.status)) return { exitCode: exitCodeOfSession(s) }
    if (!(await holdsLock(paths, id))) {
      // It may have recorded its end between the two reads.
      const again = await engine.status(paths, id)
      if (FINAL.has(again.status)) return { exitCode: exitCodeOfSession(again) }
      return {
        exitCode: EXIT.provisioning,
        error: {
          message: `Unable to wait for session ${id}: its process ended without recording how (killed, crash or power loss); the session is still ${again.status}`,
          hint: 'vps-provision run resumes (and marks it FAILED); vps-provision rollback latest undoes',
        },
      }
    }
    if (await sleep(pollMs, signal)) return null
  }
}

/**
 * The exit code a foreground run ended with, from what its session records (docs/cli.md): exact for
 * a success (0), a partly done run (7), a failed preflight (1), verification (4) or other phase (2),
 * and a run stopped by a signal (130, 143, 129); a run killed without a record reads 2. A rollback's
 * session: 0, or 3 when it failed. A run rolled back since: the code its phases record, 0 if none failed.
 */
export function exitCodeOfSession(s: ProvisioningSession): number {
  if (s.command === 'rollback') {
    if (s.status !== 'FAILED') return EXIT.ok
    return signalCode(s.error_details) ?? EXIT.rollback
  }
  const failed = s.phases.find((p) => p.status === 'FAILED')
  if (s.status === 'FAILED' || failed) {
    const sig = signalCode(s.error_details)
    if (sig !== null) return sig
    if (failed?.phase_name === 'preflight') return EXIT.preflight
    if (failed?.phase_name === 'verification') return EXIT.verification
    return EXIT.provisioning
  }
  return s.error_details ? EXIT.partial : EXIT.ok
}

/** "phase: Stopped by SIGTERM (hint: …)" is how the engine records a stopped run. */
function signalCode(details: string | null): number | null {
  const name = /^(?:[a-z-]+: )?Stopped by (SIG[A-Z]+)/.exec(details ?? '')?.[1]
  return name ? (SIGNAL_EXIT[name as keyof typeof SIGNAL_EXIT] ?? null) : null
}

/** The state lock names this session, and its process still exists. */
async function holdsLock(paths: StatePaths, id: string): Promise<boolean> {
  let text: string
  try {
    text = await fsp.readFile(paths.lockFile, 'utf8')
  } catch {
    return false
  }
  let holder: { pid?: unknown; sessionId?: unknown }
  try {
    holder = JSON.parse(text)
  } catch {
    return false
  }
  if (holder.sessionId !== id || typeof holder.pid !== 'number') return false
  try {
    process.kill(holder.pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function showStatus(ctx: CliContext, id: string, flags: OutputFlags): Promise<void> {
  const engine = await resolveLazy(ctx.deps.engine)
  // A worker that failed before it made its session (a busy lock) has none: its error says why.
  const s = await engine.status(ctx.deps.paths, id).catch(() => null)
  if (!s) return
  if (flags.json) ctx.out.line(JSON.stringify(s, null, 2))
  else {
    const { statusLines } = await import('../render/views.js')
    for (const line of statusLines(s, renderOptions(ctx, flags))) ctx.out.line(line)
  }
}

async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  )
}

/** true when aborted during the wait. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(false)
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
