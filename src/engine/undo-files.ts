// The undo kinds that put files back: restore a backup, take our marked block out, remove what we
// created. A file someone edited after we wrote it is not overwritten without --force, and then
// only after a copy was kept (guardDrift).

import { removeBlock, upsertBlock } from '../facts/marked-block.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { unpackingPath } from '../model/undo.js'
import type { System } from '../system/port.js'
import { sha256 } from '../util/hash.js'
import { skipped, type UndoOf, type UndoOptions, undone, verifiedBackup } from './undo-outcome.js'

export class DriftError extends ProvisionError {
  constructor(readonly paths: string[]) {
    super(
      `Unable to undo changes to ${paths.join(', ')}: changed since vps-provision wrote ${paths.length > 1 ? 'them' : 'it'}`,
      EXIT.rollback,
      'Check the file(s); `rollback --force` keeps a copy of each (0600, under the session backups) and then restores them.',
    )
    this.name = 'DriftError'
  }
}

/** Refuses (or, forced, keeps a copy of) a file whose content is not what the action wrote. */
async function guardDrift(sys: System, path: string, opts: UndoOptions): Promise<string> {
  if (!opts.written || !(path in opts.written)) return ''
  const data = await sys.readFile(path)
  const actual = data === null ? null : sha256(data)
  if (actual === opts.written[path]) return ''
  if (!opts.force) throw new DriftError([path])
  return data ? `; kept the edited copy at ${await opts.keepDrifted(path, data)}` : ''
}

async function removeIfPresent(sys: System, path: string, opts: UndoOptions): Promise<string | null> {
  const st = await sys.stat(path)
  if (!st) return null
  if (st.kind === 'dir')
    throw new ProvisionError(`Unable to remove ${path}: it is now a directory`, EXIT.rollback)
  const kept = await guardDrift(sys, path, opts)
  await sys.removeFile(path)
  return `removed ${path}${kept}`
}

export async function restoreFile(sys: System, undo: UndoOf<'restore-file'>, opts: UndoOptions) {
  const backup = await verifiedBackup(undo.backup, undo.sha256, undo.path, opts)
  const st = await sys.stat(undo.path)
  const current = st?.kind === 'file' ? await sys.readFile(undo.path) : null
  const asBefore = st?.mode === undo.mode && st.uid === undo.uid && st.gid === undo.gid
  if (current && sha256(current) === undo.sha256 && asBefore) return skipped(`${undo.path} already as before`)
  const kept = await guardDrift(sys, undo.path, opts)
  await sys.writeFile(undo.path, backup, { mode: undo.mode, uid: undo.uid, gid: undo.gid })
  return undone(`restored ${undo.path}${kept}`)
}

/** Only our block is ours: the lines around it (keys the user added) stay byte for byte. */
export async function restoreBlock(sys: System, undo: UndoOf<'restore-block'>) {
  const st = await sys.stat(undo.path)
  if (st?.kind !== 'file') return skipped(`${undo.path} is not a file (any more); left alone`)
  const current = (await sys.readFile(undo.path))?.toString('utf8') ?? ''
  const next =
    undo.previous === null
      ? removeBlock(current, undo.marker)
      : upsertBlock(current, undo.marker, undo.previous)
  if (next === '' && undo.removeEmptyFile) {
    await sys.removeFile(undo.path)
    return undone(`removed ${undo.path} (nothing but our block was in it)`)
  }
  if (next === current) return skipped(`${undo.path} already without our block`)
  await sys.writeFile(undo.path, next, { mode: st.mode, uid: st.uid, gid: st.gid })
  return undone(`${undo.previous === null ? 'removed' : 'put back'} our ${undo.marker} block in ${undo.path}`)
}

export async function removeFile(sys: System, undo: UndoOf<'remove-file'>, opts: UndoOptions) {
  const done = await removeIfPresent(sys, undo.path, opts)
  return done ? undone(done) : skipped(`${undo.path} already absent`)
}

export async function removeDir(sys: System, undo: UndoOf<'remove-dir'>) {
  const st = await sys.stat(undo.path)
  if (!st) return skipped(`${undo.path} already absent`)
  if (st.kind !== 'dir') return skipped(`${undo.path} is no longer a directory; left alone`)
  const entries = await sys.readDir(undo.path)
  // Someone put files there since: their data wins over our tidiness.
  if (entries.length > 0)
    return skipped(`${undo.path} is not empty (${entries.length} entries); left in place`)
  await sys.rmdir(undo.path)
  return undone(`removed directory ${undo.path}`)
}

export async function removeTree(sys: System, undo: UndoOf<'remove-tree'>) {
  const done: string[] = []
  const staging = unpackingPath(undo.path)
  if (await sys.stat(staging)) {
    await sys.exec(['rm', '-rf', '--one-file-system', '--', staging])
    done.push(`removed ${staging}`)
  }
  const st = await sys.stat(undo.path)
  if (st?.kind === 'dir') {
    if (!(await sys.stat(`${undo.path}/${undo.marker}`)))
      return skipped(`${undo.path} has no ${undo.marker}: not ours any more; left in place`)
    await sys.exec(['rm', '-rf', '--one-file-system', '--', undo.path])
    done.push(`removed ${undo.path}`)
  }
  return done.length > 0 ? undone(done.join('; ')) : skipped(`${undo.path} already absent`)
}

export async function removeAptSource(sys: System, undo: UndoOf<'remove-apt-source'>, opts: UndoOptions) {
  const done: string[] = []
  for (const path of [undo.sourcePath, undo.keyringPath]) {
    const d = path ? await removeIfPresent(sys, path, opts) : null
    if (d) done.push(d)
  }
  return done.length > 0 ? undone(done.join('; ')) : skipped(`apt source ${undo.sourcePath} already absent`)
}
