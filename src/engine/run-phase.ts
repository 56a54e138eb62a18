// One phase. A phase that changes the machine is skipped while its checkpoint still matches the
// machine; otherwise its steps are walked in order, applying only those whose check fails, with
// background steps (downloads) overlapping the steps before them. A read-only phase (preflight,
// verification) runs every check and fails once, listing every failed check.

import { errorMessage } from '../model/errors.js'
import { now } from '../model/events.js'
import type { PhaseExecution, ProvisioningSession } from '../model/schemas.js'
import { phaseTransition } from '../model/transitions.js'
import { ChecksFailed, type Finding, STATE_WORD } from '../steps/checks-failed.js'
import { settleAll } from '../steps/lazy.js'
import type { Phase, Step } from '../steps/types.js'
import { checkEvery } from './check-every.js'
import type { CheckMemo } from './check-memo.js'
import { type CheckpointStore, stateChecksum } from './checkpoints.js'
import { Aborted, type ContextDeps, makeStepContext, throwIfAborted } from './context.js'
import { undoPart } from './part-undo.js'

export interface PhaseRun {
  phase: Phase
  steps: Step[]
  exec: PhaseExecution
  session: ProvisioningSession
  checkpoints: CheckpointStore
  force: boolean
  /** The run's check answers (one memo for all phases, warmed at the start of a re-run). */
  checks: CheckMemo
}

export async function runPhase(run: PhaseRun, deps: ContextDeps): Promise<void> {
  const { phase, steps, exec, checks } = run
  if (!run.force && !phase.readOnly) {
    const reason = await checkpointStillHolds(run, checks)
    if (reason) {
      exec.status = phaseTransition(exec.status, 'SKIPPED')
      exec.checkpoint_exists = true
      deps.emit({ type: 'phase-skip', ts: now(), phase: phase.name, reason })
      return
    }
  }
  const started = Date.now()
  exec.status = phaseTransition(exec.status, 'RUNNING')
  exec.start_time = now()
  deps.emit({ type: 'phase-start', ts: now(), phase: phase.name, title: phase.title, steps: steps.length })
  if (phase.readOnly) await checkAll(run, deps)
  else await converge(run, deps, checks)
  exec.status = phaseTransition(exec.status, 'COMPLETED')
  exec.end_time = now()
  exec.duration_seconds = (Date.now() - started) / 1000
}

/**
 * Every check once. From the first failure on, each result is also a line of output: the person
 * watching sees the rest of the list as it is measured, not only in the final message.
 */
async function checkAll(run: PhaseRun, deps: ContextDeps): Promise<void> {
  const phase = run.phase.name
  const emit = deps.emit
  // The checks of a part that failed earlier in this run (an IDE) would only fail again.
  const failedParts = new Set(deps.outputs.failedParts.map((f) => f.part))
  const skipped = run.steps.filter((s) => s.part && failedParts.has(s.part))
  for (const step of skipped) skipForFailedPart(run, deps, step)
  const steps = run.steps.filter((s) => !skipped.includes(s))
  const partOf = new Map(steps.map((s) => [s.id, s.part]))
  const failure = await checkEvery(phase, steps, run.checks, {
    start(step) {
      throwIfAborted(deps.signal)
      emit({ type: 'step-start', ts: now(), phase, step: step.id, title: step.title })
    },
    end(step, f, failedYet) {
      const outcome = f.state === 'passed' ? 'already-done' : 'failed'
      emit({ type: 'step-end', ts: now(), phase, step: step.id, outcome, detail: f.detail })
      if (failedYet)
        emit({ type: 'output', ts: now(), phase, line: `${f.title}: ${STATE_WORD[f.state]}: ${f.detail}` })
    },
  })
  if (!failure) return
  // In preflight, a failed check of a part (an IDE's source that does not answer) fails that part
  // alone: it is named now, before any change, and its steps in later phases are skipped. In
  // verification the part is installed, so a failed check of it stays a failed check (exit 4).
  // When the rest fails too, nothing runs: the parts are then just failed checks in the list.
  const partFailed = (f: Finding) =>
    f.state === 'failed' && partOf.has(f.id) && partOf.get(f.id) !== undefined
  const restFails = failure.findings.some((f) => f.state !== 'passed' && !partFailed(f))
  const ofParts = phase === 'preflight' && !restFails ? failure.findings.filter(partFailed) : []
  for (const f of ofParts) {
    const part = partOf.get(f.id) as string
    if (deps.outputs.failedParts.some((p) => p.part === part)) continue
    const retry = run.phase.retryPart?.(part) ?? 'vps-provision run'
    const error = `${f.title}: ${f.detail}`
    deps.outputs.failedParts.push({ phase, part, step: f.id, error, retry, undone: false })
    emit({
      type: 'message',
      ts: now(),
      level: 'warn',
      text: `${part} will not be installed: ${f.title}: ${f.detail}`,
    })
  }
  const rest = failure.findings.filter((f) => !ofParts.includes(f))
  if (rest.some((f) => f.state !== 'passed')) throw new ChecksFailed(phase, rest)
}

/**
 * Applies what is not done yet, then records what the checks saw as the phase's checkpoint. A
 * failed step of a part (an IDE) fails that part alone: its changes are undone, its later steps
 * skipped, and no checkpoint is written, so the next run tries that part again.
 */
async function converge(run: PhaseRun, deps: ContextDeps, checks: CheckMemo): Promise<void> {
  const observed = new Map<Step, string>()
  // Parts that failed earlier in this run (a source preflight could not reach) are left out too.
  const failed = new Set(deps.outputs.failedParts.map((f) => f.part))
  const walk = async (steps: readonly Step[]) => {
    for (const step of steps) {
      if (step.part && failed.has(step.part)) {
        skipForFailedPart(run, deps, step)
        continue
      }
      try {
        observed.set(step, await convergeStep(step, run, deps, checks))
      } catch (err) {
        if (!step.part || err instanceof Aborted) throw err
        failed.add(step.part)
        await failPart(run, deps, step, err)
      }
    }
  }
  for (const lane of lanes(run.steps)) {
    await settleAll([() => walk(lane.foreground), () => walk(lane.background)])
  }
  if (failed.size > 0) return
  await run.checkpoints.write({
    phase_name: run.phase.name,
    completed_at: now(),
    session_id: run.session.session_id,
    checksum: stateChecksum(run.steps.map((s) => observed.get(s) ?? '')),
  })
  run.exec.checkpoint_exists = true
}

/** Records the part's failure, then undoes what the part changed in this run. */
async function failPart(run: PhaseRun, deps: ContextDeps, step: Step, err: unknown): Promise<void> {
  const phase = run.phase.name
  const part = step.part as string
  const error = deps.secrets.scrub(errorMessage(err))
  const retry = run.phase.retryPart?.(part) ?? 'vps-provision run'
  deps.outputs.failedParts.push({ phase, part, step: step.id, error, retry, undone: true })
  deps.emit({ type: 'message', ts: now(), level: 'warn', text: `${part} failed at ${step.id}: ${error}` })
  const ids = new Set(run.steps.filter((s) => s.part === part).map((s) => s.id))
  await undoPart(deps, phase, part, ids)
}

function skipForFailedPart(run: PhaseRun, deps: ContextDeps, step: Step): void {
  const phase = run.phase.name
  const failure = deps.outputs.failedParts.find((f) => f.part === step.part)
  const detail = `${step.part} failed earlier in this run${failure ? ` (${failure.step})` : ''}`
  deps.emit({ type: 'step-start', ts: now(), phase, step: step.id, title: step.title })
  deps.emit({ type: 'step-end', ts: now(), phase, step: step.id, outcome: 'skipped', detail })
}

/** Returns what the step's check saw once its desired state holds. */
async function convergeStep(
  step: Step,
  run: PhaseRun,
  deps: ContextDeps,
  checks: CheckMemo,
): Promise<string> {
  const phase = run.phase.name
  throwIfAborted(deps.signal)
  deps.emit({ type: 'step-start', ts: now(), phase, step: step.id, title: step.title })
  const before = await checks.of(step)
  if (before.done) {
    if (before.warning)
      deps.emit({ type: 'message', ts: now(), level: 'warn', text: `${step.title}: ${before.warning}` })
    deps.emit({ type: 'step-end', ts: now(), phase, step: step.id, outcome: 'already-done' })
    return before.observed
  }
  try {
    checks.applying()
    await step.apply(makeStepContext(deps, phase, step.id, run.exec.actions, step.user))
    const after = await step.check(deps.sys)
    if (!after.done) {
      throw new Error(
        `Unable to converge step ${step.id}: after apply its check still fails (${after.why ?? 'no reason given'}); this is a bug in the step`,
      )
    }
    deps.emit({ type: 'step-end', ts: now(), phase, step: step.id, outcome: 'applied', detail: before.why })
    return after.observed
  } catch (err) {
    deps.emit({ type: 'step-end', ts: now(), phase, step: step.id, outcome: 'failed' })
    throw err
  }
}

/**
 * The phase cut where background steps begin: each lane's foreground steps run in order while its
 * background steps (which need nothing the foreground does) run in order beside them.
 */
function lanes(steps: readonly Step[]): { foreground: Step[]; background: Step[] }[] {
  const out: { foreground: Step[]; background: Step[] }[] = []
  for (const step of steps) {
    let last = out.at(-1)
    if (!last || (!step.background && last.background.length > 0)) {
      last = { foreground: [], background: [] }
      out.push(last)
    }
    ;(step.background ? last.background : last.foreground).push(step)
  }
  return out
}

/** Returns why the phase may be skipped, or null when it must run. check() stays the truth. */
async function checkpointStillHolds(run: PhaseRun, checks: CheckMemo): Promise<string | null> {
  const cp = await run.checkpoints.read(run.phase.name)
  if (!cp) return null
  const answers = await Promise.all(run.steps.map((step) => checks.of(step)))
  if (answers.some((c) => !c.done)) return null
  if (stateChecksum(answers.map((c) => c.observed)) !== cp.checksum) return null
  return `checkpoint from session ${cp.session_id} still matches the machine`
}
