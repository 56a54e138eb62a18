// packages(): Debian packages installed in ONE apt transaction. The undo is the exact set apt says
// it will newly install (simulated first), so rollback purges our dependencies too but never a
// package that was there before. A maintainer script may remove more than its package owns (locales'
// postrm takes /etc/default/locale, which systemd made): /etc is recorded before the install, and the
// undo puts back what the purge removed of it. What the maintainer scripts write that no package
// owns (a vendor's apt source and keyring) is journaled as a change of its own (maintainer-files.ts).

import { dpkgQuery, isInstalled } from '../facts/packages.js'
import type { Undo } from '../model/undo.js'
import type { System } from '../system/port.js'
import {
  aptFailure,
  aptInstallArgv,
  finishInterruptedDpkg,
  missingPackages,
  PACKAGE_NAME,
  type RetryPolicy,
  runAptWithRetry,
} from './apt.js'
import { refreshPackageLists } from './apt-update.js'
import { installableCount, joinableSteps, splitSimulations } from './joined-install.js'
import { recordWatched, withMaintainerFiles } from './maintainer-files.js'
import type { Check, Step, StepContext } from './types.js'

export interface PackagesOptions {
  /** Local step id; default `packages.<first>+<n>`. */
  id?: string
  /** Install Recommends too (default false: ~6x fewer packages on trixie). */
  recommends?: boolean
  /** May be installed by an earlier package step's transaction (joined-install.ts). */
  joinsEarlier?: boolean
  retry?: Partial<RetryPolicy>
}

export function packages(names: readonly string[], opts: PackagesOptions = {}): Step {
  if (names.length === 0) throw new Error('Unable to define packages step: no package names given')
  const bad = names.filter((n) => !PACKAGE_NAME.test(n))
  if (bad.length > 0)
    throw new Error(`Unable to define packages step: not a Debian package name: ${bad.join(', ')}`)
  const id = opts.id ?? `packages.${names.length === 1 ? names[0] : `${names[0]}+${names.length - 1}`}`
  return {
    id,
    title: `Install ${names.join(', ')}`,
    packages: names,
    joinsEarlier: opts.joinsEarlier ?? false,
    check: (sys) => checkInstalled(sys, names),
    async apply(ctx) {
      const state = await dpkgQuery(ctx.sys, names)
      const missing = names.filter((n) => !isInstalled(state.get(n)))
      if (missing.length === 0) return
      await installTransaction(ctx, missing, missing.join(' '), {
        recommends: opts.recommends ?? false,
        retry: opts.retry,
        fallbackUndo: missing,
        join: !(opts.recommends ?? false),
      })
    },
  }
}

export async function checkInstalled(sys: System, names: readonly string[]): Promise<Check> {
  const state = await dpkgQuery(sys, names)
  const missing = names.filter((n) => !isInstalled(state.get(n)))
  const observed = names
    .map((n) => `${n}=${isInstalled(state.get(n)) ? state.get(n)?.version : '-'}`)
    .join('\n')
  return {
    done: missing.length === 0,
    observed,
    ...(missing.length > 0 ? { why: `not installed: ${missing.join(', ')}` } : {}),
  }
}

/**
 * Simulates, journals the purge of exactly what the simulation says will be new, then installs.
 * `targets` are apt arguments: package names or a local .deb path. With `join`, later steps that
 * allow it are installed in the same transaction, each journaled as its own change (joined-install.ts).
 */
export async function installTransaction(
  ctx: StepContext,
  targets: readonly string[],
  label: string,
  opts: {
    recommends: boolean
    retry?: Partial<RetryPolicy>
    fallbackUndo: readonly string[]
    join?: boolean
  },
): Promise<void> {
  const lockTimeoutSeconds = ctx.cfg.aptLockTimeoutSeconds
  const aptOpts = { retry: opts.retry, onRetry: (why: string) => ctx.retried(why), lockTimeoutSeconds }
  const simulateArgv = (t: readonly string[]) =>
    aptInstallArgv(t, { recommends: opts.recommends, simulate: true, lockTimeoutSeconds })
  await finishInterruptedDpkg(ctx.sys, (text) => ctx.warn(text))
  let sim = await runAptWithRetry(ctx.sys, simulateArgv(targets), aptOpts)
  if (sim.exitCode !== 0 && missingPackages(sim).length > 0) {
    // A source added earlier in this run may not be in the package lists yet: refresh once.
    await refreshPackageLists(ctx, aptOpts)
    sim = await runAptWithRetry(ctx.sys, simulateArgv(targets), aptOpts)
  }
  if (sim.exitCode !== 0)
    throw await aptFailure(ctx.sys, `install ${label}`, simulateArgv(targets), sim, lockTimeoutSeconds)
  // Then the joining steps' simulations and the record of /etc side by side: none takes the dpkg
  // lock, and one after another they were seconds of a run in which dpkg waited.
  const candidates = opts.join ? await joinableSteps(ctx) : []
  const sets = candidates.map((_, i) => [...targets, ...candidates.slice(0, i + 1).flatMap((c) => c.missing)])
  const etc = ctx.backupTree('/etc')
  const [more, watched] = await Promise.all([
    Promise.all(sets.map((t) => ctx.sys.exec(simulateArgv(t), { allowFailure: true }))),
    recordWatched(ctx, etc),
  ])
  const restoreMissing = (await etc).ref
  const joining = candidates.slice(0, installableCount([sim, ...more]))
  const { own, parts } = splitSimulations([sim, ...more.slice(0, joining.length)], joining)
  // Nothing new per apt (e.g. only config files were left): purging the named packages is exact.
  const undoSet = own.length > 0 ? own : [...opts.fallbackUndo]
  const purge = (packages: readonly string[]): Undo => ({
    kind: 'purge-packages',
    packages: [...packages],
    restoreMissing,
  })

  const all = [...targets, ...joining.flatMap((j) => j.missing)]
  const argv = aptInstallArgv(all, { recommends: opts.recommends, lockTimeoutSeconds })
  const install = async () => {
    const r = await runAptWithRetry(ctx.sys, argv, { ...aptOpts, onLine: (l: string) => ctx.progress(l) })
    if (r.exitCode !== 0) throw await aptFailure(ctx.sys, `install ${label}`, argv, r, lockTimeoutSeconds)
  }
  // Outermost this step's change, then each joining step's, innermost what the maintainer scripts
  // write: all `begin`s are durable before dpkg starts, and each gets its `done` (or `failed`) when
  // the one transaction ends. Rollback, newest first, removes the scripts' files before the purge.
  const journaled = parts.reduceRight<() => Promise<void>>(
    (inner, part) => () =>
      ctx.change(
        {
          actionType: 'PACKAGE_INSTALL',
          target: part.missing.join(' '),
          undo: purge(part.adds),
          for: { phase: part.phase, step: part.step },
        },
        async () => {
          await inner()
          return { output: newlyInstalled(part.adds, `with ${ctx.place.step}'s transaction`) }
        },
      ),
    () => withMaintainerFiles(ctx, watched, label, install),
  )
  await ctx.change({ actionType: 'PACKAGE_INSTALL', target: label, undo: purge(undoSet) }, async () => {
    await journaled()
    return { output: newlyInstalled(own) }
  })
}

function newlyInstalled(names: readonly string[], note = ''): string {
  return `${names.length} newly installed${note ? ` ${note}` : ''}: ${names.join(' ')}`.slice(0, 2000)
}
