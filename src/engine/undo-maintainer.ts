// The undo of what a package transaction's maintainer scripts wrote outside their packages in the
// watched places (steps/maintainer-files.ts journals it, innermost, so rollback newest first runs
// it before the transaction's purge).
//
// Done: the action lists exactly the paths the transaction created, changed or removed. Each is
// judged like every file undo: one whose content is no longer what the transaction left is
// someone's edit, refused without --force (which keeps a copy first). A created path is removed, a
// changed or removed one put back from the record taken before the transaction.
//
// In doubt (killed between `begin` and `done`, most likely while dpkg ran): there is no list. What
// differs under the watched places from the record taken before and no package owns is a
// candidate, but so is a file someone made after the crash. A candidate is undone only when its
// modification time is no later than `inDoubtUntil`, a moment a later record proves the transaction
// was over by (its session's next journal record, a later run's start). Without such a record,
// or for a file modified after it, it is left in place and named (with --force: removed or put
// back, a copy kept first). A path that existed before and is gone now is put back: that loses
// nothing of anyone's.
import { dirname } from 'node:path'
import { changedPaths, digestOf, isUnder, ownedPaths, snapshotRoots } from '../facts/maintainer-files.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { contentBackupName, type RecordedPath, TreeRecord } from '../model/undo.js'
import type { System } from '../system/port.js'
import { DriftError } from './undo-files.js'
import {
  type BackupReader,
  skipped,
  type UndoOf,
  type UndoOptions,
  type UndoOutcome,
  undone,
  verifiedBackup,
} from './undo-outcome.js'
import { restoreSymlink } from './undo-restore.js'

type MaintainerUndo = UndoOf<'remove-maintainer-files'>
type Paths = Map<string, RecordedPath>

/** A watched root itself, or a path in one. */
const inPlaces = (path: string, roots: readonly string[]) => roots.includes(path) || isUnder(path, roots)

/** The watched places as the records taken before the transaction hold them. */
export async function recordedBefore(undo: MaintainerUndo, opts: BackupReader): Promise<Paths> {
  const out: Paths = new Map()
  for (const ref of undo.before) {
    const data = await verifiedBackup(ref.record, ref.sha256, ref.root, opts)
    for (const p of TreeRecord.parse(JSON.parse(data.toString('utf8'))).paths)
      if (inPlaces(p.path, undo.roots)) out.set(p.path, p)
  }
  return out
}

/**
 * For rollback's list of drifted files before anything is undone: each listed path's digest now
 * (`current`, from the caller's view of later undos) against what the transaction left, and what
 * the path will hold after this undo. Without `backups` what it held before is not known (null).
 */
export async function plannedMaintainerUndo(
  sys: System,
  undo: MaintainerUndo,
  written: Record<string, string | null>,
  backups: BackupReader | null,
): Promise<{ path: string; now: string | null; wrote: string | null; before: string | null | undefined }[]> {
  const before = backups ? await recordedBefore(undo, backups) : null
  const now = await snapshotRoots(sys, undo.roots)
  return Object.entries(written)
    .filter(([path]) => isUnder(path, undo.roots))
    .map(([path, wrote]) => ({
      path,
      now: digestOf(now.get(path)),
      wrote,
      before: before ? digestOf(before.get(path)) : undefined,
    }))
}

export async function removeMaintainerFiles(
  sys: System,
  undo: MaintainerUndo,
  opts: UndoOptions,
): Promise<UndoOutcome> {
  const before = await recordedBefore(undo, opts)
  const now = await snapshotRoots(sys, undo.roots)
  const done: string[] = []
  const left: string[] = []
  if (opts.written) {
    for (const [path, wrote] of Object.entries(opts.written)) {
      const prior = before.get(path)
      const current = now.get(path)
      if (!isUnder(path, undo.roots) || digestOf(current) === digestOf(prior)) continue
      const kept = current && digestOf(current) !== wrote ? await refuseOrKeep(sys, path, current, opts) : ''
      done.push(`${await putBack(sys, path, prior, current, before, undo, opts)}${kept}`)
    }
  } else {
    // Only where a record says what was there before: elsewhere everything would look new.
    const recorded = undo.before.map((r) => r.root)
    const candidates = changedPaths(before, now).filter(
      (c) => isUnder(c.path, undo.roots) && isUnder(c.path, recorded),
    )
    const owned = await ownedPaths(
      sys,
      candidates.filter((c) => c.after).map((c) => c.path),
    )
    for (const { path, before: prior, after: current } of candidates) {
      if (owned.has(path)) continue
      let kept = ''
      if (current && !(await modifiedBy(sys, path, opts.inDoubtUntil ?? null))) {
        if (!opts.force) {
          left.push(path)
          continue
        }
        kept = `; kept a copy at ${await opts.keepDrifted(path, await bytesOf(sys, path, current))}`
      }
      done.push(`${await putBack(sys, path, prior, current, before, undo, opts)}${kept}`)
    }
  }
  return outcome(done, left)
}

function outcome(done: string[], left: string[]): UndoOutcome {
  const parts = [...(done.length > 0 ? [shortList(done)] : [])]
  if (left.length > 0)
    parts.push(
      `left in place, in doubt: ${shortList(left)} (the run was killed before it listed what the maintainer scripts wrote, and no later record shows these predate that; remove them by hand if a package's script wrote them)`,
    )
  if (done.length === 0)
    return skipped(parts[0] ?? 'nothing the maintainer scripts wrote is left outside their packages')
  return undone(parts.join('; '))
}

const shortList = (items: readonly string[]) =>
  items.length > 8 ? `${items.slice(0, 8).join(', ')} and ${items.length - 8} more` : items.join(', ')

/** Modified no later than `until`: the transaction's, not a later hand's. Unknown counts as later. */
async function modifiedBy(sys: System, path: string, until: number | null): Promise<boolean> {
  if (until === null) return false
  const mtime = (await sys.stat(path))?.mtimeMs
  return mtime !== undefined && mtime <= until
}

async function bytesOf(sys: System, path: string, p: RecordedPath): Promise<Buffer> {
  if (p.kind === 'symlink') return Buffer.from(`symbolic link to ${p.target}\n`)
  return (await sys.readFile(path)) ?? Buffer.alloc(0)
}

/** Content that is no longer what the transaction left: refused, or (forced) a copy kept first. */
async function refuseOrKeep(sys: System, path: string, current: RecordedPath, opts: UndoOptions) {
  if (!opts.force) throw new DriftError([path])
  return `; kept the edited copy at ${await opts.keepDrifted(path, await bytesOf(sys, path, current))}`
}

/** Makes `path` what it was before the transaction: absent, or the recorded file or symlink. */
async function putBack(
  sys: System,
  path: string,
  prior: RecordedPath | undefined,
  current: RecordedPath | undefined,
  before: Paths,
  undo: MaintainerUndo,
  opts: BackupReader,
): Promise<string> {
  if (current?.kind === 'dir' || prior?.kind === 'dir')
    throw new ProvisionError(`Unable to undo ${path}: a directory is in the way`, EXIT.rollback)
  // A file is replaced atomically; a symlink, or a file where a symlink was, goes first.
  if (current && (current.kind === 'symlink' || prior?.kind !== 'file')) await sys.removeFile(path)
  if (!prior) {
    await removeEmptyParents(sys, path, before, undo)
    return `removed ${path}`
  }
  for (const dir of missingParents(path, before, undo.roots)) {
    if (!(await sys.stat(dir.path))) await sys.mkdir(dir.path, { mode: dir.mode, uid: dir.uid, gid: dir.gid })
  }
  if (prior.kind === 'symlink') await restoreSymlink(sys, prior)
  else {
    const data = await verifiedBackup(contentBackupName(prior.sha256), prior.sha256, path, opts)
    await sys.writeFile(path, data, { mode: prior.mode, uid: prior.uid, gid: prior.gid })
  }
  return `put back ${path}`
}

/** The recorded directories from a watched root down to `path`'s parent, outermost first. */
function missingParents(path: string, before: Paths, roots: readonly string[]) {
  const dirs: Extract<RecordedPath, { kind: 'dir' }>[] = []
  for (let d = dirname(path); inPlaces(d, roots); d = dirname(d)) {
    const rec = before.get(d)
    if (rec?.kind === 'dir') dirs.unshift(rec)
  }
  return dirs
}

/**
 * Directories the transaction made to hold what was removed (a watched root too: /etc/cron.d
 * where cron was never installed) go as well, once empty. Only where a record says they were not
 * there before.
 */
async function removeEmptyParents(sys: System, path: string, before: Paths, undo: MaintainerUndo) {
  const recorded = undo.before.map((r) => r.root)
  for (let d = dirname(path); inPlaces(d, undo.roots) && isUnder(d, recorded); d = dirname(d)) {
    if (before.has(d)) return
    if ((await sys.stat(d))?.kind !== 'dir' || (await sys.readDir(d)).length > 0) return
    await sys.rmdir(d)
  }
}
