// service(): a systemd unit enabled and/or running. Enabling journals disable-unit, starting
// journals stop-unit; both undos check the unit's state first. `false` asks for the opposite, with
// an argv undo that turns it back on.
import { EXIT, ProvisionError } from '../engine/errors.js'
import type { Check, Step, StepContext } from '../engine/types.js'
import type { Undo } from '../engine/undo.js'
import type { System } from '../system/port.js'

export interface ServiceOptions {
  id?: string
  enabled?: boolean
  running?: boolean
}

/** States in which `systemctl enable` has nothing (more) to do. */
const ENABLED = new Set(['enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated'])
const ACTIVE = new Set(['active', 'activating', 'reloading'])

export async function unitState(sys: System, unit: string): Promise<{ enabled: string; active: string }> {
  const en = await sys.exec(['systemctl', 'is-enabled', unit], { allowFailure: true })
  const ac = await sys.exec(['systemctl', 'is-active', unit], { allowFailure: true })
  return { enabled: en.stdout.trim() || 'not-found', active: ac.stdout.trim() || 'unknown' }
}

export const isEnabled = (state: string) => ENABLED.has(state)
export const isActive = (state: string) => ACTIVE.has(state)

export function service(unit: string, opts: ServiceOptions): Step {
  const wants = (s: { enabled: string; active: string }) => {
    const problems: string[] = []
    if (opts.enabled !== undefined && isEnabled(s.enabled) !== opts.enabled) problems.push(`is ${s.enabled}`)
    if (opts.running !== undefined && isActive(s.active) !== opts.running) problems.push(`is ${s.active}`)
    return problems
  }
  return {
    id: opts.id ?? `service.${unit}`,
    title: `Service ${unit}`,
    async check(sys): Promise<Check> {
      const s = await unitState(sys, unit)
      const observed = `${unit} ${s.enabled} ${s.active}`
      const problems = wants(s)
      return problems.length === 0
        ? { done: true, observed }
        : { done: false, observed, why: `${unit} ${problems.join(', ')}` }
    },
    async apply(ctx) {
      const s = await unitState(ctx.sys, unit)
      if (s.enabled === 'masked' && (opts.enabled || opts.running))
        throw new ProvisionError(
          `Unable to start ${unit}: the unit is masked`,
          EXIT.provisioning,
          `Someone masked it on purpose; \`systemctl unmask ${unit}\` if it should run.`,
        )
      if (s.enabled === 'not-found')
        throw new ProvisionError(
          `Unable to manage ${unit}: no such unit`,
          EXIT.provisioning,
          'Install the package that ships it first.',
        )
      if (opts.enabled !== undefined && isEnabled(s.enabled) !== opts.enabled)
        await systemctl(ctx, opts.enabled ? 'enable' : 'disable', unit, 'SERVICE_ENABLE')
      if (opts.running !== undefined && isActive(s.active) !== opts.running)
        await systemctl(ctx, opts.running ? 'start' : 'stop', unit, 'SERVICE_START')
    },
  }
}

async function systemctl(
  ctx: StepContext,
  verb: 'enable' | 'disable' | 'start' | 'stop',
  unit: string,
  actionType: 'SERVICE_ENABLE' | 'SERVICE_START',
) {
  const undo: Undo =
    verb === 'enable'
      ? { kind: 'disable-unit', unit }
      : verb === 'start'
        ? { kind: 'stop-unit', unit }
        : {
            kind: 'argv',
            argv: ['systemctl', verb === 'disable' ? 'enable' : 'start', unit],
            allowFailure: true,
          }
  await ctx.change({ actionType, target: `${verb} ${unit}`, undo }, async () => {
    await ctx.sys.exec(['systemctl', verb, unit])
    return undefined
  })
}
