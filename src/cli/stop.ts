// Stopping a detached run (detached.ts): `vps-provision stop`, and a second Ctrl-C of an attached
// client (attach.ts). systemd sends SIGTERM to the worker's node only, so the action in progress is
// finished and recorded; this waits for the worker's own record of how it ended.
import { eventLogPath, followEventLog } from '../engine/index.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Summary } from '../model/events.js'
import { assertSessionId } from '../model/ids.js'
import { chooseRenderer, createRenderer } from '../render/renderer.js'
import type { CliContext, OutputFlags } from './deps.js'
import { renderOptions, resolveLazy } from './deps.js'
import { type Supervisor, unitName } from './detached.js'
import { closeWithSummary } from './report.js'

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

/** On a terminal, a second Ctrl-C asks first; without one (a script) it stops. */
export async function confirmStop(ctx: CliContext, id: string): Promise<boolean> {
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
export async function stopAndWait(
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
    await closeWithSummary(ctx, renderer, summary)
    ctx.summarized = summary !== null
  }
  return end.end
}
