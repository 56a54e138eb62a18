// Preflight reports every problem at once, not only the first: a person fixing a VPS wants the
// whole list (too little RAM AND a taken port), each with what was measured, what is required and
// what to do. The engine stops a phase at its first failing step, so the step that fails first
// runs the remaining checks itself and raises one error that names them all. A check whose premise
// failed (the trixie mirror on a machine that is not Debian 13) is not run: "not checked because".
import { EXIT, errorMessage, ProvisionError } from '../src/model/errors.js'
import type { AssertResult } from '../src/steps/assert.js'
import type { Step, System } from '../src/steps/types.js'

export interface PreflightCheck {
  id: string
  title: string
  /** Ids of earlier checks this one presumes: when one of them did not pass, this one is not run. */
  needs?: readonly string[]
  check(sys: System): Promise<AssertResult>
}

export interface Finding {
  id: string
  title: string
  state: 'passed' | 'failed' | 'not-checked'
  /** What was measured against what is required, or why it was not checked. */
  detail: string
  /** What to do about a failure. */
  hint?: string
}

export class PreflightFailed extends ProvisionError {
  constructor(readonly findings: readonly Finding[]) {
    super(preflightMessage(findings), EXIT.preflight)
    this.name = 'PreflightFailed'
  }
}

/**
 * The first line carries every measurement (it is what one-line views show: plain logs, `status`);
 * the lines after it say what to do and what was not checked.
 */
export function preflightMessage(findings: readonly Finding[]): string {
  const failed = findings.filter((f) => f.state === 'failed')
  const notChecked = findings.filter((f) => f.state === 'not-checked')
  const lines = [
    `Unable to pass preflight: ${failed.length} of ${findings.length} checks failed: ${failed
      .map((f) => `${f.title}: ${f.detail}`)
      .join('; ')}`,
  ]
  const hints = failed.filter((f) => f.hint)
  if (hints.length > 0) lines.push('What to do:', ...hints.map((f) => `  - ${f.title}: ${f.hint}`))
  for (const f of notChecked) lines.push(`Not checked: ${f.title}, ${f.detail}`)
  return lines.join('\n')
}

export function preflightSteps(checks: readonly PreflightCheck[]): Step[] {
  const position = new Map(checks.map((c, i) => [c.id, i]))
  for (const [i, c] of checks.entries()) {
    for (const need of c.needs ?? []) {
      if ((position.get(need) ?? i) >= i)
        throw new Error(`Preflight check ${c.id} needs ${need}, which is not an earlier check`)
    }
  }
  // One evaluation per check and per build of the phase: plan and run each build their own.
  const findings = new Map<string, Promise<Finding>>()
  const findingOf = (sys: System, c: PreflightCheck): Promise<Finding> => {
    let f = findings.get(c.id)
    if (!f) {
      f = evaluate(sys, c)
      findings.set(c.id, f)
    }
    return f
  }
  const evaluate = async (sys: System, c: PreflightCheck): Promise<Finding> => {
    const base = { id: c.id, title: c.title }
    for (const need of c.needs ?? []) {
      const premise = await findingOf(sys, checks[position.get(need) as number] as PreflightCheck)
      if (premise.state !== 'passed') {
        const how = premise.state === 'failed' ? 'failed' : 'was not checked'
        return { ...base, state: 'not-checked', detail: `not checked because "${premise.title}" ${how}` }
      }
    }
    try {
      const r = await c.check(sys)
      return { ...base, state: r.ok ? 'passed' : 'failed', detail: r.detail, hint: r.hint }
    } catch (err) {
      return { ...base, state: 'failed', detail: `the check itself failed: ${errorMessage(err)}` }
    }
  }

  return checks.map((c, i) => ({
    id: c.id,
    title: c.title,
    async check(sys) {
      const f = await findingOf(sys, c)
      if (f.state === 'passed') return { done: true, observed: f.detail }
      return { done: false, observed: f.detail, why: f.detail }
    },
    // Reached only for the first check that did not pass (a not-checked one always follows a failed
    // one): run the rest too, show each, and fail with all of them.
    async apply(ctx) {
      const all: Finding[] = []
      for (const [j, other] of checks.entries()) {
        const f = await findingOf(ctx.sys, other)
        all.push(f)
        if (j >= i) ctx.progress(`${other.title}: ${STATE_WORD[f.state]}: ${f.detail}`)
      }
      throw new PreflightFailed(all)
    },
  }))
}

const STATE_WORD: Record<Finding['state'], string> = {
  passed: 'ok',
  failed: 'FAILED',
  'not-checked': 'not checked',
}
