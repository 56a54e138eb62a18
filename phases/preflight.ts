// preflight: read-only checks that the machine can be provisioned. Every check runs (one whose
// premise failed is listed as not checked); any failure stops the run with exit 1 before a single
// change, listing each failure with what was measured, what is required and what to do.

import { developers } from '../src/config/developers.js'
import type { Config } from '../src/config/schema.js'
import { suppliedKeyPair } from '../src/facts/certificate.js'
import { rdpPortAvailable } from '../src/facts/port-holder.js'
import * as check from '../src/facts/requirements.js'
import { ideSources, retryIde, withoutBuildFor } from '../src/ides.js'
import { definePhase } from '../src/steps/phase.js'
import { type PreflightCheck, preflightSteps } from '../src/steps/premised-checks.js'
import type { Facts, System } from '../src/steps/types.js'
import { codeServerPreflight } from './workspaces/code-server-checks.js'
import { dockerPreflight } from './workspaces/docker.js'
import { repoCredentialChecks } from './workspaces/repos.js'

export const preflight = definePhase({
  name: 'preflight',
  title: 'Preflight checks',
  weight: 1,
  retryPart: retryIde,
  readOnly: true,
  steps: ({ cfg, facts, createdUsers }) => {
    // One request to the mirror per build: the mirror check and the clock check read its answer.
    const mirror = check.mirrorProbe(cfg.aptMirror ?? null)
    return preflightSteps([
      { id: 'root', title: 'Running as root', check: check.runningAsRoot },
      { id: 'os', title: 'Debian 13 (trixie)', check: check.debian13 },
      {
        id: 'arch',
        title: 'CPU architecture',
        check: async () => check.architecture(facts, withoutBuildFor(cfg, facts.architecture)),
      },
      { id: 'memory', title: 'Memory', check: check.memory },
      { id: 'disk-root', title: 'Free disk on /', check: (sys) => check.freeDisk(sys, '/') },
      { id: 'disk-var', title: 'Free disk on /var', check: (sys) => check.freeDisk(sys, '/var') },
      { id: 'cloud-init', title: 'cloud-init finished', check: check.cloudInitFinished },
      {
        id: 'mirror',
        title: 'Debian mirror reachable',
        // Its sources and suite are trixie's: on another release the answer would mislead.
        needs: ['os'],
        check: (sys) => check.mirrorReachable(sys, mirror),
      },
      {
        id: 'clock',
        title: "Clock agrees with the mirror's",
        needs: ['mirror'],
        check: (sys) => check.clock(sys, mirror, facts),
      },
      {
        id: 'rdp-port',
        title: `Port ${cfg.rdp.port} free for RDP`,
        check: (sys) => rdpPortAvailable(sys, cfg.rdp.port),
      },
      // Before any change: a pair that xrdp could not use would leave RDP dead after the run.
      ...(cfg.rdp.certificate && cfg.rdp.key
        ? [
            {
              id: 'rdp-certificate',
              title: 'Your RDP certificate and key',
              check: (sys: System) =>
                suppliedKeyPair(sys, cfg.rdp.certificate as string, cfg.rdp.key as string),
            },
          ]
        : []),
      ...developerChecks(cfg, createdUsers),
      ...partChecks(cfg, facts),
      ...repoCredentialChecks(cfg),
    ])
  },
})

/** Each developer's name, and the files the configuration points at for them, before any change. */
function developerChecks(cfg: Config, createdUsers: readonly string[]) {
  return developers(cfg).flatMap((dev, i) => [
    {
      id: i === 0 ? 'username' : `username.${dev.name}`,
      title: `Developer user ${dev.name}`,
      check: (sys: System) =>
        check.usernameUsable(sys, { username: dev.name, reuseUser: cfg.reuseUser }, createdUsers),
    },
    ...(dev.passwordFile === null
      ? []
      : [
          {
            id: `password-file.${dev.name}`,
            title: `Password file of ${dev.name}`,
            check: (sys: System) =>
              check.secretFileUsable(sys, dev.passwordFile as string, `password of ${dev.name}`),
          },
        ]),
    ...(dev.sshKeysFile === null
      ? []
      : [
          {
            id: `keys-file.${dev.name}`,
            title: `SSH keys file of ${dev.name}`,
            check: (sys: System) => check.keysFileUsable(sys, dev.sshKeysFile as string),
          },
        ]),
  ])
}

/**
 * Each IDE's sources, each alone (one that does not answer leaves its IDE out, not the run), a volume of
 * docker.volumes that a person made, refused before any change (not adopted), and code-server's.
 */
function partChecks(cfg: Config, facts: Facts): PreflightCheck[] {
  return [
    ...dockerPreflight({ cfg }),
    ...ideSources(cfg, facts.architecture).map((source, i) => ({
      id: `source-${source.ide}-${i}`,
      title: `${source.ide} ${source.what} reachable`,
      part: source.ide,
      // Like the mirror's: on a machine preflight refuses anyway, asking vendors is time lost.
      needs: ['os'],
      check: (sys: System) => check.sourceReachable(sys, source.url),
    })),
    ...codeServerPreflight(cfg, facts),
  ]
}
