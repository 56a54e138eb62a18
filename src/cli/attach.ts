// The attached client of a detached run (detached.ts): starts the worker unit, replays and follows
// its event log through the same renderer a run in this process would use, and exits with the
// worker's exit code and summary. Ctrl-C detaches (the run goes on); a second Ctrl-C within a few
// seconds offers to stop it (asks on a terminal, stops at once without one). `status --follow`
// re-attaches, `stop` stops at the next safe point and waits until the worker has recorded it.
import { promises as fsp } from 'node:fs'
import { eventLogPath, followEventLog } from '../engine/index.js'
import { EXIT, type ExitCode, ProvisionError } from '../model/errors.js'
import type { Summary } from '../model/events.js'
import { assertSessionId, newSessionId } from '../model/ids.js'
import { chooseRenderer, createRenderer } from '../render/renderer.js'
import { clean } from '../render/text.js'
import type { CliContext, OutputFlags } from './deps.js'
import { renderOptions, resolveLazy } from './deps.js'
import { type DetachFlags, type Supervisor, unitName, workerArgv, workerEnv } from './detached.js'
import { SIGNAL_EXIT } from './signals.js'

/** How long after a first Ctrl-C a second one stops the run instead of only detaching. */
export const DETACH_GRACE_MS = 3000

/** Starts the worker unit for a new session and attaches to it. */
export async function runDetached(ctx: CliContext, flags: DetachFlags & OutputFlags, sup: Supervisor) {
  const self = ctx.deps.selfCommand
  if (!self || self.length === 0) throw new Error('the command that started this process is unknown')
  const id = newSessionId()
  const unit = unitName(id)
  ctx.sessionId = id
  try {
    await sup.start({
      name: unit,
      description: `vps-provision run ${id}`,
      argv: workerArgv(self, id, flags, ctx.deps.cwd ?? '/'),
      env: workerEnv(ctx.deps.env),
    })
  } catch (err) {
    throw new ProvisionError(
      `Unable to start the run as the systemd unit ${unit}: ${(err as Error).message}`,
      EXIT.provisioning,
      'Run it in this terminal instead: vps-provision run --foreground',
    )
  }
  ctx.err.line(
    `Running as the systemd unit ${unit}: closing this terminal or SSH connection does not stop it.`,
  )
  ctx.err.line(
    `Ctrl-C detaches. Re-attach: vps-provision status --follow ${id}   Stop: vps-provision stop ${id}`,
  )
  await attach(ctx, flags, sup, id)
}

/** `status --follow [latest|SESSION]`: replay what happened so far, then follow to the end. */
export async function followCommand(ctx: CliContext, session: string, flags: OutputFlags): Promise<void> {
  const sup = ctx.deps.supervisor ? await resolveLazy(ctx.deps.supervisor) : null
  const id = await resolveTarget(ctx, sup, session, 'follow')
  ctx.sessionId = id
  const hasLog = await exists(eventLogPath(ctx.deps.paths, id))
  if (!hasLog && !(sup && (await sup.alive(unitName(id))))) {
    const engine = await resolveLazy(ctx.deps.engine)
    const s = await engine.status(ctx.deps.paths, id)
    if (flags.json) ctx.out.line(JSON.stringify(s, null, 2))
    else {
      const { statusLines } = await import('../render/views.js')
      for (const line of statusLines(s, renderOptions(ctx, flags))) ctx.out.line(line)
      ctx.err.line(
        `Session ${id} has no event log to follow (it ran in the foreground): its status is above.`,
      )
    }
    return
  }
  await attach(ctx, flags, sup, id)
}

/** `stop [latest|SESSION]`: SIGTERM to the worker, then wait until it has recorded how it ended. */
export async function stopCommand(ctx: CliContext, session: string, flags: OutputFlags): Promise<void> {
  const sup = ctx.deps.supervisor ? await resolveLazy(ctx.deps.supervisor) : null
  if (!sup) throw new ProvisionError('Unable to stop a run: systemd is not available here', EXIT.usage)
  const wanted = session === 'latest' ? null : assertSessionId(session)
  const running = await sup.running()
  const id = wanted ?? running.at(-1) ?? null
  if (id === null || !running.includes(id)) {
    const what = id === null ? 'no run is running in the background' : `session ${id} is not running`
    if (flags.json) ctx.out.line(JSON.stringify({ stopped: false, sessionId: id, reason: what }))
    else {
      ctx.out.line(`Nothing to stop: ${what}.`)
      ctx.out.line('A run started with --foreground stops with Ctrl-C in its own terminal.')
    }
    return
  }
  ctx.sessionId = id
  const end = await stopAndWait(ctx, flags, sup, id, ctx.signal)
  if (flags.json) {
    ctx.out.line(JSON.stringify({ stopped: end !== null, sessionId: id, exitCode: end?.exitCode ?? null }))
    return
  }
  if (end === null) {
    ctx.err.line(`Still stopping in the background. Follow it: vps-provision status --follow ${id}`)
    return
  }
  if (end.exitCode === 0) ctx.out.line(`Session ${id} had finished before it could be stopped.`)
  else ctx.out.line(`Session ${id} stopped (worker exit ${end.exitCode}): every finished action is recorded.`)
}

async function resolveTarget(
  ctx: CliContext,
  sup: Supervisor | null,
  session: string,
  verb: string,
): Promise<string> {
  if (session !== 'latest') return assertSessionId(session)
  const live = sup ? await sup.running() : []
  const newest = live.at(-1)
  if (newest) return newest
  const engine = await resolveLazy(ctx.deps.engine)
  const latest = await engine.status(ctx.deps.paths, 'latest').catch(() => null)
  if (!latest)
    throw new ProvisionError(`Unable to ${verb} session latest: no sessions recorded yet`, EXIT.usage)
  return latest.session_id
}

/**
 * Follows session `id` with the chosen renderer until the worker ends (exit code and summary
 * become this process's) or the user detaches.
 */
async function attach(ctx: CliContext, flags: OutputFlags, sup: Supervisor | null, id: string) {
  const unit = unitName(id)
  const renderer = await createRenderer(chooseRenderer(flags, ctx.isTTY), renderOptions(ctx, flags))
  const detach = new AbortController()
  const onAbort = () => detach.abort(ctx.signal.reason)
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  let repeated: (() => void) | null = null
  let count = 0
  // Signals are ours now: the first detaches (instead of "finishing the current action").
  const release = ctx.deps.interrupts?.takeOver((name) => {
    count++
    if (count === 1) detach.abort(name)
    else repeated?.()
  })
  // Without a terminal an SSH drop sends no SIGHUP: the reader's end of the pipe just goes away,
  // and the next write fails (EPIPE). That is the hang-up, so detach as SIGHUP would.
  let hungUp = false
  const hangUp = () => {
    hungUp = true
    detach.abort('SIGHUP')
  }
  const outputs = [ctx.deps.stdout, ctx.deps.stderr].filter((s) => s !== undefined)
  for (const s of outputs) s.on?.('error', hangUp)
  let summary: Summary | null = null
  let broken = false
  try {
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
      signal: detach.signal,
    })
    if (end.kind === 'ended') {
      await renderer.close(summary)
      ctx.summarized = summary !== null
      ctx.exitCode = end.end.exitCode
      if (end.end.stoppedBy) ctx.workerStop = { code: end.end.exitCode, reason: end.end.stoppedBy }
      if (end.end.error) {
        const { message, hint } = end.end.error
        // Another run holds the lock: most likely a detached run this person could watch instead.
        const watch =
          end.end.exitCode === EXIT.locked
            ? '; to watch the run in progress: vps-provision status --follow latest'
            : ''
        throw new ProvisionError(
          message,
          end.end.exitCode as ExitCode,
          hint ? `${hint}${watch}` : watch.slice(2),
        )
      }
      return
    }
    if (end.kind === 'vanished') {
      await renderer.close(summary)
      const tail = sup ? await sup.journalTail(unit).catch(() => []) : []
      for (const line of tail) ctx.err.line(`  ${clean(line)}`)
      throw new ProvisionError(
        `Unable to follow session ${id}: its worker ${unit} ended without recording how (killed, or it could not start)`,
        EXIT.provisioning,
        `Its log: journalctl -u ${unit}; its state: vps-provision status ${id}; resume: vps-provision run`,
      )
    }
    await renderer.close(null, { detached: true })
    ctx.detached = true
    const reason = String(detach.signal.reason)
    if (hungUp) ctx.exitCode = SIGNAL_EXIT.SIGHUP ?? 129
    detachedLines(ctx, flags, id, unit, reason === 'SIGINT' && sup !== null)
    // SIGHUP (terminal gone) or SIGTERM: nobody is there to press Ctrl-C again.
    if (reason !== 'SIGINT' || !sup) return
    const again = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ctx.deps.detachGraceMs ?? DETACH_GRACE_MS)
      repeated = () => {
        clearTimeout(timer)
        resolve(true)
      }
    })
    repeated = null
    if (!again || !(await confirmStop(ctx, id))) return
    const stopped = await stopAndWait(ctx, flags, sup, id, new AbortController().signal)
    if (stopped) {
      ctx.detached = false
      ctx.exitCode = stopped.exitCode
      if (stopped.stoppedBy) ctx.workerStop = { code: stopped.exitCode, reason: stopped.stoppedBy }
    }
  } finally {
    for (const s of outputs) s.off?.('error', hangUp)
    ctx.signal.removeEventListener('abort', onAbort)
    release?.()
  }
}

function detachedLines(ctx: CliContext, flags: OutputFlags, id: string, unit: string, offerStop: boolean) {
  const follow = `vps-provision status --follow ${id}`
  const stop = `vps-provision stop ${id}`
  if (flags.json) {
    ctx.out.line(JSON.stringify({ detached: true, sessionId: id, unit, follow, stop }))
    return
  }
  ctx.err.line(`Detached: session ${id} goes on in the background (systemd unit ${unit}).`)
  ctx.err.line(`Re-attach: ${follow}`)
  ctx.err.line(`Stop:      ${stop}   (finishes and records the action in progress first)`)
  if (offerStop)
    ctx.err.line(
      `Press Ctrl-C again within ${Math.round((ctx.deps.detachGraceMs ?? DETACH_GRACE_MS) / 1000)} s to stop it now.`,
    )
}

/** On a terminal, a second Ctrl-C asks first; without one (a script) it stops. */
async function confirmStop(ctx: CliContext, id: string): Promise<boolean> {
  const { confirm, stdinIsTTY } = ctx.deps
  if (!stdinIsTTY || !ctx.isTTY || !confirm) return true
  const yes = await confirm(`Stop session ${id} now (at the next safe point)?`, new AbortController().signal)
  if (!yes) ctx.err.line(`Not stopped: session ${id} goes on in the background.`)
  return yes
}

/**
 * Asks systemd to stop the worker (SIGTERM to node only) and waits for its worker-end record.
 * null when `signal` aborted the wait (the stop goes on) or the worker vanished without one.
 */
async function stopAndWait(
  ctx: CliContext,
  flags: OutputFlags,
  sup: Supervisor,
  id: string,
  signal: AbortSignal,
) {
  const unit = unitName(id)
  await sup.stop(unit)
  if (!flags.json)
    ctx.err.line(
      `Stopping session ${id}: the action in progress is finished and recorded first (a package installation can take minutes)…`,
    )
  let summary: Summary | null = null
  const end = await followEventLog(eventLogPath(ctx.deps.paths, id), {
    alive: () => sup.alive(unit),
    onEvent: (event) => {
      if (event.type === 'session-end') summary = event.summary
    },
    signal,
  })
  if (end.kind !== 'ended') return null
  if (!flags.json) {
    const renderer = await createRenderer(chooseRenderer(flags, ctx.isTTY), renderOptions(ctx, flags))
    await renderer.close(summary)
    ctx.summarized = summary !== null
  }
  return end.end
}

async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  )
}
