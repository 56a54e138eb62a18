// Undo is data, not a shell string. Each kind below is one allow-listed operation; the executor in
// undo-executor.ts dispatches on `kind` with an exhaustive switch. Every kind must be safe to run
// when the forward change never happened ("in doubt" after a crash): it checks before it acts.
import { z } from 'zod'
import { SESSION_ID_PATTERN } from './ids.js'

const absPath = z
  .string()
  .regex(/^\/[^\0]*$/, 'an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'no .. components')
const name = z.string().regex(/^[a-z_][a-z0-9_.+-]{0,63}$/, 'a plain package, user or group name')
const unit = z.string().regex(/^[A-Za-z0-9@._:-]{1,255}$/, 'a systemd unit name')
const sha256 = z.string().regex(/^[0-9a-f]{64}$/)
const mode = z.number().int()
const owner = { uid: z.number().int(), gid: z.number().int() }

/** One path of a recorded tree as it was: what it takes to put it back exactly. */
export const RecordedPath = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dir'), path: absPath, mode, ...owner }),
  /** Its bytes are kept in the session's backups under contentBackupName(sha256). */
  z.object({ kind: z.literal('file'), path: absPath, mode, ...owner, sha256 }),
  z.object({ kind: z.literal('symlink'), path: absPath, ...owner, target: z.string().min(1) }),
])
export type RecordedPath = z.infer<typeof RecordedPath>

/** Every path under `root` (itself excluded), parents before children. */
export const TreeRecord = z.object({ root: absPath, paths: z.array(RecordedPath) })
export type TreeRecord = z.infer<typeof TreeRecord>

/** Where a TreeRecord is kept: a JSON file in the session's backups, and its sha256. */
export const TreeRecordRef = z.object({ root: absPath, record: z.string(), sha256 })
export type TreeRecordRef = z.infer<typeof TreeRecordRef>

/** A record kept and what it holds, for comparing the tree with it later. */
export interface TreeBackup {
  ref: TreeRecordRef
  paths: RecordedPath[]
}

/** Files are kept once per content, however many records list them. */
export const contentBackupName = (sha: string): string => `content-${sha}`

export const Undo = z.discriminatedUnion('kind', [
  /** Put back the file as it was: the backup's bytes, mode and owner. */
  z.object({
    kind: z.literal('restore-file'),
    path: absPath,
    backup: z.string(), // relative to the session's backup directory
    sha256,
    mode: z.number().int(),
    uid: z.number().int(),
    gid: z.number().int(),
  }),
  /**
   * Our marked block in a file others edit too (the developer's authorized_keys): put the block back
   * as it was (`previous`, null: there was none), keeping every line outside it. `removeEmptyFile`:
   * the file did not exist before, so it goes when nothing but our block was in it.
   */
  z.object({
    kind: z.literal('restore-block'),
    path: absPath,
    marker: z.string().regex(/^[a-z0-9-]+$/, 'a block marker'),
    previous: z.string().nullable(),
    removeEmptyFile: z.boolean(),
  }),
  /** The file did not exist before; remove it. */
  z.object({ kind: z.literal('remove-file'), path: absPath }),
  /** The directory did not exist before; remove it if it is empty. */
  z.object({ kind: z.literal('remove-dir'), path: absPath }),
  /**
   * A tree we unpacked (a tarball under /opt): removed with its unfinished twin `<path>.new`, but
   * only while `<path>/<marker>` says it is ours.
   */
  z.object({ kind: z.literal('remove-tree'), path: absPath, marker: z.string().regex(/^[A-Za-z0-9._-]+$/) }),
  /**
   * A repository cloned as `user`: removed (as that user) only while everything in it is on its
   * remote; local work refuses the rollback unless --force, which keeps a 0600 tarball first.
   */
  z.object({ kind: z.literal('remove-clone'), path: absPath, user: name }),
  /** A swap file we made: swapoff when it is active swap, then remove it (a regular file only). */
  z.object({ kind: z.literal('remove-swap-file'), path: absPath }),
  /**
   * Exactly the packages this action newly installed; ones not installed now are left alone.
   * `restoreMissing`: /etc as it was before the install; a path of it that is missing after the
   * purge (a postrm removed what it did not own) is put back. Older journals have none.
   */
  z.object({
    kind: z.literal('purge-packages'),
    packages: z.array(name).min(1),
    restoreMissing: TreeRecordRef.optional(),
  }),
  /**
   * What a package transaction's maintainer scripts wrote in the watched places (apt sources and
   * keyrings, systemd units and their links, cron) that no package owns, so the purge leaves it.
   * `before`: those places as they were, one record per root that existed then. The action's
   * `done` lists exactly the paths the transaction created (removed again) or changed or removed
   * (put back from `before`); an action in doubt has no such list: see undo-maintainer.ts.
   */
  z.object({
    kind: z.literal('remove-maintainer-files'),
    roots: z.array(absPath).min(1),
    before: z.array(TreeRecordRef),
  }),
  z.object({ kind: z.literal('delete-user'), username: name, removeHome: z.boolean() }),
  z.object({ kind: z.literal('delete-group'), group: name }),
  z.object({ kind: z.literal('remove-from-group'), username: name, group: name }),
  z.object({ kind: z.literal('disable-unit'), unit }),
  z.object({ kind: z.literal('stop-unit'), unit }),
  /** A third-party apt source and its keyring; both files are removed. */
  z.object({ kind: z.literal('remove-apt-source'), sourcePath: absPath, keyringPath: absPath.nullable() }),
  /**
   * A Docker volume we created: removed only while it still carries our labels, `vps-provision=1`
   * and this `session` (a volume a user made, or one of another session, is never touched).
   */
  z.object({
    kind: z.literal('remove-docker-volume'),
    volume: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a Docker volume name'),
    session: z.string().regex(SESSION_ID_PATTERN, 'a session id'),
  }),
  /**
   * Undone just before the purge of a docker.io this session installed: Debian's purge empties
   * /var/lib/docker, so when it holds what this session did not make (a person's volume, image or
   * container) the purge is made to keep it (undo-docker.ts says how). Nothing there: no-op.
   */
  z.object({
    kind: z.literal('keep-docker-data'),
    session: z.string().regex(SESSION_ID_PATTERN, 'a session id'),
  }),
  /** The escape hatch: an argv declared next to the forward action in the step kind `command`. */
  z.object({ kind: z.literal('argv'), argv: z.array(z.string()).min(1), allowFailure: z.boolean() }),
  /** Cannot be undone (apt-get upgrade); rollback says so and goes on. */
  z.object({ kind: z.literal('irreversible'), reason: z.string() }),
])
export type Undo = z.infer<typeof Undo>

/** Where a tree is unpacked before it takes its place: ours by its name, whatever a crash left in it. */
export const unpackingPath = (path: string): string => `${path}.new`
export type UndoKind = Undo['kind']

/** The seed's `rollback_command`: what the undo does, in words a person reads. Never executed. */
export function describeUndo(u: Undo): string {
  switch (u.kind) {
    case 'restore-file':
      return `restore ${u.path} from backup ${u.backup} (sha256 ${u.sha256.slice(0, 12)}…)`
    case 'restore-block':
      return u.previous === null
        ? `remove the vps-provision:${u.marker} block from ${u.path}${u.removeEmptyFile ? ' (and the file if nothing else is in it)' : ''}`
        : `put back the earlier vps-provision:${u.marker} block in ${u.path}`
    case 'remove-file':
      return `remove file ${u.path}`
    case 'remove-dir':
      return `remove directory ${u.path} if empty`
    case 'remove-tree':
      return `remove the unpacked tree ${u.path} (if ${u.marker} in it says it is ours)`
    case 'remove-clone':
      return `remove the clone ${u.path} (as ${u.user}) if it holds no local work`
    case 'remove-swap-file':
      return `swapoff ${u.path} (when active), then remove it`
    case 'purge-packages':
      return `apt-get purge ${u.packages.join(' ')}${u.restoreMissing ? `, then put back what it removed of ${u.restoreMissing.root} as it was` : ''}`
    case 'remove-maintainer-files':
      return `remove what the maintainer scripts added under ${u.roots.join(', ')} that no package owns, and put back what they changed there`
    case 'delete-user':
      return `userdel ${u.removeHome ? '--remove ' : ''}${u.username}`
    case 'delete-group':
      return `groupdel ${u.group}`
    case 'remove-from-group':
      return `gpasswd --delete ${u.username} ${u.group}`
    case 'disable-unit':
      return `systemctl disable ${u.unit}`
    case 'stop-unit':
      return `systemctl stop ${u.unit}`
    case 'remove-apt-source':
      return `remove apt source ${u.sourcePath}${u.keyringPath ? ` and keyring ${u.keyringPath}` : ''}`
    case 'remove-docker-volume':
      return `docker volume rm ${u.volume} (only while it is labelled vps-provision.session=${u.session})`
    case 'keep-docker-data':
      return "keep /var/lib/docker through docker.io's purge when it holds volumes, images or containers this session did not make"
    case 'argv':
      return u.argv.map((a) => JSON.stringify(a)).join(' ')
    case 'irreversible':
      return `(cannot be undone: ${u.reason})`
  }
}
