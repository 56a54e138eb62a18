// One phase: skip it when its checkpoint still matches the machine, otherwise walk its steps,
// applying only those whose check fails, and insist that every applied step converged.

import { now } from '../model/events.js'
import type { PhaseExecution, ProvisioningSession } from '../model/schemas.js'
import { phaseTransition } from '../model/transitions.js'
import type { Phase, Step } from '../steps/types.js'
import type { System } from '../system/port.js'
import { type CheckpointStore, stateChecksum } from './checkpoints.js'
import { type ContextDeps, makeStepContext, throwIfAborted } from './context.js'

export interface PhaseRun {
  phase: Phase
  steps: Step[]
  exec: PhaseExecution
  session: ProvisioningSession
  checkpoints: CheckpointStore
  force: boolean
}

export async function runPhase(run: PhaseRun, deps: ContextDeps): Promise<void> {
  const { phase, steps, exec, checkpoints } = run
  const { sys, emit } = deps

  if (!run.force && !phase.readOnly) {
    const reason = await checkpointStillHolds(run, deps.sys)
    if (reason) {
      exec.status = phaseTransition(exec.status, 'SKIPPED')
      exec.checkpoint_exists = true
      emit({ type: 'phase-skip', ts: now(), phase: phase.name, reason })
      return
    }
  }

  const started = Date.now()
  exec.status = phaseTransition(exec.status, 'RUNNING')
  exec.start_time = now()
  emit({ type: 'phase-start', ts: now(), phase: phase.name, title: phase.title, steps: steps.length })

  const observed: string[] = []
  for (const step of steps) {
    throwIfAborted(deps.signal)
    emit({ type: 'step-start', ts: now(), phase: phase.name, step: step.id, title: step.title })
    const before = await step.check(sys)
    if (before.done) {
      observed.push(before.observed)
      // For checks (preflight, verification) what was measured is the news: say it.
      const detail = phase.readOnly ? before.observed : undefined
      emit({ type: 'step-end', ts: now(), phase: phase.name, step: step.id, outcome: 'already-done', detail })
      continue
    }
    try {
      await step.apply(makeStepContext(deps, phase.name, step.id, exec.actions))
      const after = await step.check(sys)
      if (!after.done) {
        throw new Error(
          `Unable to converge step ${step.id}: after apply its check still fails (${after.why ?? 'no reason given'}); this is a bug in the step`,
        )
      }
      observed.push(after.observed)
    } catch (err) {
      emit({ type: 'step-end', ts: now(), phase: phase.name, step: step.id, outcome: 'failed' })
      throw err
    }
    emit({
      type: 'step-end',
      ts: now(),
      phase: phase.name,
      step: step.id,
      outcome: 'applied',
      detail: before.why,
    })
  }

  if (!phase.readOnly) {
    await checkpoints.write({
      phase_name: phase.name,
      completed_at: now(),
      session_id: run.session.session_id,
      checksum: stateChecksum(observed),
    })
    exec.checkpoint_exists = true
  }
  exec.status = phaseTransition(exec.status, 'COMPLETED')
  exec.end_time = now()
  exec.duration_seconds = (Date.now() - started) / 1000
}

/** Returns why the phase may be skipped, or null when it must run. check() stays the truth. */
async function checkpointStillHolds(run: PhaseRun, sys: System): Promise<string | null> {
  const cp = await run.checkpoints.read(run.phase.name)
  if (!cp) return null
  const observed: string[] = []
  for (const step of run.steps) {
    const c = await step.check(sys)
    if (!c.done) return null
    observed.push(c.observed)
  }
  if (stateChecksum(observed) !== cp.checksum) return null
  return `checkpoint from session ${cp.session_id} still matches the machine`
}
