// Docker (docs/workspaces.md#docker): Debian's docker.io and docker-compose, published ports on
// loopback, every developer in the docker group (root-equivalent: documented), and the named
// volumes of docker.volumes, labelled as ours so rollback removes exactly those.
import { developers } from '../../src/config/developers.js'
import { DAEMON_JSON } from '../../src/facts/docker.js'
import { dockerDaemonJson } from '../../src/steps/docker-daemon-json.js'
import { dockerEngine } from '../../src/steps/docker-engine.js'
import { dockerVolume, volumeNotForeign } from '../../src/steps/docker-volume.js'
import { group, membership, restartOnChange, service } from '../../src/steps/index.js'
import { ownedBy } from '../../src/steps/phase.js'
import type { PreflightCheck } from '../../src/steps/premised-checks.js'
import type { PhaseInput, Step } from '../../src/steps/types.js'

export function dockerSteps({ cfg }: PhaseInput): Step[] {
  const d = cfg.docker
  if (!d.enabled) return []
  return [
    // Before the packages: docker.io's postinst then finds the group and leaves it, and rollback,
    // newest first, purges the engine and then deletes the group (its postrm leaves it behind).
    group({ id: 'docker-group', name: 'docker', system: true }),
    dockerEngine({ id: 'docker-packages' }),
    ...(d.publishOnLoopback
      ? [
          dockerDaemonJson({ id: 'docker-daemon-json' }),
          restartOnChange({ id: 'docker-restart', unit: 'docker', how: 'restart', watch: [DAEMON_JSON] }),
        ]
      : []),
    service('docker', { id: 'docker-service', enabled: true, running: true }),
    // Made for each developer: `user remove NAME` takes their membership back out.
    ...developers(cfg).flatMap((dev) =>
      ownedBy(dev.name, [membership(dev.name, 'docker', { id: `docker-member.${dev.name}` })]),
    ),
    ...d.volumes.map((name) => dockerVolume(name, { id: `docker-volume.${name}` })),
  ]
}

/** For preflight: a configured volume that exists and is not ours stops the run before any change. */
export function dockerPreflight({ cfg }: Pick<PhaseInput, 'cfg'>): PreflightCheck[] {
  if (!cfg.docker.enabled) return []
  return cfg.docker.volumes.map((name) => ({
    id: `docker-volume-${name}`,
    title: `Docker volume ${name} is not someone else's`,
    check: (sys) => volumeNotForeign(sys, name),
  }))
}
