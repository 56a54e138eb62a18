// service(): a systemd unit enabled and/or running. Enabling journals disable-unit, starting
// journals stop-unit; both undos check the unit's state first. `false` asks for the opposite, with
// an argv undo that turns it back on.

import { isActive, isEnabled, unitState } from '../facts/systemd.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Undo } from '../model/undo.js'
import type { Check, Step, StepContext } from './types.js'

export interface ServiceOptions {
  id?: string
  enabled?: boolean
  running?: boolean
}

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
