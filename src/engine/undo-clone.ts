// The undo of a clone (remove-clone): a developer's repository is theirs to work in, so rollback
// removes it only while everything in it is on its remote. Local work (changed or untracked files,
// commits on no remote branch, stashes) refuses the rollback before anything is undone, like a
// drifted file, naming each directory; --force first keeps the whole clone in a root-owned 0600
// tarball under ARCHIVE_DIR, then removes it. git and rm run as the developer (facts/git.ts says
// why git must not run as root there; rm as them can only remove what they could).
import { dirname } from 'node:path'
import { passwdEntry } from '../facts/accounts.js'
import { cloneOrigin, localWork } from '../facts/git.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Undo } from '../model/undo.js'
import { CommandError, type System } from '../system/port.js'
import { skipped, type UndoOf, type UndoOptions, undone } from './undo-outcome.js'

/** On the managed machine, root's and 0700: a clone's local work kept by `rollback --force`. */
export const ARCHIVE_DIR = '/var/backups/vps-provision/clones'

/** What stands in the way: the clone is still there and still a clone, as the user who made it. */
async function presentClone(sys: System, undo: UndoOf<'remove-clone'>): Promise<string | null> {
  const st = await sys.stat(undo.path)
  if (!st) return `${undo.path} is already absent`
  if (st.kind !== 'dir') return `${undo.path} is no longer a directory; left alone`
  if (!(await passwdEntry(sys, undo.user)))
    return `user ${undo.user} no longer exists; ${undo.path} left alone`
  if ((await cloneOrigin(sys, undo.user, undo.path)) === null)
    return `${undo.path} is no longer a git clone; left alone`
  return null
}

/**
 * Every clone a rollback would remove that holds local work, as "path (what)", before anything is
 * undone: rollback-guards.ts refuses on them unless --force.
 */
export async function clonesWithLocalWork(sys: System, undos: readonly Undo[]): Promise<string[]> {
  const found: string[] = []
  for (const u of undos) {
    if (u.kind !== 'remove-clone' || (await presentClone(sys, u)) !== null) continue
    const work = await localWork(sys, u.user, u.path)
    if (work.length > 0) found.push(`${u.path} (${work.join(', ')})`)
  }
  return found
}

export async function removeClone(sys: System, undo: UndoOf<'remove-clone'>, opts: UndoOptions) {
  const absent = await presentClone(sys, undo)
  if (absent) return skipped(absent)
  const work = await localWork(sys, undo.user, undo.path)
  if (work.length > 0 && !opts.force)
    throw new ProvisionError(
      `Unable to remove the clone ${undo.path}: it has ${work.join(', ')}`,
      EXIT.rollback,
      `Push or save that work (as ${undo.user}), or pass --force to keep the clone in a 0600 tarball under ${ARCHIVE_DIR} first`,
    )
  const archive = work.length > 0 ? await archiveClone(sys, undo.path) : null
  const rm = ['runuser', '-u', undo.user, '--', 'rm', '-rf', '--one-file-system', '--', undo.path]
  const r = await sys.exec(rm, { allowFailure: true })
  if (r.exitCode !== 0)
    throw new ProvisionError(
      `Unable to remove the clone ${undo.path}: ${new CommandError(rm, r).message}`,
      EXIT.rollback,
      archive ? `Its content is kept in ${archive}` : undefined,
    )
  return undone(
    `removed the clone ${undo.path}${archive ? `; its local work (${work.join(', ')}) is kept in ${archive}` : ''}`,
  )
}

/** The whole clone, .git included, as root: a tarball no one else can read. Returns its path. */
async function archiveClone(sys: System, path: string): Promise<string> {
  await sys.mkdir(ARCHIVE_DIR, { mode: 0o700, uid: 0, gid: 0 })
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')
  const dest = `${ARCHIVE_DIR}/${stamp}${path.replaceAll('/', '_')}.tar.gz`
  const name = path.slice(dirname(path).length + 1)
  const tar = ['tar', '--create', '--gzip', '--file', dest, '--directory', dirname(path), '--', name]
  const r = await sys.exec(tar, { allowFailure: true, timeoutMs: 30 * 60_000 })
  if (r.exitCode !== 0) {
    await sys.removeFile(dest)
    throw new ProvisionError(
      `Unable to archive the clone ${path}: ${new CommandError(tar, r).message}`,
      EXIT.rollback,
      'Nothing was removed; free space under /var/backups or save the clone by hand',
    )
  }
  await sys.exec(['chmod', '0600', dest])
  return dest
}
