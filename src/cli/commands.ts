// The command handlers. Each one checks what it can before touching anything (root, session id,
// confirmation, configuration), then drives the Engine with a renderer reading its events.
import type { Config } from '../config/schema.js'
import { USERNAME_PATTERN } from '../config/settings.js'
import type { EngineDeps } from '../engine/index.js'
import { EventLog, eventLogPath } from '../engine/index.js'
import { EXIT, ProvisionError, usageError } from '../model/errors.js'
import type { EventSink, Summary } from '../model/events.js'
import { assertSessionId } from '../model/ids.js'
import type { PhaseName } from '../model/schemas.js'
import { planLines } from '../render/plan-view.js'
import { clean } from '../render/text.js'
import { logLines, sessionsLines, statusLines } from '../render/views.js'
import { ensurePrivateDir } from '../system/atomic.js'
import { type ConfigFlags, loadCliConfig } from './config-layers.js'
import { type CliContext, type OutputFlags, rendererFor, renderOptions, resolveLazy } from './deps.js'
import { confirmFirstRun } from './first-run.js'
import { closeWithSummary } from './report.js'
import { loadSessionConfig } from './session-config.js'

export interface RunFlags extends ConfigFlags, OutputFlags {
  force?: boolean
  yes?: boolean
  /** Stay in this process instead of a systemd unit (detached.ts). */
  foreground?: boolean
  /** Set by a detaching client: this process is the worker of that session (session-config.ts). */
  worker?: string
}

export interface StatusFlags extends OutputFlags {
  follow?: boolean
  wait?: boolean
  /** Seconds, with --wait. */
  timeout?: number
}

export interface RollbackFlags extends OutputFlags {
  to?: PhaseName
  force?: boolean
  yes?: boolean
}

function requireRoot(ctx: CliContext, what: string, example: string): void {
  if (ctx.deps.getuid() === 0) return
  throw new ProvisionError(
    `Unable to ${what}: this needs root (uid 0)`,
    EXIT.notRoot,
    `Run it as root: ${example}`,
  )
}

export function checkSession(session: string): string {
  return session === 'latest' ? session : assertSessionId(session)
}

async function configFor(ctx: CliContext, flags: ConfigFlags & OutputFlags) {
  const { config, warnings } = await loadCliConfig(flags, ctx.deps.env, ctx.deps.defaultConfigFile)
  // --quiet is errors only; a warning is not one.
  if (!flags.quiet) for (const w of warnings) ctx.err.line(`warning: ${clean(w)}`)
  return config
}

/** A broken display must never stop the engine mid-action: the first failure is reported, then ignored. */
function guard(ctx: CliContext, sink: EventSink): EventSink {
  let broken = false
  return (event) => {
    if (event.type === 'session-start' && event.sessionId !== '-') ctx.sessionId = event.sessionId
    if (broken) return
    try {
      sink(event)
    } catch (err) {
      broken = true
      ctx.err.line(`warning: the progress display failed (${clean(String(err))}); the work goes on`)
    }
  }
}

/** plan's progress is not shown; only its warnings, on stderr, so stdout is the report alone. */
const messagesOnly =
  (ctx: CliContext): EventSink =>
  (event) => {
    if (event.type === 'message' && event.level !== 'info')
      ctx.err.line(`${event.level}: ${clean(event.text)}`)
  }

/**
 * What a run needs for the lock-out insurance (engine/ssh-guard.ts): who started it at a terminal,
 * and how the revert timer starts this program again (the state root goes with it, for tests).
 */
async function guardDeps(ctx: CliContext, flags: OutputFlags): Promise<Partial<EngineDeps>> {
  const { runOrigin } = await import('./ssh-confirm.js')
  const selfEnv: Record<string, string> = {}
  for (const key of ['VPS_PROVISION_ROOT', 'VPS_PROVISION_DEBUG']) {
    const value = ctx.deps.env[key]
    if (value !== undefined) selfEnv[key] = value
  }
  return {
    sshOrigin: await runOrigin(ctx, flags),
    ...(ctx.deps.selfCommand ? { selfCommand: ctx.deps.selfCommand } : {}),
    selfEnv,
    ...(ctx.deps.guardPollMs ? { guardPollMs: ctx.deps.guardPollMs } : {}),
  }
}

async function engineDeps(ctx: CliContext, flags: OutputFlags, emit: EventSink): Promise<EngineDeps> {
  const sys = await resolveLazy(ctx.deps.system)
  const log = ctx.eventLog
  // A generated password is shown only to a person at a terminal, never into JSON or a pipe; under
  // --quiet no summary shows it, so it is filed as when nobody watches.
  return {
    sys,
    paths: ctx.deps.paths,
    // A worker's events go to its event log first (it never throws), then to its own output.
    emit: guard(
      ctx,
      log
        ? (event) => {
            log.append(event)
            emit(event)
          }
        : emit,
    ),
    signal: ctx.signal,
    interactive: ctx.isTTY && !flags.json && !flags.quiet && !log,
    ...(log ? { onSecret: (value: string) => log.addSecret(value) } : {}),
  }
}

async function rendered(ctx: CliContext, flags: OutputFlags, body: (deps: EngineDeps) => Promise<Summary>) {
  const renderer = await rendererFor(ctx, flags)
  let summary: Summary
  try {
    summary = await body(await engineDeps(ctx, flags, renderer.emit))
  } catch (err) {
    await renderer.close(null)
    throw err
  }
  await closeWithSummary(ctx, renderer, summary)
  ctx.summarized = true
  ctx.exitCode = summary.exitCode
}

export async function runCommand(ctx: CliContext, flags: RunFlags): Promise<void> {
  requireRoot(ctx, 'provision this machine', 'sudo vps-provision run')
  if (flags.worker !== undefined) return runWorker(ctx, flags, flags.worker)
  // Checked here first, so a bad configuration never starts a unit.
  const config = await configFor(ctx, flags)
  // Asked before a unit, a lock or a session exists: a "no" leaves nothing behind.
  await confirmFirstRun(ctx, flags, config.username)
  if (ctx.deps.supervisor) {
    const sup = await resolveLazy(ctx.deps.supervisor)
    const { foregroundReason } = await import('./detached.js')
    const reason = foregroundReason(flags, ctx.deps.env, await sup.facts())
    if (reason === null) return (await import('./attach.js')).runDetached(ctx, flags, sup, config)
  }
  await runHere(ctx, flags, config)
}

/** The process inside a detached run's unit: its configuration is the one its client stored. */
async function runWorker(ctx: CliContext, flags: RunFlags, worker: string): Promise<void> {
  // Opened before anything can fail, so even a configuration error reaches the client.
  const id = checkSession(worker)
  await ensurePrivateDir(ctx.deps.paths.logDir)
  ctx.eventLog = EventLog.create(eventLogPath(ctx.deps.paths, id))
  ctx.sessionId = id
  await runHere(ctx, flags, await loadSessionConfig(ctx.deps.paths, id), id)
}

async function runHere(ctx: CliContext, flags: RunFlags, config: Config, sessionId?: string) {
  const engine = await resolveLazy(ctx.deps.engine)
  const guard = await guardDeps(ctx, flags)
  await rendered(ctx, flags, (deps) =>
    engine.run({ ...deps, ...guard }, config, {
      force: flags.force === true,
      ...(sessionId ? { sessionId } : {}),
    }),
  )
}

export async function verifyCommand(ctx: CliContext, flags: RunFlags): Promise<void> {
  const config = await configFor(ctx, flags)
  const engine = await resolveLazy(ctx.deps.engine)
  await rendered(ctx, flags, (deps) => engine.verify(deps, config))
}

export async function planCommand(ctx: CliContext, flags: RunFlags): Promise<void> {
  const config = await configFor(ctx, flags)
  const engine = await resolveLazy(ctx.deps.engine)
  const report = await engine.plan(await engineDeps(ctx, flags, messagesOnly(ctx)), config)
  if (flags.json) ctx.out.line(JSON.stringify(report, null, 2))
  else for (const line of planLines(report, renderOptions(ctx, flags))) ctx.out.line(line)
}

export async function rollbackCommand(ctx: CliContext, session: string, flags: RollbackFlags): Promise<void> {
  requireRoot(ctx, 'roll back', `sudo vps-provision rollback ${session}`)
  checkSession(session)
  const to = flags.to ? ` back to the start of ${flags.to}` : ''
  await confirmed(ctx, flags, {
    what: 'roll back',
    question: `Undo the changes of session ${session}${to} on this machine?`,
    command: `vps-provision rollback ${session}`,
  })
  const engine = await resolveLazy(ctx.deps.engine)
  await rendered(ctx, flags, (deps) =>
    engine.rollback(deps, { session, to: flags.to ?? null, force: flags.force === true }),
  )
}

export interface UserRemoveFlags extends OutputFlags {
  keepHome?: boolean
  force?: boolean
  yes?: boolean
}

export async function userRemoveCommand(
  ctx: CliContext,
  name: string,
  flags: UserRemoveFlags,
): Promise<void> {
  requireRoot(ctx, 'remove a developer', `sudo vps-provision user remove ${name}`)
  if (!USERNAME_PATTERN.test(name))
    throw usageError(`Unable to remove ${JSON.stringify(name)}: not a developer account name`)
  const home = flags.keepHome ? ', after archiving the home' : ', home included'
  await confirmed(ctx, flags, {
    what: `remove ${name}`,
    question: `Remove ${name} and everything vps-provision made for them${home}?`,
    command: `vps-provision user remove ${name}`,
  })
  const engine = await resolveLazy(ctx.deps.engine)
  await rendered(ctx, flags, (deps) =>
    engine.removeUser(deps, { name, keepHome: flags.keepHome === true, force: flags.force === true }),
  )
}

/** --yes, or a yes typed at a terminal; never waits on a stdin nobody types into (cloud-init, pipes). */
async function confirmed(
  ctx: CliContext,
  flags: { yes?: boolean },
  ask: { what: string; question: string; command: string },
): Promise<void> {
  if (flags.yes) return
  const { confirm, stdinIsTTY } = ctx.deps
  if (!stdinIsTTY || !ctx.isTTY || !confirm) {
    throw usageError(
      `Unable to ${ask.what} without confirmation: there is no terminal to ask on`,
      `Pass --yes to confirm: ${ask.command} --yes`,
    )
  }
  if (!(await confirm(ask.question, ctx.signal)))
    throw usageError(`Unable to ${ask.what}: not confirmed; nothing was changed`)
}

export async function statusCommand(ctx: CliContext, session: string, flags: StatusFlags): Promise<void> {
  if (flags.timeout !== undefined && !flags.wait)
    throw usageError(
      'Unable to read --timeout: it only goes with --wait',
      'vps-provision status --wait --timeout 600',
    )
  if (flags.wait && flags.follow)
    throw usageError('Unable to use --wait with --follow: choose one', 'vps-provision status --help')
  if (flags.wait) return (await import('./wait.js')).waitCommand(ctx, checkSession(session), flags)
  if (flags.follow) return (await import('./follow.js')).followCommand(ctx, checkSession(session), flags)
  const engine = await resolveLazy(ctx.deps.engine)
  const s = await engine.status(ctx.deps.paths, checkSession(session))
  if (flags.json) ctx.out.line(JSON.stringify(s, null, 2))
  else for (const line of statusLines(s, renderOptions(ctx, flags))) ctx.out.line(line)
}

export async function sessionsCommand(ctx: CliContext, flags: OutputFlags): Promise<void> {
  const engine = await resolveLazy(ctx.deps.engine)
  const list = await engine.sessions(ctx.deps.paths)
  if (flags.json) ctx.out.line(JSON.stringify(list, null, 2))
  else for (const line of sessionsLines(list, renderOptions(ctx, flags))) ctx.out.line(line)
}

export async function logCommand(ctx: CliContext, session: string, flags: OutputFlags): Promise<void> {
  const engine = await resolveLazy(ctx.deps.engine)
  const view = await engine.log(ctx.deps.paths, checkSession(session))
  if (flags.json) ctx.out.line(JSON.stringify(view, null, 2))
  else for (const line of logLines(view, renderOptions(ctx, flags))) ctx.out.line(line)
}

export async function confirmCommand(ctx: CliContext, flags: OutputFlags): Promise<void> {
  requireRoot(ctx, 'confirm', 'sudo vps-provision confirm')
  await (await import('./ssh-confirm.js')).confirmCommand(ctx, flags)
}

export async function revertPendingCommand(ctx: CliContext, session: string): Promise<void> {
  requireRoot(ctx, 'revert', `sudo vps-provision revert-pending ${session}`)
  await (await import('./ssh-confirm.js')).revertPendingCommand(ctx, assertSessionId(session))
}

export async function stopCommand(ctx: CliContext, session: string, flags: OutputFlags): Promise<void> {
  requireRoot(ctx, 'stop the run', `sudo vps-provision stop ${session}`)
  await (await import('./stop.js')).stopCommand(ctx, checkSession(session), flags)
}
