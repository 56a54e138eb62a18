// `vps-provision run`: one session. Takes the lock, opens the session's journal, runs the selected
// phases in order and always leaves a session file that says how it ended.
import type { Config } from '../config/schema.js'
import { gatherFacts } from '../facts/environment.js'
import { describeMachine } from '../facts/vps-info.js'
import { EXIT, errorMessage, ProvisionError } from '../model/errors.js'
import { now, type Summary } from '../model/events.js'
import { assertSessionId, newSessionId } from '../model/ids.js'
import type { PhaseExecution, PhaseName, ProvisioningSession } from '../model/schemas.js'
import { sessionTransition } from '../model/transitions.js'
import type { Facts, Phase, SessionOutputs } from '../steps/types.js'
import type { EngineDeps, RunOptions } from './api.js'
import { CheckpointStore } from './checkpoints.js'
import { Aborted, type ContextDeps, secretsFor } from './context.js'
import { usersWeCreated } from './created-users.js'
import { Journal } from './journal.js'
import { withLock } from './lock-guard.js'
import { runPhase } from './run-phase.js'
import { SessionStore } from './session-store.js'
import { summarize } from './summary.js'

export async function runSession(deps: EngineDeps, cfg: Config, opts: RunOptions): Promise<Summary> {
  const sessionId = opts.sessionId ? assertSessionId(opts.sessionId) : newSessionId()
  return withLock(deps.paths, { sessionId, command: 'run' }, async () => {
    const { sys, paths, emit, signal } = deps
    const store = new SessionStore(paths)
    await markInterruptedSessions(store)
    const facts = await gatherFacts(sys)
    const createdUsers = await usersWeCreated(store, paths)
    const phases = selectPhases(deps.phases ?? [], cfg)
    refuseWhatCannotRunHere(phases, facts)

    const journal = Journal.open(paths.transactionLog(sessionId))
    const secrets = secretsFor(journal)
    const outputs: SessionOutputs = {
      developerUser: null,
      ideInstallations: [],
      credentials: null,
      credentialsFile: null,
      notes: [],
      vpsInfo: null,
    }
    const ctx: ContextDeps = {
      sys,
      cfg,
      facts,
      journal,
      backupDir: paths.backupDir(sessionId),
      emit,
      signal,
      secrets: {
        add(value) {
          secrets.add(value)
          deps.onSecret?.(value)
        },
        scrub: secrets.scrub,
      },
      outputs,
    }
    const session: ProvisioningSession = {
      session_id: sessionId,
      command: 'run',
      start_time: now(),
      end_time: null,
      status: 'INITIALIZING',
      phases: phases.map(pendingPhase),
      error_details: null,
      duration_seconds: 0,
      vps_info: await describeMachine(sys, facts),
      developer_user: null,
      ide_installations: [],
    }
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

    const checkpoints = new CheckpointStore(paths)
    const started = Date.now()
    let exitCode: number = EXIT.ok
    try {
      for (const [i, phase] of phases.entries()) {
        const exec = session.phases[i] as PhaseExecution
        const steps = phase.steps({ cfg, facts, interactive: deps.interactive, createdUsers })
        try {
          await runPhase({ phase, steps, exec, session, checkpoints, force: opts.force }, ctx)
        } catch (err) {
          exitCode = exitCodeFor(phase.name, err)
          const hint = err instanceof ProvisionError && err.hint ? ` (hint: ${err.hint})` : ''
          const message = ctx.secrets.scrub(errorMessage(err) + hint)
          if (exec.status === 'RUNNING') exec.status = 'FAILED'
          exec.error_message = message
          exec.end_time = now()
          emit({
            type: 'phase-end',
            ts: now(),
            phase: phase.name,
            status: 'FAILED',
            durationMs: 0,
            actions: exec.actions.length,
            error: message,
          })
          session.error_details = `${phase.name}: ${message}`
          break
        }
        if (exec.status === 'COMPLETED') {
          emit({
            type: 'phase-end',
            ts: now(),
            phase: phase.name,
            status: 'COMPLETED',
            durationMs: exec.duration_seconds * 1000,
            actions: exec.actions.length,
          })
        }
        if (phase.name === 'preflight' && session.status === 'INITIALIZING') {
          session.status = sessionTransition(session.status, 'IN_PROGRESS')
          if (session.vps_info) session.vps_info.validated = true
        }
        session.developer_user = outputs.developerUser
        session.ide_installations = outputs.ideInstallations
        await store.save(session)
      }
    } finally {
      journal.close()
    }

    if (session.status === 'INITIALIZING' && exitCode === EXIT.ok) {
      session.status = sessionTransition(session.status, 'IN_PROGRESS')
    }
    if (deps.describe && !(session.status === 'INITIALIZING')) {
      const report = await deps.describe(sys, cfg, facts, session.vps_info).catch(() => null)
      if (report) {
        outputs.notes.push(...report.notes)
        outputs.developerUser = report.developerUser
        outputs.ideInstallations = report.ideInstallations
      }
    }
    session.status = sessionTransition(session.status, exitCode === EXIT.ok ? 'COMPLETED' : 'FAILED')
    session.end_time = now()
    session.duration_seconds = (Date.now() - started) / 1000
    session.developer_user = outputs.developerUser
    session.ide_installations = outputs.ideInstallations
    await store.save(session)
    const summary = summarize(session, exitCode, outputs, deps.interactive)
    emit({ type: 'session-end', ts: now(), summary })
    return summary
  })
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

/** A session left IN_PROGRESS by a killed process can only be noticed by the next holder of the lock. */
async function markInterruptedSessions(store: SessionStore): Promise<void> {
  for (const s of await store.list()) {
    if (s.status !== 'IN_PROGRESS' && s.status !== 'INITIALIZING') continue
    s.status = sessionTransition(s.status, 'FAILED')
    s.error_details =
      s.error_details ?? 'interrupted: the process stopped without finishing (killed, crash or power loss)'
    for (const p of s.phases) if (p.status === 'RUNNING') p.status = 'FAILED'
    await store.save(s)
  }
}

function pendingPhase(p: Phase): PhaseExecution {
  return {
    phase_name: p.name,
    status: 'PENDING',
    start_time: null,
    end_time: null,
    duration_seconds: 0,
    checkpoint_exists: false,
    actions: [],
    error_message: null,
  }
}

const outline = (p: Phase) => ({ name: p.name, title: p.title, weight: p.weight })
