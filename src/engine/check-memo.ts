// Each step's check runs once per run: what the checkpoint test (or the warm-up at the start of a
// re-run) saw is what the walk through the steps uses, until an apply, which may change what any
// check would see. Checks are pure queries, so several run at once.
import type { Check, Step } from '../steps/types.js'
import type { System } from '../system/port.js'
import { limited } from '../util/limited.js'

/** Checks running at once. */
export const PARALLEL_CHECKS = 8

export class CheckMemo {
  private readonly seen = new Map<Step, Promise<Check>>()
  private readonly slot = limited(PARALLEL_CHECKS)

  constructor(private readonly sys: System) {}

  of(step: Step): Promise<Check> {
    const known = this.seen.get(step)
    if (known) return known
    const c = this.slot(() => step.check(this.sys))
    this.seen.set(step, c)
    // A failed check is asked again next time rather than remembered as an error.
    c.catch(() => this.seen.get(step) === c && this.seen.delete(step))
    return c
  }

  /** Starts the checks of `steps` without waiting: a re-run then finds most answers ready. */
  warm(steps: readonly Step[]): void {
    for (const step of steps) this.of(step).catch(() => undefined)
  }

  /** An apply is about to change the machine: from now on every check asks the machine again. */
  applying(): void {
    this.seen.clear()
  }
}
