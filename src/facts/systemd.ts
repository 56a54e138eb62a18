// What systemd says about a unit: enabled and active states, and which of them count as on.
import type { System } from '../system/port.js'

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
