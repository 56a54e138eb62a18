// The managed machine's files on the real system: lstat-based (a symlink is reported, never
// followed), atomic writes through atomic.ts, and "missing is fine" where the port promises it.
import { constants } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { dirname } from 'node:path'
import { replaceFile, setOwnership } from './atomic.js'
import type { FileStat, WriteOptions } from './port.js'

const isMissing = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

export async function stat(path: string): Promise<FileStat | null> {
  try {
    const s = await fsp.lstat(path)
    const kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other'
    return { kind, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size, mtimeMs: s.mtimeMs }
  } catch (e) {
    if (isMissing(e)) return null
    throw e
  }
}

/** Refuses anything but a regular file (or nothing) at `path`, in the words of `verb`. */
export async function requireFileOrNothing(path: string, verb: string): Promise<void> {
  const existing = await stat(path)
  if (existing && existing.kind !== 'file')
    throw new Error(`Unable to ${verb}: ${path} is a ${existing.kind}, not a regular file`)
}

export async function readFile(path: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(path)
  } catch (e) {
    if (isMissing(e)) return null
    throw e
  }
}

export async function writeFile(path: string, data: string | Buffer, opts: WriteOptions): Promise<void> {
  // Replacing a symlink would silently redirect a config edit somewhere else; a person must decide.
  const existing = await stat(path)
  if (existing && existing.kind !== 'file')
    throw new Error(`Unable to write ${path}: it is a ${existing.kind}, not a regular file`)
  await replaceFile(path, data, opts)
}

export async function removeFile(path: string): Promise<void> {
  const s = await stat(path)
  if (!s) return
  if (s.kind === 'dir') throw new Error(`Unable to remove ${path}: it is a directory`)
  try {
    await fsp.unlink(path)
  } catch (e) {
    if (!isMissing(e)) throw e
  }
}

export async function mkdir(path: string, opts: WriteOptions): Promise<void> {
  for (const dir of await missingDirs(path)) {
    try {
      await fsp.mkdir(dir, { mode: 0o700 })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue // created concurrently: not ours
      throw e
    }
    const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    try {
      await setOwnership(fh, opts)
    } finally {
      await fh.close()
    }
  }
}

/** `path` and its missing parents, outermost first; refuses a non-directory on the way. */
async function missingDirs(path: string): Promise<string[]> {
  const missing: string[] = []
  for (let p = path; ; p = dirname(p)) {
    if (await stat(p)) {
      if (!(await fsp.stat(p)).isDirectory())
        throw new Error(`Unable to create ${path}: ${p} is not a directory`)
      return missing
    }
    missing.unshift(p)
    if (dirname(p) === p) return missing
  }
}

export async function rmdir(path: string): Promise<void> {
  try {
    await fsp.rmdir(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}

export async function readDir(path: string): Promise<string[]> {
  try {
    return (await fsp.readdir(path)).sort()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
}
