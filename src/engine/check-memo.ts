// Each step's check runs once per phase and run: what the checkpoint test saw is what the walk
// through the steps uses, until the first apply, which may change what any check would see.
import type { Check, Step } from '../steps/types.js'
import type { System } from '../system/port.js'

export class CheckMemo {
  private readonly seen = new Map<Step, Check>()
  private stale = false

  constructor(private readonly sys: System) {}

  async of(step: Step): Promise<Check> {
    const known = this.seen.get(step)
    if (known) return known
    const c = await step.check(this.sys)
    // A check that was running while an apply began may have seen either side of it.
    if (!this.stale) this.seen.set(step, c)
    return c
  }

  /** An apply is about to change the machine: from now on every check asks the machine again. */
  applying(): void {
    this.stale = true
    this.seen.clear()
  }
}
