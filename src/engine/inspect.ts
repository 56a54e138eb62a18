// The read-only commands: plan (what run would do), verify (the verification phase's checks alone),
// and the views of stored sessions and journals. None of them takes the lock or writes anything.
import type { Config } from '../config/schema.js'
import { gatherFacts } from '../facts/environment.js'
import { EXIT } from '../model/errors.js'
import { now, type Summary } from '../model/events.js'
import type { ProvisioningSession } from '../model/schemas.js'
import type { EngineDeps, LogView, PlanReport } from './api.js'
import { checkEvery } from './check-every.js'
import { CheckMemo } from './check-memo.js'
import { CheckpointStore } from './checkpoints.js'
import { usersWeCreated } from './created-users.js'
import { deriveActions, readJournal, toTransactionLog } from './journal.js'
import { type CheckResult, exposition, recordMetrics, VERIFY_FILE, verifyFamilies } from './metrics.js'
import type { StatePaths } from './paths.js'
import { selectPhases } from './run.js'
import { SessionStore } from './session-store.js'

export async function planRun(deps: EngineDeps, cfg: Config): Promise<PlanReport> {
  const [facts, createdUsers] = await Promise.all([
    gatherFacts(deps.sys),
    usersWeCreated(new SessionStore(deps.paths), deps.paths),
  ])
  const checkpoints = new CheckpointStore(deps.paths)
  // Every check is a pure query: they all start at once (the memo runs a few at a time and shares
  // identical reads), and are told in order.
  const checks = new CheckMemo(deps.sys)
  const phases = selectPhases(deps.phases ?? [], cfg).map((phase) => {
    const steps = phase.steps({ cfg, facts, interactive: deps.interactive, createdUsers })
    checks.warm(steps)
    return { phase, steps }
  })
  const report: PlanReport = { phases: [] }
  for (const { phase, steps } of phases) {
    const planned = []
    for (const step of steps) {
      const c = await checks.of(step)
      planned.push({
        phase: phase.name,
        step: step.id,
        title: step.title,
        done: c.done,
        why: c.done ? null : (c.why ?? null),
        diff: c.done ? null : (c.diff ?? null),
      })
    }
    const cp = phase.readOnly ? null : await checkpoints.read(phase.name)
    const skipped = cp && planned.every((s) => s.done) ? `checkpoint from session ${cp.session_id}` : null
    report.phases.push({ name: phase.name, title: phase.title, skipped, steps: planned })
  }
  return report
}

/** Runs the verification phase's checks without applying anything; exit 4 names what failed. */
export async function verifyOnly(deps: EngineDeps, cfg: Config): Promise<Summary> {
  const { sys, emit } = deps
  const facts = await gatherFacts(sys)
  const phase = (deps.phases ?? []).find((p) => p.name === 'verification')
  const steps = phase?.steps({ cfg, facts, interactive: deps.interactive, createdUsers: [] }) ?? []
  const started = Date.now()
  const lines: string[] = []
  const checks: CheckResult[] = []
  emit({ type: 'session-start', ts: now(), command: 'verify', sessionId: '-', phases: [] })
  const failure = await checkEvery('verification', steps, new CheckMemo(sys), {
    start: (step) =>
      emit({ type: 'step-start', ts: now(), phase: 'verification', step: step.id, title: step.title }),
    end(step, f) {
      const ok = f.state === 'passed'
      const detail = ok ? undefined : f.detail
      checks.push({ name: step.id, title: step.title, ok, detail: f.detail || null })
      emit({
        type: 'step-end',
        ts: now(),
        phase: 'verification',
        step: step.id,
        outcome: ok ? 'already-done' : 'failed',
        detail,
      })
      lines.push(`${ok ? 'ok  ' : 'FAIL'} ${step.title}${ok && !step.tell ? '' : `: ${f.detail}`}`)
    },
  })
  const failures = (failure?.findings ?? []).filter((f) => f.state !== 'passed').map((f) => f.title)
  const summary: Summary = {
    sessionId: '-',
    status: failures.length === 0 ? 'COMPLETED' : 'FAILED',
    exitCode: failures.length === 0 ? EXIT.ok : EXIT.verification,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    phases: [],
    lines: [
      ...lines,
      ...(failures.length ? [`${failures.length} check(s) failed: ${failures.join('; ')}`] : []),
    ],
    credentials: null,
    checks,
  }
  await recordMetrics(deps, VERIFY_FILE, () => exposition(verifyFamilies(checks, Date.now() / 1000)))
  emit({ type: 'session-end', ts: now(), summary })
  return summary
}

export async function sessionStatus(paths: StatePaths, session: string): Promise<ProvisioningSession> {
  const store = new SessionStore(paths)
  return store.load(await store.resolve(session))
}

export async function listSessions(paths: StatePaths): Promise<ProvisioningSession[]> {
  return new SessionStore(paths).list()
}

export async function sessionLog(paths: StatePaths, session: string): Promise<LogView> {
  const store = new SessionStore(paths)
  const id = await store.resolve(session)
  const { records, warnings, damage } = readJournal(paths.transactionLog(id))
  const actions = deriveActions(records)
  const entries = toTransactionLog(actions).map((e, i) => ({
    ...e,
    state: actions[i]?.state ?? 'unknown',
    phase: actions[i]?.phase ?? '',
    step: actions[i]?.step ?? '',
  }))
  return { session: await store.load(id).catch(() => null), entries, warnings, damage }
}
