// What systemd says about a unit: enabled and active states, which of them count as on, and the
// verdict verification gives a unit that must be running.
import type { System } from '../system/port.js'
import type { AssertResult } from './verdict.js'

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

/** Running right now (`active`, not activating), with where to look when it is not. */
export async function unitActive(sys: System, unit: string): Promise<AssertResult> {
  const r = await sys.exec(['systemctl', 'is-active', unit], { allowFailure: true })
  const state = r.stdout.trim() || 'unknown'
  return {
    ok: state === 'active',
    detail: `${unit} is ${state}`,
    hint: `systemctl status ${unit}; journalctl -u ${unit}`,
  }
}
