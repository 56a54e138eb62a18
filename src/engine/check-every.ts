// Collect-every-failure mode, for read-only phases and `verify`: every check runs once, in order,
// and the phase fails once with the list, not at the first failed check. A check that throws is a
// failure of its own.
import { errorMessage } from '../model/errors.js'
import type { PhaseName } from '../model/schemas.js'
import { ChecksFailed, type Finding, findingOf } from '../steps/checks-failed.js'
import type { Check, Step } from '../steps/types.js'
import type { CheckMemo } from './check-memo.js'

export interface CheckWatcher {
  start?(step: Step): void
  /** `failedYet`: this check or an earlier one did not pass. */
  end?(step: Step, finding: Finding, failedYet: boolean): void
}

/** The findings, and the error naming every failed check (null when all passed). */
export async function checkEvery(
  phase: PhaseName,
  steps: readonly Step[],
  checks: CheckMemo,
  watch: CheckWatcher = {},
): Promise<ChecksFailed | null> {
  const findings: Finding[] = []
  // All asked at once (pure queries, the memo runs a few at a time), told in order.
  const answers = steps.map((step) =>
    checks
      .of(step)
      .catch(
        (err): Check => ({ done: false, observed: '', why: `the check itself failed: ${errorMessage(err)}` }),
      ),
  )
  for (const [i, step] of steps.entries()) {
    watch.start?.(step)
    const c = (await answers[i]) as Check
    const finding = findingOf(step, c)
    findings.push(finding)
    watch.end?.(
      step,
      finding,
      findings.some((f) => f.state !== 'passed'),
    )
  }
  if (findings.every((f) => f.state === 'passed')) return null
  return new ChecksFailed(phase, findings)
}
