// `status --follow [latest|SESSION]`: re-attaches to a detached run (attach.ts), or shows the status
// of a session that ran in the foreground and so has no event log to follow.
import { promises as fsp } from 'node:fs'
import { eventLogPath } from '../engine/index.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { assertSessionId } from '../model/ids.js'
import { attach } from './attach.js'
import { type CliContext, type OutputFlags, renderOptions, resolveLazy } from './deps.js'
import { type Supervisor, unitName } from './detached.js'

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

export async function resolveTarget(
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

async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  )
}
