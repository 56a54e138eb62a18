// ufw rules and activation. Rules are added before ufw is enabled, and the SSH rule names the port
// sshd really listens on, so enabling the firewall can never cut off the session we run in.

import type { System } from '../system/port.js'
import { command } from './command.js'
import type { Step } from './types.js'

/** The rules ufw has (even while inactive), as `ufw show added` prints them: "ufw allow 22/tcp". */
async function addedRules(sys: System): Promise<string[]> {
  const r = await sys.exec(['ufw', 'show', 'added'], { allowFailure: true })
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('ufw '))
}

export function ufwAllow(port: number, why: string): Step {
  const rule = `${port}/tcp`
  return command({
    id: `firewall.allow-${port}`,
    title: `Allow ${why} (${rule}) through the firewall`,
    argv: ['ufw', 'allow', rule],
    undo: ['ufw', 'delete', 'allow', rule],
    undoAllowFailure: true,
    check: async (sys) => {
      const rules = await addedRules(sys)
      const done = rules.includes(`ufw allow ${rule}`)
      return { done, observed: `ufw allow ${rule}: ${done}`, why: `no ufw rule allows ${rule}` }
    },
  })
}

export function ufwEnabled(): Step {
  return command({
    id: 'firewall.enable',
    title: 'Enable the firewall (ufw)',
    argv: ['ufw', '--force', 'enable'],
    // Only reached when ufw was inactive before: disabling it again restores exactly that.
    undo: ['ufw', 'disable'],
    undoAllowFailure: true,
    check: async (sys) => {
      const r = await sys.exec(['ufw', 'status'], { allowFailure: true })
      const active = /^Status: active/m.test(r.stdout)
      return { done: active, observed: `ufw active: ${active}`, why: 'ufw is inactive' }
    },
  })
}
