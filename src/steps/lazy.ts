// Some steps can only be built once the machine has reached a state an earlier step creates: a
// file owned by the developer user needs that user's uid and home. `lazy` resolves the real step
// at check/apply time from what the machine says then, under an id and title fixed up front.

import { type PasswdEntry, passwdEntry } from '../facts/accounts.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { System } from '../system/port.js'
import type { Step } from './types.js'

/**
 * The built step; or why it cannot be built yet (shown by `plan`, fails `apply`); or why this
 * machine needs nothing from it (root has no SSH keys to copy).
 */
export type Resolved = Step | { waitingFor: string } | { nothingToDo: string }

export function lazy(id: string, title: string, resolve: (sys: System) => Promise<Resolved>): Step {
  return {
    id,
    title,
    async check(sys) {
      const step = await resolve(sys)
      if ('nothingToDo' in step) return { done: true, observed: step.nothingToDo }
      if ('waitingFor' in step)
        return { done: false, observed: `waiting: ${step.waitingFor}`, why: step.waitingFor }
      return step.check(sys)
    },
    async apply(ctx) {
      const step = await resolve(ctx.sys)
      if ('nothingToDo' in step) return
      if ('waitingFor' in step) {
        throw new ProvisionError(`Unable to ${title.toLowerCase()}: ${step.waitingFor}`, EXIT.provisioning)
      }
      await step.apply(ctx)
    },
  }
}

/** A step about the developer user's own files: built from their passwd entry. */
export function forUser(
  id: string,
  title: string,
  username: string,
  build: (u: PasswdEntry) => Resolved | Promise<Resolved>,
): Step {
  return lazy(id, title, async (sys) => {
    const entry = await passwdEntry(sys, username)
    return entry ? build(entry) : { waitingFor: `user ${username} does not exist yet` }
  })
}

/** Several steps shown as one (e.g. one firewall rule per port sshd listens on). */
export function allOf(id: string, title: string, steps: readonly Step[]): Step {
  return {
    id,
    title,
    async check(sys) {
      const checks = await Promise.all(steps.map((s) => s.check(sys)))
      const pending = checks.filter((c) => !c.done)
      return {
        done: pending.length === 0,
        observed: checks.map((c) => c.observed).join('\n'),
        why: pending.map((c) => c.why).join('; '),
      }
    },
    async apply(ctx) {
      for (const s of steps) if (!(await s.check(ctx.sys)).done) await s.apply(ctx)
    },
  }
}

/** Steps the runner may run while the steps before them work (see Step.background). */
export function inBackground(steps: readonly Step[]): Step[] {
  return steps.map((s) => ({ ...s, background: true }))
}

/** Runs every task at once and waits for all of them; then raises the first failure, if any. */
export async function settleAll<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks.map((task) => task()))
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
  return results.map((r) => (r as PromiseFulfilledResult<T>).value)
}
