// dockerEngine(): Debian's Docker engine, CLI and Compose in one apt transaction (packages()), plus,
// when this run installed docker.io, a journaled keep-docker-data after it: rollback reaches that
// just before it purges the engine, and keeps /var/lib/docker when a person's volumes, images or
// containers are in it (Debian's purge would delete them; src/engine/undo-docker.ts). Before the
// install it journals the directories containerd makes in /etc, which no package owns.
import { dpkgQuery, isInstalled } from '../facts/packages.js'
import { packages } from './packages.js'
import type { Step } from './types.js'

/**
 * containerd makes these when it first starts and no package owns them, so the purge leaves them:
 * journaled before the install (when absent), rollback removes each after the purge if it is empty.
 */
const ENGINE_DIRS = ['/etc/cni', '/etc/cni/net.d']

/** docker-cli is the `docker` command: docker.io only recommends it, and we install no Recommends. */
export const DOCKER_PACKAGES = ['docker.io', 'docker-cli', 'docker-compose'] as const

export function dockerEngine(opts: { id?: string } = {}): Step {
  const inner = packages(DOCKER_PACKAGES, opts.id ? { id: opts.id } : {})
  return {
    ...inner,
    async apply(ctx) {
      const had = isInstalled((await dpkgQuery(ctx.sys, ['docker.io'])).get('docker.io'))
      for (const dir of had ? [] : ENGINE_DIRS) {
        if (await ctx.sys.stat(dir)) continue
        const undo = { kind: 'remove-dir', path: dir } as const
        // Nothing changes now: containerd makes the directory when it starts.
        await ctx.change(
          { actionType: 'FILE_CREATE', target: `${dir} (containerd makes it)`, undo },
          async () => undefined,
        )
      }
      await inner.apply(ctx)
      if (had) return
      await ctx.change(
        {
          actionType: 'COMMAND_EXEC',
          target: "/var/lib/docker: what a person makes there outlives docker.io's purge",
          undo: { kind: 'keep-docker-data', session: ctx.session },
        },
        // Nothing changes now: the undo is the point (it runs before the purge, newest first).
        async () => undefined,
      )
    },
  }
}
