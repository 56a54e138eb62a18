// `vps-provision run`: one session. Takes the lock, opens the session's journal, runs the selected
// phases in order and always leaves a session file that says how it ended.
import type { Config } from '../config/schema.js'
import { gatherFacts } from '../facts/environment.js'
import { describeMachine } from '../facts/vps-info.js'
import { EXIT, errorMessage, ProvisionError } from '../model/errors.js'
import { now, type Summary } from '../model/events.js'
import { assertSessionId, newSessionId } from '../model/ids.js'
import type { PhaseExecution, PhaseName, ProvisioningSession, VPSInstance } from '../model/schemas.js'
import { sessionTransition } from '../model/transitions.js'
import type { Facts, Phase } from '../steps/types.js'
import type { EngineDeps, Report, RunOptions } from './api.js'
import { CheckMemo, warmCheckpointedPhases } from './check-memo.js'
import { CheckpointStore } from './checkpoints.js'
import { Aborted, type ContextDeps } from './context.js'
import { usersWeCreated } from './created-users.js'
import { Journal } from './journal.js'
import { withLock } from './lock-guard.js'
import { exposition, RUN_FILE, recordMetrics, runFamilies } from './metrics.js'
import { contextFor, markInterruptedSessions, newSession } from './new-session.js'
import { runPhase } from './run-phase.js'
import { SessionStore } from './session-store.js'
import { sshGuardFor } from './ssh-guard.js'
import { summarize } from './summary.js'

/** One run's state while it lasts: what the phases see, and the session file it keeps up to date. */
interface Running {
  session: ProvisioningSession
  phases: Phase[]
  ctx: ContextDeps
  journal: Journal
  store: SessionStore
  createdUsers: readonly string[]
  /** The run's check answers; the final report reads the machine through them too. */
  checks?: CheckMemo
  /** The session's VPSInstance, read while the first phase runs. */
  machine: Promise<VPSInstance | null>
  /** The final report, started beside the read-only phases at the end (they change nothing). */
  describing?: Promise<Report | null>
}

export async function runSession(deps: EngineDeps, cfg: Config, opts: RunOptions): Promise<Summary> {
  const sessionId = opts.sessionId ? assertSessionId(opts.sessionId) : newSessionId()
  return withLock(deps.paths, { sessionId, command: 'run' }, async () => {
    const run = await openSession(deps, cfg, sessionId)
    const started = Date.now()
    let exitCode: number
    try {
      exitCode = await runPhases(run, deps, opts)
    } finally {
      run.journal.close()
    }
    return closeSession(run, deps, exitCode, started)
  })
}

async function openSession(deps: EngineDeps, cfg: Config, sessionId: string): Promise<Running> {
  const { sys, paths, emit } = deps
  const store = new SessionStore(paths)
  // Independent reads, side by side: they are most of what a re-run does before its checks.
  const gathering = gatherFacts(sys)
  const [facts, createdUsers] = await Promise.all([
    gathering,
    markInterruptedSessions(store).then(() => usersWeCreated(store, paths)),
  ])
  // Descriptive only (cores, kernel, addresses: systeminformation's dozen commands), so not waited
  // for here: the session gets it when preflight is done. (Started later, its module loading held
  // the event loop while the checks' processes ended, and a re-run took 0.2 s longer.)
  const machine = gathering.then((f) => describeMachine(sys, f)).catch(() => null)
  const phases = selectPhases(deps.phases ?? [], cfg)
  refuseWhatCannotRunHere(phases, facts)
  const journal = Journal.open(paths.transactionLog(sessionId))
  const ctx = contextFor(deps, cfg, facts, journal, paths.backupDir(sessionId))
  const session = newSession(sessionId, phases, null)
  await store.save(session)
  emit({ type: 'session-start', ts: now(), command: 'run', sessionId, phases: phases.map(outline) })
  if (facts.container) {
    emit({
      type: 'message',
      ts: now(),
      level: 'warn',
      text: `This machine is a ${facts.virtualization} container: kernel settings (sysctl), swap and kernel modules are skipped or apply only on a real VM.`,
    })
  }
  return { session, phases, ctx, journal, store, createdUsers, machine }
}

/** The phases in order, until one fails; returns the exit code. */
async function runPhases(run: Running, deps: EngineDeps, opts: RunOptions): Promise<number> {
  const { session, ctx, store } = run
  const checkpoints = new CheckpointStore(deps.paths)
  const input = {
    cfg: ctx.cfg,
    facts: ctx.facts,
    interactive: deps.interactive,
    createdUsers: run.createdUsers,
    sshGuard: sshGuardFor(deps, ctx.cfg, ctx.facts, session.session_id),
  }
  const stepsOf = run.phases.map((phase) => phase.steps(input))
  ctx.plannedPackages = run.phases.flatMap((phase, i) =>
    (stepsOf[i] ?? []).flatMap((step) =>
      step.packages
        ? [
            {
              phase: phase.name,
              step: step.id,
              names: step.packages,
              joinsEarlier: step.joinsEarlier ?? false,
            },
          ]
        : [],
    ),
  )
  ctx.actionsOf = (name) => session.phases.find((p) => p.phase_name === name)?.actions ?? []
  ctx.retriesOf = (name) => {
    const exec = session.phases.find((p) => p.phase_name === name)
    if (!exec) return []
    exec.retries ??= []
    return exec.retries
  }
  const checks = new CheckMemo(ctx.sys)
  run.checks = checks
  if (!opts.force) await warmCheckpointedPhases(run.phases, stepsOf, checkpoints, checks)
  for (const [i, phase] of run.phases.entries()) {
    const exec = session.phases[i] as PhaseExecution
    const steps = stepsOf[i] as ReturnType<Phase['steps']>
    if (run.phases.slice(i).every((p) => p.readOnly) && session.status !== 'INITIALIZING')
      startDescribing(run, deps)
    try {
      await runPhase({ phase, steps, exec, session, checkpoints, force: opts.force, checks }, ctx)
    } catch (err) {
      recordFailure(run, phase, exec, err)
      return exitCodeFor(phase.name, err)
    }
    if (exec.status === 'COMPLETED') emitPhaseEnd(ctx, exec, 'COMPLETED')
    if (phase.name === 'preflight' && session.status === 'INITIALIZING') {
      session.status = sessionTransition(session.status, 'IN_PROGRESS')
      session.vps_info = await run.machine
      if (session.vps_info) session.vps_info.validated = true
    }
    session.developer_user = ctx.outputs.developerUser
    session.ide_installations = ctx.outputs.ideInstallations
    await store.save(session)
  }
  const failed = ctx.outputs.failedParts
  if (failed.length === 0) return EXIT.ok
  session.error_details = failed.map((f) => `${f.phase}: ${f.part} failed: ${f.error}`).join('\n')
  return EXIT.partial
}

function startDescribing(run: Running, deps: EngineDeps): Promise<Report | null> {
  const { ctx, session } = run
  run.describing ??= deps.describe
    ? deps.describe(run.checks?.querySys ?? ctx.sys, ctx.cfg, ctx.facts, session.vps_info).catch(() => null)
    : Promise.resolve(null)
  return run.describing
}

function recordFailure(run: Running, phase: Phase, exec: PhaseExecution, err: unknown): void {
  const hint = err instanceof ProvisionError && err.hint ? ` (hint: ${err.hint})` : ''
  const message = run.ctx.secrets.scrub(errorMessage(err) + hint)
  if (exec.status === 'RUNNING') exec.status = 'FAILED'
  exec.error_message = message
  exec.end_time = now()
  emitPhaseEnd(run.ctx, exec, 'FAILED', message)
  run.session.error_details = `${phase.name}: ${message}`
}

function emitPhaseEnd(
  ctx: ContextDeps,
  exec: PhaseExecution,
  status: 'COMPLETED' | 'FAILED',
  error?: string,
) {
  ctx.emit({
    type: 'phase-end',
    ts: now(),
    phase: exec.phase_name,
    status,
    durationMs: status === 'FAILED' ? 0 : exec.duration_seconds * 1000,
    actions: exec.actions.length,
    ...(error === undefined ? {} : { error }),
  })
}

/** What the run built, read from the machine, and the session's final word. */
async function closeSession(
  run: Running,
  deps: EngineDeps,
  exitCode: number,
  started: number,
): Promise<Summary> {
  const { session, ctx } = run
  const outputs = ctx.outputs
  session.vps_info ??= await run.machine
  if (session.status === 'INITIALIZING' && (exitCode === EXIT.ok || exitCode === EXIT.partial)) {
    session.status = sessionTransition(session.status, 'IN_PROGRESS')
  }
  if (deps.describe && !(session.status === 'INITIALIZING')) {
    const report = await (run.describing ?? startDescribing(run, deps))
    if (report) {
      outputs.notes.push(...report.notes)
      outputs.developerUser = report.developerUser
      outputs.ideInstallations = report.ideInstallations
      outputs.rdpCertificate = report.rdpCertificate
    }
  }
  // Partly done: every phase ran; the parts that failed were undone and are named in the summary.
  const finished = exitCode === EXIT.ok || exitCode === EXIT.partial
  session.status = sessionTransition(session.status, finished ? 'COMPLETED' : 'FAILED')
  session.end_time = now()
  session.duration_seconds = (Date.now() - started) / 1000
  session.developer_user = outputs.developerUser
  session.ide_installations = outputs.ideInstallations
  session.rdp_certificate = outputs.rdpCertificate
  await run.store.save(session)
  const summary = summarize(session, exitCode, outputs, deps.interactive, deps.paths)
  await recordMetrics(deps, RUN_FILE, (previous) =>
    exposition(runFamilies(summary, Date.now() / 1000, previous)),
  )
  deps.emit({ type: 'session-end', ts: now(), summary })
  return summary
}

function exitCodeFor(phase: PhaseName, err: unknown): number {
  if (err instanceof Aborted) return err.exitCode
  if (phase === 'preflight') return EXIT.preflight
  if (phase === 'verification') return EXIT.verification
  return EXIT.provisioning
}

/** Preflight always runs; --only and --skip choose among the rest. */
export function selectPhases(all: readonly Phase[], cfg: Config): Phase[] {
  return all.filter(
    (p) =>
      p.name === 'preflight' ||
      ((cfg.only === null || cfg.only.includes(p.name)) && !cfg.skip.includes(p.name)),
  )
}

function refuseWhatCannotRunHere(phases: Phase[], facts: Facts): void {
  const needing = phases.filter((p) => p.needsSystemd).map((p) => p.name)
  if (facts.systemd || needing.length === 0) return
  throw new ProvisionError(
    `Unable to run ${needing.join(', ')}: systemd is not PID 1 here (a chroot or a container without an init), and these phases manage services`,
    EXIT.preflight,
    `Boot the machine normally, or choose phases that need no services, e.g. --skip ${needing.join(',')}`,
  )
}

const outline = (p: Phase) => ({ name: p.name, title: p.title, weight: p.weight })
