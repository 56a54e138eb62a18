// assert(): a read-only verification. check() is the whole step, and says what to do when it
// fails; in a read-only phase the runner only checks. Elsewhere (rdp-config's port), apply() never
// changes anything: it re-checks and, still failing, raises VerificationFailed with the hint.

import type { AssertResult } from '../facts/verdict.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { System } from '../system/port.js'
import type { Step } from './types.js'

export type { AssertResult }

export class VerificationFailed extends ProvisionError {
  constructor(
    readonly what: string,
    readonly detail: string,
    hint?: string,
  ) {
    super(`Unable to verify ${what}: ${detail}`, EXIT.verification, hint)
    this.name = 'VerificationFailed'
  }
}

export interface AssertArgs {
  id: string
  title: string
  check: (sys: System) => Promise<AssertResult>
  /** What it saw is worth telling when it passes too (`verify` prints it: the certificate's fingerprint). */
  tell?: boolean
}

export function assert(args: AssertArgs): Step {
  return {
    id: args.id,
    title: args.title,
    ...(args.tell ? { tell: true } : {}),
    async check(sys) {
      const r = await args.check(sys)
      return r.ok
        ? { done: true, observed: r.detail }
        : { done: false, observed: r.detail, why: r.detail, hint: r.hint }
    },
    async apply(ctx) {
      const r = await args.check(ctx.sys)
      if (!r.ok) throw new VerificationFailed(args.title, r.detail, r.hint)
    },
  }
}
