// The purge of a package transaction, then what its maintainer scripts took that was there before:
// every path of the transaction's /etc record that is missing now is put back as it was (kind,
// mode, owner, symlink target, bytes). Only missing paths: one that is still there is someone's,
// and the purge already removed what the packages brought. Runs after a skipped purge too, so a
// rollback killed between the two finishes the job when resumed.
import { EXIT, ProvisionError } from '../model/errors.js'
import { contentBackupName, type RecordedPath, TreeRecord, type TreeRecordRef } from '../model/undo.js'
import { CommandError, type System } from '../system/port.js'
import { type UndoOf, type UndoOptions, type UndoOutcome, undone, verifiedBackup } from './undo-outcome.js'
import { purgePackages } from './undo-system.js'

export async function purgeAndRestore(
  sys: System,
  undo: UndoOf<'purge-packages'>,
  opts: UndoOptions,
): Promise<UndoOutcome> {
  const purged = await purgePackages(sys, undo, opts)
  if (!undo.restoreMissing) return purged // journaled before records were kept
  const restored = await restoreMissing(sys, undo.restoreMissing, opts)
  if (restored.length === 0) return purged
  const shown =
    restored.length > 5
      ? `${restored.slice(0, 5).join(', ')} and ${restored.length - 5} more`
      : restored.join(', ')
  return undone(`${purged.detail}; put back ${shown}`)
}

/** Puts back the paths of the record that are missing now; returns them. */
export async function restoreMissing(sys: System, ref: TreeRecordRef, opts: UndoOptions): Promise<string[]> {
  const record = TreeRecord.parse(
    JSON.parse((await verifiedBackup(ref.record, ref.sha256, ref.root, opts)).toString('utf8')),
  )
  const restored: string[] = []
  // Parents come first in a record, so a directory is back before what was in it.
  for (const entry of record.paths) {
    if (await sys.stat(entry.path)) continue
    await restorePath(sys, entry, opts)
    restored.push(entry.path)
  }
  return restored
}

type RecordedSymlink = Extract<RecordedPath, { kind: 'symlink' }>

async function restorePath(sys: System, entry: RecordedPath, opts: UndoOptions): Promise<void> {
  const { path, uid, gid } = entry
  switch (entry.kind) {
    case 'dir':
      return sys.mkdir(path, { mode: entry.mode, uid, gid })
    case 'file': {
      const data = await verifiedBackup(contentBackupName(entry.sha256), entry.sha256, path, opts)
      return sys.writeFile(path, data, { mode: entry.mode, uid, gid })
    }
    case 'symlink':
      return restoreSymlink(sys, entry)
  }
}

export async function restoreSymlink(sys: System, entry: RecordedSymlink): Promise<void> {
  const { path, target, uid, gid } = entry
  const hint = `Put it back by hand: ln -s -- '${target}' ${path} && chown -h ${uid}:${gid} ${path}`
  for (const argv of [
    ['ln', '-s', '--', target, path],
    ['chown', '-h', '--', `${uid}:${gid}`, path],
  ]) {
    const r = await sys.exec(argv, { allowFailure: true })
    if (r.exitCode !== 0)
      throw new ProvisionError(
        `Unable to restore ${path}: ${new CommandError(argv, r).message}`,
        EXIT.rollback,
        hint,
      )
  }
}
