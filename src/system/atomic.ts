// The filesystem primitives every state file goes through. State lives in root-owned directories
// that anyone with a foothold might try to redirect with a planted symlink, and a power cut may hit
// at any instruction, so: never follow a symlink, never write in place, fsync before trusting.
import { randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, fsyncSync, openSync, readFileSync } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { basename, dirname, join, parse, resolve, sep } from 'node:path'

export class UnsafePathError extends Error {
  constructor(verb: string, path: string, reason: string) {
    super(`Unable to ${verb} ${path}: ${reason}`)
    this.name = 'UnsafePathError'
  }
}

export interface RenameHooks {
  /** Runs after the temp file is durable, right before it replaces the destination. */
  beforeRename?: () => void
  /** Runs right after the rename, before the directory is fsync'd. */
  afterRename?: () => void
}

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code

async function lstatOrNull(path: string) {
  try {
    return await fsp.lstat(path)
  } catch (err) {
    if (code(err) === 'ENOENT') return null
    throw err
  }
}

/**
 * mkdir -p where every directory we create is 0700, refusing to pass through a symlink anywhere on
 * the way: a state dir planted as a link to /etc would otherwise get our files (and our chmod).
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  const abs = resolve(path)
  const { root } = parse(abs)
  let current = root
  for (const part of abs.slice(root.length).split(sep).filter(Boolean)) {
    current = join(current, part)
    let st = await lstatOrNull(current)
    if (!st) {
      try {
        await fsp.mkdir(current, { mode: 0o700 })
        // mkdir's mode is filtered by the umask; state directories must be exactly 0700.
        await fsp.chmod(current, 0o700)
        continue
      } catch (err) {
        // Someone created it between our lstat and mkdir: judge what is there now.
        if (code(err) !== 'EEXIST') throw err
        st = await fsp.lstat(current)
      }
    }
    if (st.isSymbolicLink())
      throw new UnsafePathError('create directory', abs, `${current} is a symbolic link`)
    if (!st.isDirectory()) throw new UnsafePathError('create directory', abs, `${current} is not a directory`)
  }
}

/** Makes a directory entry (a new or renamed file) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Makes a directory entry (a new or renamed file) durable. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export interface Ownership {
  mode: number
  uid?: number
  gid?: number
}

/** A private state file: 0600 unless told otherwise; refuses a symlink or directory in its place. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
  hooks: RenameHooks = {},
): Promise<void> {
  const existing = await lstatOrNull(path)
  if (existing?.isSymbolicLink()) throw new UnsafePathError('write', path, 'it is a symbolic link')
  if (existing?.isDirectory()) throw new UnsafePathError('write', path, 'it is a directory')
  await replaceFile(path, data, { mode }, hooks)
}

/**
 * Replaces `path` so that a crash leaves either the old or the new content, never a mix: a private
 * temp file in the same directory, fsync, rename over, fsync the directory. The rename replaces a
 * symlink at `path` rather than following it; callers refuse one first when that matters.
 */
export async function replaceFile(
  path: string,
  data: string | Uint8Array,
  owner: Ownership,
  hooks: RenameHooks = {},
): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
  let renamed = false
  try {
    const handle = await fsp.open(temp, flags, 0o600)
    try {
      await handle.writeFile(data)
      await setOwnership(handle, owner)
      await handle.sync()
    } finally {
      await handle.close()
    }
    hooks.beforeRename?.()
    await fsp.rename(temp, path)
    renamed = true
    hooks.afterRename?.()
    await fsyncDir(dir)
  } catch (err) {
    if (!renamed) await fsp.rm(temp, { force: true }).catch(() => {})
    throw err
  }
}

/** chown, then chmod: chown clears setuid bits (chrome-sandbox needs 4755), and no umask applies. */
export async function setOwnership(handle: fsp.FileHandle, owner: Ownership): Promise<void> {
  if (owner.uid !== undefined || owner.gid !== undefined) await handle.chown(owner.uid ?? -1, owner.gid ?? -1)
  await handle.chmod(owner.mode)
}

function openNoFollow(path: string): number | null {
  try {
    // O_NONBLOCK: a FIFO planted at a state path must not hang us in open().
    return openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if (code(err) === 'ENOENT') return null
    if (code(err) === 'ELOOP') throw new UnsafePathError('read', path, 'it is a symbolic link')
    throw err
  }
}

/** Reads a state file without following a symlink; null when it does not exist. */
export function readFileNoFollowSync(path: string): Buffer | null {
  const fd = openNoFollow(path)
  if (fd === null) return null
  try {
    if (!fstatSync(fd).isFile()) throw new UnsafePathError('read', path, 'it is not a regular file')
    return readFileSync(fd)
  } finally {
    closeSync(fd)
  }
}

export async function readFileNoFollow(path: string): Promise<Buffer | null> {
  return readFileNoFollowSync(path)
}
