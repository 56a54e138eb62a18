// dockerVolume(): a named Docker volume exists and is ours. We create it with two labels, ours and
// this session's, and its undo (remove-docker-volume) removes it only while it still carries both:
// a volume a person made is never touched. A volume of that name that is not ours is refused, not
// adopted (preflight says so before any change: volumeNotForeign below); its data is someone's.
import {
  isOurs,
  OUR_LABEL,
  SESSION_LABEL,
  type VolumeState,
  dockerVolume as volumeState,
} from '../facts/docker.js'
import type { AssertResult } from '../facts/verdict.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Check, Step, System } from './types.js'

const foreignHint = (name: string) =>
  `Rename it in docker.volumes, or, if the data in it may go, remove it (\`docker volume rm ${name}\`) and run again; vps-provision does not adopt a volume it did not make, as rollback would then delete its data.`

function describe(name: string, v: VolumeState): string {
  switch (v.state) {
    case 'present':
      return isOurs(v.labels)
        ? `volume ${name} ours (session ${v.labels[SESSION_LABEL] ?? '?'})`
        : `volume ${name} exists without our label`
    case 'absent':
      return `volume ${name} absent`
    case 'no-docker':
      return 'docker not installed'
    case 'unknown':
      return `docker could not say: ${v.detail}`
  }
}

/** Preflight's verdict: a configured volume may not exist already unless it is ours. */
export async function volumeNotForeign(sys: System, name: string): Promise<AssertResult> {
  const v = await volumeState(sys, name)
  if (v.state === 'present' && !isOurs(v.labels))
    return {
      ok: false,
      detail: `a Docker volume ${name} exists that vps-provision did not make (labels: ${JSON.stringify(v.labels)})`,
      hint: foreignHint(name),
    }
  // Absent, ours, or no engine (yet): the step looks again right before it creates the volume.
  return { ok: true, detail: describe(name, v) }
}

export function dockerVolume(name: string, opts: { id?: string } = {}): Step {
  return {
    id: opts.id ?? `volume.${name}`,
    title: `Docker volume ${name}`,
    async check(sys): Promise<Check> {
      const v = await volumeState(sys, name)
      const observed = describe(name, v)
      if (v.state === 'present' && isOurs(v.labels)) return { done: true, observed }
      if (v.state === 'present') return { done: false, observed, why: observed, hint: foreignHint(name) }
      return { done: false, observed, why: v.state === 'absent' ? `volume ${name} does not exist` : observed }
    },
    async apply(ctx) {
      const v = await volumeState(ctx.sys, name)
      if (v.state === 'present' && isOurs(v.labels)) return
      if (v.state === 'present')
        throw new ProvisionError(
          `Unable to create Docker volume ${name}: a volume of that name exists that vps-provision did not make`,
          EXIT.provisioning,
          foreignHint(name),
        )
      if (v.state !== 'absent')
        throw new ProvisionError(
          `Unable to create Docker volume ${name}: ${describe(name, v)}`,
          EXIT.provisioning,
          'systemctl status docker; journalctl -u docker',
        )
      const argv = ['docker', 'volume', 'create', '--label', `${OUR_LABEL}=1`]
      argv.push('--label', `${SESSION_LABEL}=${ctx.session}`, name)
      await ctx.change(
        {
          actionType: 'COMMAND_EXEC',
          target: `docker volume ${name}`,
          undo: { kind: 'remove-docker-volume', volume: name, session: ctx.session },
        },
        async () => {
          await ctx.sys.exec(argv)
          return undefined
        },
      )
    },
  }
}
