// preflight: read-only checks that the machine can be provisioned. Any failure stops the run with
// exit 1 before a single change, printing what was measured against what is required.
import { definePhase } from '../src/engine/phase.js'
import * as check from '../src/preflight/checks.js'
import { rdpPortAvailable } from '../src/preflight/port-holder.js'
import { assert } from '../src/steps/index.js'

export const preflight = definePhase({
  name: 'preflight',
  title: 'Preflight checks',
  weight: 1,
  readOnly: true,
  steps: ({ cfg, facts, createdUsers }) => [
    assert({ id: 'root', title: 'Running as root', check: check.runningAsRoot }),
    assert({ id: 'os', title: 'Debian 13 (trixie)', check: check.debian13 }),
    assert({ id: 'arch', title: 'CPU architecture', check: async () => check.architecture(facts, cfg) }),
    assert({ id: 'memory', title: 'Memory', check: check.memory }),
    assert({ id: 'disk-root', title: 'Free disk on /', check: (sys) => check.freeDisk(sys, '/') }),
    assert({ id: 'disk-var', title: 'Free disk on /var', check: (sys) => check.freeDisk(sys, '/var') }),
    assert({ id: 'cloud-init', title: 'cloud-init finished', check: check.cloudInitFinished }),
    assert({
      id: 'mirror',
      title: 'Debian mirror reachable',
      check: (sys) => check.mirrorReachable(sys, cfg),
    }),
    assert({
      id: 'rdp-port',
      title: `Port ${cfg.rdp.port} free for RDP`,
      check: (sys) => rdpPortAvailable(sys, cfg.rdp.port),
    }),
    assert({
      id: 'username',
      title: `Developer user ${cfg.username}`,
      check: (sys) => check.usernameUsable(sys, cfg, createdUsers),
    }),
  ],
})
