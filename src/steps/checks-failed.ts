// What a read-only phase (preflight, verification) reports: every check, not only the first that
// failed. A person fixing a VPS wants the whole list (too little RAM AND a taken port), each with
// what was measured, what is required and what to do.
import { EXIT, ProvisionError } from '../model/errors.js'
import type { PhaseName } from '../model/schemas.js'
import type { Check, Step } from './types.js'

export interface Finding {
  id: string
  title: string
  state: 'passed' | 'failed' | 'not-checked'
  /** What was measured against what is required, or why it was not checked. */
  detail: string
  /** What to do about a failure. */
  hint?: string
}

export function findingOf(step: Step, c: Check): Finding {
  const base = { id: step.id, title: step.title }
  if (c.done) return { ...base, state: 'passed', detail: c.observed }
  const detail = c.why ?? c.observed
  if (c.notChecked) return { ...base, state: 'not-checked', detail }
  return { ...base, state: 'failed', detail, ...(c.hint ? { hint: c.hint } : {}) }
}

export const STATE_WORD: Record<Finding['state'], string> = {
  passed: 'ok',
  failed: 'FAILED',
  'not-checked': 'not checked',
}

/** Exits 1 in preflight (nothing was changed yet), 4 in verification (docs/exit-codes.md). */
export class ChecksFailed extends ProvisionError {
  constructor(
    readonly phase: PhaseName,
    readonly findings: readonly Finding[],
  ) {
    super(checksFailedMessage(phase, findings), phase === 'preflight' ? EXIT.preflight : EXIT.verification)
    this.name = 'ChecksFailed'
  }
}

/**
 * The first line carries every measurement (it is what one-line views show: plain logs, `status`);
 * the lines after it say what to do and what was not checked.
 */
export function checksFailedMessage(phase: string, findings: readonly Finding[]): string {
  const failed = findings.filter((f) => f.state === 'failed')
  const notChecked = findings.filter((f) => f.state === 'not-checked')
  const lines = [
    `Unable to pass ${phase}: ${failed.length} of ${findings.length} checks failed: ${failed
      .map((f) => `${f.title}: ${f.detail}`)
      .join('; ')}`,
  ]
  const hints = failed.filter((f) => f.hint)
  if (hints.length > 0) lines.push('What to do:', ...hints.map((f) => `  - ${f.title}: ${f.hint}`))
  for (const f of notChecked) lines.push(`Not checked: ${f.title}, ${f.detail}`)
  return lines.join('\n')
}
