// aptUpdate(): ONE `apt-get update` after every source is in place. A stamp records a hash of the
// sources and the keyrings they name, so a re-run with unchanged sources does nothing and adding a
// source (or rotating a key) makes the update due again.

import { readText } from '../facts/files.js'
import type { System } from '../system/port.js'
import { sha256 } from '../util/hash.js'
import { type AptOptions, aptGetUpdate, type RetryPolicy } from './apt.js'
import { CACHE_DIR, ensureDir, writeJournaled } from './common.js'
import type { Check, Step, StepContext } from './types.js'

export const APT_UPDATE_STAMP = `${CACHE_DIR}/apt-update.stamp`
const SOURCES_LIST = '/etc/apt/sources.list'
const SOURCES_DIR = '/etc/apt/sources.list.d'

/** Keyring paths named by deb822 `Signed-By:` fields and one-line `[signed-by=...]` options. */
export function signedByPaths(text: string): string[] {
  const paths = new Set<string>()
  for (const m of text.matchAll(/^Signed-By:[ \t]*(\/\S+)[ \t]*$/gim)) if (m[1]) paths.add(m[1])
  for (const m of text.matchAll(/signed-by=(\/[^\s\]]+)/gi)) if (m[1]) paths.add(m[1])
  return [...paths]
}

/** sha256 over every active sources file and every keyring they reference, in a stable order. */
export async function aptSourcesFingerprint(
  sys: System,
  only?: readonly string[],
  without?: string,
): Promise<string> {
  const files = only ? [...only] : [SOURCES_LIST]
  if (!only && (await sys.stat(SOURCES_DIR))?.kind === 'dir')
    for (const name of (await sys.readDir(SOURCES_DIR)).sort())
      if ((name.endsWith('.list') || name.endsWith('.sources')) && `${SOURCES_DIR}/${name}` !== without)
        files.push(`${SOURCES_DIR}/${name}`)
  const parts: string[] = []
  const keyrings = new Set<string>()
  for (const f of files) {
    const text = await readText(sys, f)
    // Empty names no source: unattended-upgrade (python-apt) leaves an empty sources.list where
    // there was none, and apt reads it as it reads no file at all.
    if (text === null || text.trim() === '') continue
    parts.push(`${f}\0${sha256(text)}`)
    for (const k of signedByPaths(text)) keyrings.add(k)
  }
  for (const k of [...keyrings].sort()) {
    const data = await sys.readFile(k)
    parts.push(`${k}\0${data ? sha256(data) : 'absent'}`)
  }
  return sha256(parts.join('\n'))
}

export function aptUpdate(opts: { id?: string; retry?: Partial<RetryPolicy> } = {}): Step {
  return {
    id: opts.id ?? 'apt-update',
    title: 'Refresh apt package lists',
    async check(sys): Promise<Check> {
      const fingerprint = await aptSourcesFingerprint(sys)
      const stamp = (await readText(sys, APT_UPDATE_STAMP))?.trim() ?? null
      // Done is all there is to observe: the fingerprint also covers sources that later phases add,
      // and must not make this phase's checkpoint look stale once they have.
      if (stamp === fingerprint) return { done: true, observed: 'apt lists up to date' }
      const observed = `apt sources ${fingerprint}`
      const why =
        stamp === null
          ? 'apt-get update has not run yet'
          : 'apt sources changed since the last apt-get update'
      return { done: false, observed, why }
    },
    async apply(ctx) {
      const fingerprint = await aptSourcesFingerprint(ctx.sys)
      await refreshPackageLists(ctx, { retry: opts.retry })
      await ensureDir(ctx, CACHE_DIR)
      await writeJournaled(ctx, APT_UPDATE_STAMP, `${fingerprint}\n`, { mode: 0o644, uid: 0, gid: 0 })
    },
  }
}

/**
 * `apt-get update` of ONE source file (an IDE's repository): a vendor that is down, unsigned or
 * signed with another key fails this IDE alone, and nothing else is fetched again. `--error-on=any`
 * makes a failed download an error (plain apt-get update only warns and keeps stale lists). The
 * other lists stay (List-Cleanup off), and when they were up to date before, the whole-machine
 * stamp is moved on, so system-prep's update is not due again on the next run.
 */
export function sourceUpdate(opts: { id: string; name: string; sourcePath: string }): Step {
  const stamp = `${CACHE_DIR}/apt-update-${opts.name}.stamp`
  const fingerprintOf = (sys: System) => aptSourcesFingerprint(sys, [opts.sourcePath])
  return {
    id: opts.id,
    title: `Refresh the package list of ${opts.sourcePath}`,
    async check(sys): Promise<Check> {
      const fingerprint = await fingerprintOf(sys)
      if ((await readText(sys, stamp))?.trim() === fingerprint)
        return { done: true, observed: `${opts.name} list up to date` }
      return {
        done: false,
        observed: `${opts.name} ${fingerprint}`,
        why: `${opts.sourcePath} not fetched yet`,
      }
    },
    async apply(ctx) {
      const { sys } = ctx
      const fingerprint = await fingerprintOf(sys)
      const allBefore = (await readText(sys, APT_UPDATE_STAMP))?.trim()
      const othersFresh =
        allBefore !== undefined &&
        allBefore === (await aptSourcesFingerprint(sys, undefined, opts.sourcePath))
      const undo = { kind: 'irreversible', reason: 'apt package lists are a cache' } as const
      const argv = [
        '-o',
        `Dir::Etc::SourceList=${opts.sourcePath}`,
        '-o',
        'Dir::Etc::SourceParts=/nonexistent',
        '-o',
        'APT::Get::List-Cleanup=false',
        'update',
        '--error-on=any',
      ]
      await ctx.change(
        { actionType: 'COMMAND_EXEC', target: `apt-get update (${opts.sourcePath})`, undo },
        async () => {
          await aptGetUpdate(sys, {
            lockTimeoutSeconds: ctx.cfg.aptLockTimeoutSeconds,
            onLine: (l) => ctx.progress(l),
            onRetry: (w) => ctx.retried(w),
            args: argv,
            what: `refresh the package list of ${opts.sourcePath}`,
          })
          return undefined
        },
      )
      await ensureDir(ctx, CACHE_DIR)
      await writeJournaled(ctx, stamp, `${fingerprint}\n`, { mode: 0o644, uid: 0, gid: 0 })
      if (othersFresh)
        await writeJournaled(ctx, APT_UPDATE_STAMP, `${await aptSourcesFingerprint(sys)}\n`, {
          mode: 0o644,
          uid: 0,
          gid: 0,
        })
    },
  }
}

/** `apt-get update` as one journaled change: the lists are a cache, so there is nothing to undo. */
export async function refreshPackageLists(ctx: StepContext, opts: AptOptions): Promise<void> {
  const undo = {
    kind: 'irreversible',
    reason: 'apt package lists are a cache, refreshed by every apt-get update',
  } as const
  await ctx.change({ actionType: 'COMMAND_EXEC', target: 'apt-get update', undo }, async () => {
    await aptGetUpdate(ctx.sys, {
      lockTimeoutSeconds: ctx.cfg.aptLockTimeoutSeconds,
      onLine: (l) => ctx.progress(l),
      onRetry: (w) => ctx.retried(w),
      ...opts,
    })
    return undefined
  })
}
