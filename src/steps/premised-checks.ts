// preflightSteps(): read-only steps from verdict functions, each of which may presume earlier ones.
// The runner runs every one and lists every failure (src/engine/check-every.ts); a check whose
// premise failed (the trixie mirror on a machine that is not Debian 13) is not run, and says so:
// "not checked because".
import { errorMessage } from '../model/errors.js'
import type { AssertResult } from './assert.js'
import { ChecksFailed, type Finding } from './checks-failed.js'
import type { Check, Step, System } from './types.js'

export interface PreflightCheck {
  id: string
  title: string
  /** Ids of earlier checks this one presumes: when one of them did not pass, this one is not run. */
  needs?: readonly string[]
  /** Its failure fails only this part of the run (an IDE's source), not the whole preflight. */
  part?: string
  check(sys: System): Promise<AssertResult>
}

type Verdict = Omit<Finding, 'id' | 'title'>

export function preflightSteps(checks: readonly PreflightCheck[]): Step[] {
  const position = new Map(checks.map((c, i) => [c.id, i]))
  for (const [i, c] of checks.entries()) {
    for (const need of c.needs ?? []) {
      if ((position.get(need) ?? i) >= i)
        throw new Error(`Preflight check ${c.id} needs ${need}, which is not an earlier check`)
    }
  }
  // One evaluation per check and per build of the phase: plan and run each build their own, and a
  // premise is asked by the checks that need it.
  const verdicts = new Map<string, Promise<Verdict>>()
  const verdictOf = (sys: System, c: PreflightCheck): Promise<Verdict> => {
    const known = verdicts.get(c.id) ?? evaluate(sys, c)
    verdicts.set(c.id, known)
    return known
  }
  const evaluate = async (sys: System, c: PreflightCheck): Promise<Verdict> => {
    for (const need of c.needs ?? []) {
      const premise = checks[position.get(need) as number] as PreflightCheck
      const { state } = await verdictOf(sys, premise)
      if (state !== 'passed') {
        const how = state === 'failed' ? 'failed' : 'was not checked'
        return { state: 'not-checked', detail: `not checked because "${premise.title}" ${how}` }
      }
    }
    try {
      const r = await c.check(sys)
      return { state: r.ok ? 'passed' : 'failed', detail: r.detail, hint: r.hint }
    } catch (err) {
      return { state: 'failed', detail: `the check itself failed: ${errorMessage(err)}` }
    }
  }
  return checks.map((c) => ({
    id: c.id,
    title: c.title,
    ...(c.part ? { part: c.part } : {}),
    check: async (sys) => asCheck(await verdictOf(sys, c)),
    // The runner never applies a read-only phase's steps; anywhere else, a failed check just fails.
    async apply(ctx) {
      const v = await verdictOf(ctx.sys, c)
      throw new ChecksFailed('preflight', [{ id: c.id, title: c.title, ...v }])
    },
  }))
}

function asCheck(v: Verdict): Check {
  if (v.state === 'passed') return { done: true, observed: v.detail }
  return {
    done: false,
    observed: v.detail,
    why: v.detail,
    hint: v.hint,
    notChecked: v.state === 'not-checked',
  }
}
