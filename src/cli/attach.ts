// The attached client of a detached run (detached.ts): starts the worker unit, replays and follows
// its event log through the same renderer a run in this process would use, and exits with the
// worker's exit code and summary. Ctrl-C detaches (the run goes on); a second Ctrl-C within a few
// seconds offers to stop it (asks on a terminal, stops at once without one). follow.ts re-attaches
// (`status --follow`); stop.ts stops at the next safe point and waits until the worker recorded it.
import type { Config } from '../config/schema.js'
import { eventLogPath, type FollowEnd, followEventLog, type WorkerEnd } from '../engine/index.js'
import { EXIT, type ExitCode, ProvisionError } from '../model/errors.js'
import type { Summary } from '../model/events.js'
import { newSessionId } from '../model/ids.js'
import type { Renderer } from '../render/renderer.js'
import { clean } from '../render/text.js'
import type { CliContext, OutputFlags } from './deps.js'
import { rendererFor } from './deps.js'
import { type DetachFlags, type Supervisor, unitName, workerArgv, workerEnv } from './detached.js'
import { closeWithSummary } from './report.js'
import { dropSessionConfig, saveSessionConfig } from './session-config.js'
import { SIGNAL_EXIT } from './signals.js'
import { runOrigin } from './ssh-confirm.js'
import { confirmStop, stopAndWait } from './stop.js'

/** How long after a first Ctrl-C a second one stops the run instead of only detaching. */
export const DETACH_GRACE_MS = 3000

/** Starts the worker unit for a new session, with its validated configuration stored for it. */
export async function runDetached(
  ctx: CliContext,
  flags: DetachFlags & OutputFlags,
  sup: Supervisor,
  config: Config,
) {
  const self = ctx.deps.selfCommand
  if (!self || self.length === 0) throw new Error('the command that started this process is unknown')
  const id = newSessionId()
  const unit = unitName(id)
  ctx.sessionId = id
  await saveSessionConfig(ctx.deps.paths, id, config)
  try {
    const argv = workerArgv(self, id, flags)
    // The worker has no terminal: who started it, from which SSH connection, goes with it.
    const origin = await runOrigin(ctx, flags)
    await sup.start({
      name: unit,
      description: `vps-provision run ${id}`,
      argv,
      env: {
        ...workerEnv(ctx.deps.env),
        ...(origin ? { VPS_PROVISION_SSH_ORIGIN: JSON.stringify(origin) } : {}),
      },
    })
  } catch (err) {
    await dropSessionConfig(ctx.deps.paths, id)
    throw new ProvisionError(
      `Unable to start the run as the systemd unit ${unit}: ${(err as Error).message}`,
      EXIT.provisioning,
      'Run it in this terminal instead: vps-provision run --foreground',
    )
  }
  // --quiet says nothing on success; how to re-attach is said again if Ctrl-C detaches.
  if (!flags.quiet) {
    ctx.err.line(
      `Running as the systemd unit ${unit}: closing this terminal or SSH connection does not stop it.`,
    )
    ctx.err.line(
      `Ctrl-C detaches. Re-attach: vps-provision status --follow ${id}   Stop: vps-provision stop ${id}`,
    )
  }
  await attach(ctx, flags, sup, id)
}

/**
 * Follows session `id` with the chosen renderer until the worker ends (exit code and summary
 * become this process's) or the user detaches.
 */
export async function attach(ctx: CliContext, flags: OutputFlags, sup: Supervisor | null, id: string) {
  const renderer = await rendererFor(ctx, flags)
  const control = takeSignals(ctx)
  try {
    const { end, summary } = await follow(ctx, sup, id, renderer, control.signal)
    if (end.kind === 'ended') return await ended(ctx, renderer, end.end, summary)
    if (end.kind === 'vanished') return await vanished(ctx, renderer, sup, id, summary)
    await renderer.close(null, { detached: true })
    await detached(ctx, flags, sup, id, control)
  } finally {
    control.release()
  }
}

type Control = ReturnType<typeof takeSignals>

/**
 * While attached, signals are ours: the first detaches (instead of "finishing the current action")
 * and `again` hears a second. Without a terminal an SSH drop sends no SIGHUP: the reader's end of
 * the pipe just goes away and the next write fails (EPIPE). That is the hang-up, so detach as
 * SIGHUP would.
 */
function takeSignals(ctx: CliContext) {
  const detach = new AbortController()
  const onAbort = () => detach.abort(ctx.signal.reason)
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  let repeated: (() => void) | null = null
  let count = 0
  const release = ctx.deps.interrupts?.takeOver((name) => {
    count++
    if (count === 1) detach.abort(name)
    else repeated?.()
  })
  let hungUp = false
  const hangUp = () => {
    hungUp = true
    detach.abort('SIGHUP')
  }
  const outputs = [ctx.deps.stdout, ctx.deps.stderr].filter((s) => s !== undefined)
  for (const s of outputs) s.on?.('error', hangUp)
  return {
    signal: detach.signal,
    hungUp: () => hungUp,
    /** true when another signal comes within `ms`. */
    again: (ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ms)
        repeated = () => {
          clearTimeout(timer)
          resolve(true)
        }
      }).finally(() => {
        repeated = null
      }),
    release() {
      for (const s of outputs) s.off?.('error', hangUp)
      ctx.signal.removeEventListener('abort', onAbort)
      release?.()
    },
  }
}

/** Renders every event; a broken display is reported once and never stops the following. */
async function follow(
  ctx: CliContext,
  sup: Supervisor | null,
  id: string,
  renderer: Renderer,
  signal: AbortSignal,
): Promise<{ end: FollowEnd; summary: Summary | null }> {
  const unit = unitName(id)
  let summary: Summary | null = null
  let broken = false
  const end = await followEventLog(eventLogPath(ctx.deps.paths, id), {
    alive: () => (sup ? sup.alive(unit) : Promise.resolve(false)),
    onEvent(event) {
      if (event.type === 'session-end') summary = event.summary
      if (broken) return
      try {
        renderer.emit(event)
      } catch (err) {
        broken = true
        ctx.err.line(`warning: the progress display failed (${clean(String(err))}); the run goes on`)
      }
    },
    onSkipped: (line) =>
      ctx.err.line(`warning: skipped a damaged line of the event log: ${clean(line).slice(0, 80)}`),
    signal,
  })
  return { end, summary }
}

/** The worker's exit code, and its stop or its error, become this process's. */
function adopt(ctx: CliContext, end: WorkerEnd): void {
  ctx.exitCode = end.exitCode
  if (end.stoppedBy) ctx.workerStop = { code: end.exitCode, reason: end.stoppedBy }
}

async function ended(ctx: CliContext, renderer: Renderer, end: WorkerEnd, summary: Summary | null) {
  await closeWithSummary(ctx, renderer, summary)
  ctx.summarized = summary !== null
  adopt(ctx, end)
  if (!end.error) return
  const { message, hint } = end.error
  // Another run holds the lock: most likely a detached run this person could watch instead.
  const watch =
    end.exitCode === EXIT.locked ? '; to watch the run in progress: vps-provision status --follow latest' : ''
  throw new ProvisionError(message, end.exitCode as ExitCode, hint ? `${hint}${watch}` : watch.slice(2))
}

async function vanished(
  ctx: CliContext,
  renderer: Renderer,
  sup: Supervisor | null,
  id: string,
  summary: Summary | null,
) {
  await closeWithSummary(ctx, renderer, summary)
  const unit = unitName(id)
  const tail = sup ? await sup.journalTail(unit).catch(() => []) : []
  for (const line of tail) ctx.err.line(`  ${clean(line)}`)
  throw new ProvisionError(
    `Unable to follow session ${id}: its worker ${unit} ended without recording how (killed, or it could not start)`,
    EXIT.provisioning,
    `Its log: journalctl -u ${unit}; its state: vps-provision status ${id}; resume: vps-provision run`,
  )
}

/** The client let go; after a Ctrl-C, a second one within the grace time stops the run. */
async function detached(
  ctx: CliContext,
  flags: OutputFlags,
  sup: Supervisor | null,
  id: string,
  control: Control,
) {
  ctx.detached = true
  const reason = String(control.signal.reason)
  if (control.hungUp()) ctx.exitCode = SIGNAL_EXIT.SIGHUP ?? 129
  const graceMs = ctx.deps.detachGraceMs ?? DETACH_GRACE_MS
  detachedLines(ctx, flags, id, reason === 'SIGINT' && sup !== null ? graceMs : null)
  // SIGHUP (terminal gone) or SIGTERM: nobody is there to press Ctrl-C again.
  if (reason !== 'SIGINT' || !sup) return
  if (!(await control.again(graceMs)) || !(await confirmStop(ctx, id))) return
  const stopped = await stopAndWait(ctx, flags, sup, id, new AbortController().signal)
  if (!stopped) return
  ctx.detached = false
  adopt(ctx, stopped)
}

function detachedLines(ctx: CliContext, flags: OutputFlags, id: string, stopWithinMs: number | null) {
  const unit = unitName(id)
  const follow = `vps-provision status --follow ${id}`
  const stop = `vps-provision stop ${id}`
  if (flags.json) {
    ctx.out.line(JSON.stringify({ detached: true, sessionId: id, unit, follow, stop }))
    return
  }
  ctx.err.line(`Detached: session ${id} goes on in the background (systemd unit ${unit}).`)
  ctx.err.line(`Re-attach: ${follow}`)
  ctx.err.line(`Stop:      ${stop}   (finishes and records the action in progress first)`)
  if (stopWithinMs !== null)
    ctx.err.line(`Press Ctrl-C again within ${Math.round(stopWithinMs / 1000)} s to stop it now.`)
}
