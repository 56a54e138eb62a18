// pinnedPackage(): one package from an IDE's own apt repository, at an exact version when the
// configuration pins one (`apt-get install code=1.95.3-1731513102`), else whichever apt has. A
// pin that differs from what is installed makes the step due again; apt then moves to it.
import { dpkgQuery, isInstalled } from '../facts/packages.js'
import { aptFailure, aptInstallArgv, PACKAGE_NAME, runAptWithRetry } from './apt.js'
import { installTransaction } from './packages.js'
import type { Check, Step } from './types.js'

export function pinnedPackage(args: { id: string; name: string; version: string | null }): Step {
  if (!PACKAGE_NAME.test(args.name))
    throw new Error(`Unable to define package step: ${args.name} is not a Debian package name`)
  const target = args.version ? `${args.name}=${args.version}` : args.name
  return {
    id: args.id,
    title: `Install ${target}`,
    async check(sys): Promise<Check> {
      const state = (await dpkgQuery(sys, [args.name])).get(args.name)
      const have = isInstalled(state) ? (state?.version ?? '') : null
      const observed = `${args.name}=${have ?? '-'}`
      if (have === null) return { done: false, observed, why: `not installed: ${args.name}` }
      if (args.version && have !== args.version)
        return { done: false, observed, why: `${args.name} is ${have}, pinned to ${args.version}` }
      return { done: true, observed }
    },
    async apply(ctx) {
      const state = (await dpkgQuery(ctx.sys, [args.name])).get(args.name)
      if (!isInstalled(state)) {
        await installTransaction(ctx, [target], target, { recommends: false, fallbackUndo: [args.name] })
        return
      }
      // There already, at another version: a purge would take more than this run brought.
      const was = state?.version ?? '?'
      const lockTimeoutSeconds = ctx.cfg.aptLockTimeoutSeconds
      const argv = [...aptInstallArgv([target], { lockTimeoutSeconds }), '--allow-downgrades']
      const undo = {
        kind: 'irreversible',
        reason: `${args.name} was installed before at ${was}; the move to ${args.version} stays`,
      } as const
      await ctx.change({ actionType: 'PACKAGE_INSTALL', target, undo }, async () => {
        const r = await runAptWithRetry(ctx.sys, argv, { onLine: (l) => ctx.progress(l), lockTimeoutSeconds })
        if (r.exitCode !== 0)
          throw await aptFailure(ctx.sys, `install ${target}`, argv, r, lockTimeoutSeconds)
        return undefined
      })
    },
  }
}
