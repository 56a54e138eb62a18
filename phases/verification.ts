// verification: read-only proof that the workstation works: xrdp and sesman active, the RDP port
// listening, xrdp's certificate and key in place (key for root and xrdp only), the user with its
// groups and passwordless sudo, and every IDE verified as the developer user. Every check runs;
// any failure exits 4 listing each failed check and what to do.
import { developers } from '../src/config/developers.js'
import { inGroups, passwordlessSudo } from '../src/facts/developer-access.js'
import { xrdpListening } from '../src/facts/port-holder.js'
import { unitActive } from '../src/facts/systemd.js'
import { xrdpTlsInPlace } from '../src/facts/xrdp-tls.js'
import { ideSpec, ideWorks, retryIde } from '../src/ides.js'
import { assert } from '../src/steps/index.js'
import { definePhase } from '../src/steps/phase.js'
import { XRDP_CERT, XRDP_INI, XRDP_KEY } from './rdp-config.js'
import { groupsFor } from './user-creation.js'

const RUNNING = [
  ['xrdp-active', 'xrdp'],
  ['sesman-active', 'xrdp-sesman'],
] as const

export const verification = definePhase({
  name: 'verification',
  title: 'Verification',
  weight: 1,
  readOnly: true,
  needsSystemd: true,
  steps: ({ cfg, facts }) => {
    const name = cfg.username
    return [
      ...RUNNING.map(([id, unit]) =>
        assert({ id, title: `${unit} is running`, check: (sys) => unitActive(sys, unit) }),
      ),
      assert({
        id: 'rdp-listening',
        title: `RDP port ${cfg.rdp.port} is listening`,
        check: (sys) => xrdpListening(sys, cfg.rdp.port),
      }),
      assert({
        id: 'xrdp-tls',
        title: "xrdp's certificate and key are in place, the key readable by root and xrdp only",
        tell: true,
        check: (sys) =>
          xrdpTlsInPlace(
            sys,
            XRDP_INI,
            `ls -l ${XRDP_CERT} ${XRDP_KEY}; vps-provision run --only rdp-config`,
          ),
      }),
      ...developers(cfg).flatMap((dev, i) => {
        const id = (base: string) => (i === 0 ? base : `${base}.${dev.name}`)
        const groups = groupsFor(dev)
        return [
          assert({
            id: id('user'),
            title: `User ${dev.name} with groups ${groups.join(', ')}`,
            check: (sys) => inGroups(sys, dev.name, groups),
          }),
          ...(dev.sudo
            ? [
                assert({
                  id: id('sudo'),
                  title: `Passwordless sudo for ${dev.name}`,
                  check: (sys) => passwordlessSudo(sys, dev.name),
                }),
              ]
            : []),
        ]
      }),
      ...cfg.ides.map((id) => ({
        ...assert({
          id: `ide-${id}`,
          title: `${id} works for ${name}`,
          check: (sys) => ideWorks(sys, ideSpec(id, cfg, facts.architecture), name, retryIde(id)),
        }),
        // Not checked again when the IDE failed and was undone earlier in this run.
        part: id,
      })),
    ]
  },
})
