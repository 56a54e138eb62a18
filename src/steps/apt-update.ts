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
export async function aptSourcesFingerprint(sys: System): Promise<string> {
  const files = [SOURCES_LIST]
  if ((await sys.stat(SOURCES_DIR))?.kind === 'dir')
    for (const name of (await sys.readDir(SOURCES_DIR)).sort())
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(`${SOURCES_DIR}/${name}`)
  const parts: string[] = []
  const keyrings = new Set<string>()
  for (const f of files) {
    const text = await readText(sys, f)
    if (text === null) continue
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
      onRetry: (w) => ctx.warn(w),
      ...opts,
    })
    return undefined
  })
}
