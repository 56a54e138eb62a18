// guardSsh(): lock-out insurance for a change of how SSH is reached (the sshd drop-in, enabling ufw),
// in the style of Debian's iptables-apply or a router's "commit confirmed". In an interactive run the
// change is bracketed by two steps: `arm` schedules a systemd transient timer first (so it fires
// even if this process is killed), and `confirm` waits after the change until the person confirms
// from a NEW SSH connection (`vps-provision confirm`, which stops the timer) or the timer fires and
// `vps-provision revert-pending` undoes the change. The run waits: it does not build on access it
// cannot prove. The bracketed steps are one part (Step.part) of their phase: when the timer reverts,
// that part fails, the runner records its undo in the journal, and the run goes on without it
// ("partly done"; the next run tries again). Unattended runs (no guard) get the steps unchanged.
import { isActive, unitState } from '../facts/systemd.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { System } from '../system/port.js'
import type { SshGuard, Step, StepContext } from './types.js'

/** The timer's service: its revert may still be running after the timer itself went inactive. */
const serviceOf = (timer: string) => timer.replace(/\.timer$/, '.service')

async function pending(sys: System, timer: string): Promise<boolean> {
  for (const unit of [timer, serviceOf(timer)]) {
    if (isActive((await unitState(sys, unit)).active)) return true
  }
  return false
}

const clock = (d: Date) => d.toISOString().slice(11, 19)

/**
 * `part` names the bracketed change (`ssh-settings`, `firewall`); `what` says it in words. The steps
 * keep their ids, so a run with a guard and one without share their checkpoints' steps.
 */
export function guardSsh(part: string, what: string, guard: SshGuard | null, steps: Step[]): Step[] {
  if (guard === null || steps.length === 0) return steps
  const inner = steps.map(
    (s): Step => ({ ...s, part, check: (sys) => s.check(sys), apply: (ctx) => s.apply(ctx) }),
  )
  const arm: Step = {
    id: `${part}.arm-revert`,
    title: `Arm a ${guard.seconds} s revert timer before changing ${what}`,
    part,
    async check(sys) {
      // Armed already (a resumed phase), or nothing to change: no timer.
      if (await pending(sys, guard.timer)) return { done: true, observed: `${what}: revert timer armed` }
      for (const s of steps) {
        const c = await s.check(sys)
        if (!c.done)
          return {
            done: false,
            observed: `${what}: ${s.id} changes it`,
            why: `${s.id}: ${c.why ?? 'not done'}`,
          }
      }
      return { done: true, observed: `${what}: nothing to change` }
    },
    async apply(ctx) {
      const deadline = new Date(Date.now() + guard.seconds * 1000)
      await ctx.change(
        {
          actionType: 'SERVICE_START',
          target: `revert timer ${guard.timer} (${guard.seconds} s)`,
          // Rollback (or this part's undo) stops the timer, so nothing reverts behind it later.
          undo: { kind: 'stop-unit', unit: guard.timer },
        },
        async () => {
          await guard.armed(deadline)
          const r = await ctx.sys.exec(guard.armArgv, { timeoutMs: 60_000 })
          return { output: r.stdout.trim() }
        },
      )
    },
  }
  const confirm: Step = {
    id: `${part}.confirmed`,
    title: `Wait until the change of ${what} is confirmed from a new SSH connection`,
    part,
    async check(sys) {
      return (await pending(sys, guard.timer))
        ? { done: false, observed: `${what}: waiting`, why: `${guard.timer} is counting down` }
        : { done: true, observed: `${what}: no revert pending` }
    },
    apply: (ctx) => waitForConfirmation(ctx, guard, what),
  }
  return [arm, ...inner, confirm]
}

async function waitForConfirmation(ctx: StepContext, guard: SshGuard, what: string): Promise<void> {
  const deadline = new Date(Date.now() + guard.seconds * 1000)
  ctx.warn(
    `${what} changed. Check that SSH still works: open a NEW SSH connection to this machine and run \`sudo vps-provision confirm\` within ${guard.seconds} s (before ${clock(deadline)} UTC). Otherwise the change is undone and the run goes on without it.`,
  )
  // A stop (SIGTERM) finishes this action like any other: at most `seconds` more. A kill leaves the
  // timer to revert on its own.
  while (await pending(ctx.sys, guard.timer)) {
    await new Promise((resolve) => setTimeout(resolve, guard.pollMs))
  }
  const outcome = await guard.outcome()
  if (outcome === 'reverted')
    throw new ProvisionError(
      `Not confirmed within ${guard.seconds} s: the change of ${what} was undone by ${guard.timer}`,
      EXIT.provisioning,
      'Run again and confirm from a new SSH connection with `sudo vps-provision confirm`, or raise ssh.confirmTimeoutSeconds',
    )
  if (outcome === 'confirmed') ctx.log(`Confirmed from a new SSH connection: ${what} stays.`)
}
