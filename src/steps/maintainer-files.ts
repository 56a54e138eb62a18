// What a package transaction's maintainer scripts write outside their packages becomes part of its
// undo (facts/maintainer-files.ts says where we look and why). Write-ahead like every change: the
// change is journaled before dpkg starts, its undo names the record of the watched places as they
// were, and its `done` lists exactly the paths the transaction created, changed or removed there
// that no package owns, so rollback undoes only those (undo-maintainer.ts). Right after, a vendor
// source for a repository one of our source files already names is removed (keepOurSources).
import { dirname } from 'node:path'
import {
  type AptSourceEntry,
  isManagedSource,
  parseAptSources,
  sharedRepositories,
} from '../facts/apt-sources.js'
import { readText } from '../facts/files.js'
import {
  digestOf,
  isUnder,
  type PathChange,
  snapshotRoots,
  unownedChanges,
  WATCHED_ROOTS,
} from '../facts/maintainer-files.js'
import type { RecordedPath, TreeBackup, TreeRecordRef, Undo } from '../model/undo.js'
import type { StepContext } from './types.js'

const SOURCES_DIR = '/etc/apt/sources.list.d'

export interface WatchedBefore {
  refs: TreeRecordRef[]
  paths: Map<string, RecordedPath>
}

/**
 * The watched places before the transaction: those under /etc from the /etc record the
 * transaction keeps anyway, the others (/usr/share/keyrings) recorded beside it.
 */
export async function recordWatched(ctx: StepContext, etc: Promise<TreeBackup>): Promise<WatchedBefore> {
  const outside = WATCHED_ROOTS.filter((r) => !isUnder(r, ['/etc']))
  const records = await Promise.all([
    etc,
    ...outside.map(async (r) => ((await ctx.sys.stat(r))?.kind === 'dir' ? ctx.backupTree(r) : null)),
  ])
  const kept = records.filter((r) => r !== null)
  const paths = kept.flatMap((r) => r.paths).filter((p) => isUnder(p.path, WATCHED_ROOTS))
  return { refs: kept.map((r) => r.ref), paths: new Map(paths.map((p) => [p.path, p])) }
}

/**
 * Runs `install` (the dpkg transaction) inside the change that journals what its maintainer
 * scripts write. A failed transaction may have run some postinsts: their files are listed all the
 * same, so this change is `done` even then, and the failure is thrown after it.
 */
export async function withMaintainerFiles(
  ctx: StepContext,
  before: WatchedBefore,
  label: string,
  install: () => Promise<void>,
): Promise<void> {
  const outcome: { error?: unknown } = {}
  let changes: PathChange[] = []
  const undo: Undo = { kind: 'remove-maintainer-files', roots: [...WATCHED_ROOTS], before: before.refs }
  await ctx.change(
    { actionType: 'FILE_MODIFY', target: `maintainer scripts of ${label}`, undo },
    async () => {
      try {
        await install()
      } catch (error) {
        outcome.error = error
      }
      try {
        changes = await unownedChanges(ctx.sys, before.paths, await snapshotRoots(ctx.sys, WATCHED_ROOTS))
      } catch (error) {
        // Unlisted (failed), rollback treats it as in doubt; dpkg's own failure says more.
        throw 'error' in outcome ? outcome.error : error
      }
      // A symlink's entry is its target hashed (digestOf), a removed path's null.
      const files = Object.fromEntries(changes.map((c) => [c.path, digestOf(c.after)]))
      return { files, output: describe(changes) }
    },
  )
  await keepOurSources(ctx, changes)
  if ('error' in outcome) throw outcome.error
}

function describe(changes: readonly PathChange[]): string {
  if (changes.length === 0) return 'the maintainer scripts wrote nothing outside their packages'
  const shown = changes.map((c) => `${c.before ? (c.after ? 'changed' : 'removed') : 'added'} ${c.path}`)
  return `owned by no package: ${shown.join(', ')}`.slice(0, 2000)
}

/**
 * Two source files for one repository with different Signed-By values stop `apt-get update`. Ours
 * stays: it is journaled, names the configured URI (a mirror or proxy, maybe) and the keyring we
 * fetched and checked; a source file the transaction added for a repository ours names goes,
 * journaled (its undo puts it back), with a warning that names it.
 */
export async function keepOurSources(ctx: StepContext, changes: readonly PathChange[]): Promise<void> {
  const added = changes.filter(
    (c) => !c.before && c.after?.kind === 'file' && dirname(c.path) === SOURCES_DIR,
  )
  if (added.length === 0) return
  const ours = new Map<string, AptSourceEntry[]>()
  for (const name of await ctx.sys.readDir(SOURCES_DIR)) {
    const path = `${SOURCES_DIR}/${name}`
    const text = await readText(ctx.sys, path)
    if (text !== null && isManagedSource(text)) ours.set(path, parseAptSources(name, text))
  }
  for (const { path } of added) {
    const text = await readText(ctx.sys, path)
    if (text === null || isManagedSource(text)) continue
    const theirs = parseAptSources(path, text)
    const match = [...ours].find(([, entries]) => sharedRepositories(theirs, entries).length > 0)
    if (!match) continue
    const [ourPath, entries] = match
    const undo = await ctx.backup(path)
    await ctx.change({ actionType: 'FILE_MODIFY', target: path, undo }, async () => {
      await ctx.sys.removeFile(path)
      return { files: { [path]: null }, output: `removed: ${ourPath} names the same repository` }
    })
    ctx.warn(
      `Removed ${path}, which a package's maintainer script added: it names ${sharedRepositories(theirs, entries).join(', ')} like ${ourPath}, and two Signed-By values for one repository stop apt-get update. ${ourPath} stays (the configured URI, the key vps-provision checked).`,
    )
  }
}
