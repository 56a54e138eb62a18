// The fake filesystem: a map of normalized absolute paths to nodes, with symlinks resolved like the
// kernel does (merged /usr makes /bin a symlink, so this matters). Errors carry Node's `code`s so
// callers handle them the same way on both systems.
import { posix } from 'node:path'
import type { FileStat, WriteOptions } from '../../../src/system/port.js'

export interface FakeNode {
  kind: 'file' | 'dir' | 'symlink'
  data: Buffer
  mode: number
  uid: number
  gid: number
  /** Symlinks only: the link text, relative or absolute. */
  target?: string
  /** When it was last written (Date.now()); absent in machines saved before it was kept. */
  mtimeMs?: number
}

export function fsError(code: string, syscall: string, path: string): Error {
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'not a directory',
    EISDIR: 'illegal operation on a directory',
    ENOTEMPTY: 'directory not empty',
    ELOOP: 'too many symbolic links encountered',
  }
  return Object.assign(new Error(`${code}: ${text[code] ?? code}, ${syscall} '${path}'`), {
    code,
    syscall,
    path,
  })
}

export function normalize(path: string): string {
  if (!path.startsWith('/')) throw new Error(`fake fs: not an absolute path: ${path}`)
  const p = posix.normalize(path)
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p
}

const child = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`)

export class FakeFs {
  constructor(readonly nodes: Map<string, FakeNode>) {}

  /** The path with every symlink resolved, the last component only when `followLast`. */
  resolve(path: string, followLast: boolean): string {
    let parts = normalize(path).split('/').filter(Boolean)
    let cur = '/'
    let hops = 0
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] as string
      const next = child(cur, name)
      const node = this.nodes.get(next)
      if (node?.kind === 'symlink' && (i < parts.length - 1 || followLast)) {
        if (++hops > 40) throw fsError('ELOOP', 'stat', path)
        const target = node.target ?? ''
        const base = normalize(target.startsWith('/') ? target : posix.join(cur, target))
        parts = [...base.split('/').filter(Boolean), ...parts.slice(i + 1)]
        cur = '/'
        i = -1
        continue
      }
      cur = next
    }
    return cur
  }

  /** The node itself (a symlink stays a symlink). */
  lget(path: string): FakeNode | undefined {
    return this.nodes.get(this.resolve(path, false))
  }

  /** The node a path leads to, following symlinks. */
  get(path: string): FakeNode | undefined {
    return this.nodes.get(this.resolve(path, true))
  }

  stat(path: string): FileStat | null {
    const n = this.lget(path)
    if (!n) return null
    const size = n.kind === 'symlink' ? (n.target ?? '').length : n.kind === 'dir' ? 4096 : n.data.length
    return {
      kind: n.kind,
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      size,
      ...(n.mtimeMs === undefined ? {} : { mtimeMs: n.mtimeMs }),
    }
  }

  read(path: string): Buffer | null {
    const n = this.get(path)
    if (!n) return null
    if (n.kind === 'dir') throw fsError('EISDIR', 'read', path)
    return Buffer.from(n.data)
  }

  text(path: string): string | null {
    return this.read(path)?.toString('utf8') ?? null
  }

  write(path: string, data: string | Buffer, opts: WriteOptions): void {
    const p = this.resolve(path, false)
    const parent = this.nodes.get(posix.dirname(p))
    if (!parent) throw fsError('ENOENT', 'open', path)
    if (parent.kind !== 'dir') throw fsError('ENOTDIR', 'open', path)
    const existing = this.nodes.get(p)
    if (existing && existing.kind !== 'file') {
      throw new Error(`Unable to write ${path}: it is a ${existing.kind}, not a regular file`)
    }
    const bytes = Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
    this.nodes.set(p, {
      kind: 'file',
      data: bytes,
      mode: opts.mode & 0o7777,
      uid: opts.uid ?? 0,
      gid: opts.gid ?? 0,
      mtimeMs: Date.now(),
    })
  }

  symlink(path: string, target: string): void {
    this.nodes.set(normalize(path), {
      kind: 'symlink',
      data: Buffer.alloc(0),
      mode: 0o777,
      uid: 0,
      gid: 0,
      target,
      mtimeMs: Date.now(),
    })
  }

  /** Sets a node's modification time, as `touch -d` does (for tests about when a file was made). */
  touch(path: string, mtimeMs: number): void {
    const n = this.lget(path)
    if (!n) throw fsError('ENOENT', 'utimes', path)
    n.mtimeMs = mtimeMs
  }

  /** Creates the missing directories of `path` and returns them, outermost first. */
  mkdirp(path: string, opts: WriteOptions): string[] {
    const created: string[] = []
    let cur = '/'
    for (const name of this.resolve(path, true).split('/').filter(Boolean)) {
      cur = child(cur, name)
      const n = this.nodes.get(cur)
      if (n && n.kind !== 'dir') throw new Error(`Unable to create ${path}: ${cur} is not a directory`)
      if (n) continue
      this.nodes.set(cur, {
        kind: 'dir',
        data: Buffer.alloc(0),
        mode: opts.mode & 0o7777,
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
        mtimeMs: Date.now(),
      })
      created.push(cur)
    }
    return created
  }

  rmdir(path: string): void {
    const p = this.resolve(path, false)
    const n = this.nodes.get(p)
    if (!n) return
    if (n.kind !== 'dir') throw fsError('ENOTDIR', 'rmdir', path)
    if (this.children(p).length > 0) throw fsError('ENOTEMPTY', 'rmdir', path)
    this.nodes.delete(p)
  }

  remove(path: string): void {
    const p = this.resolve(path, false)
    const n = this.nodes.get(p)
    if (n?.kind === 'dir') throw new Error(`Unable to remove ${path}: it is a directory`)
    this.nodes.delete(p)
  }

  list(path: string): string[] {
    const p = this.resolve(path, true)
    const n = this.nodes.get(p)
    if (!n) return []
    if (n.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path)
    return this.children(p)
  }

  private children(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`
    const names: string[] = []
    for (const key of this.nodes.keys()) {
      if (key !== '/' && key.startsWith(prefix) && !key.slice(prefix.length).includes('/')) {
        names.push(key.slice(prefix.length))
      }
    }
    return names.sort()
  }

  /** Every path below the literal path `dir` (no symlink is resolved), sorted. */
  below(dir: string): string[] {
    const p = normalize(dir)
    const prefix = p === '/' ? '/' : `${p}/`
    return [...this.nodes.keys()].filter((k) => k !== p && k.startsWith(prefix)).sort()
  }

  removeTree(path: string): void {
    const p = this.resolve(path, false)
    if (this.nodes.get(p)?.kind === 'dir') for (const k of this.below(p)) this.nodes.delete(k)
    this.nodes.delete(p)
  }

  /** Copies the contents of `src` into the existing directory `dest`, owned by uid:gid. */
  copyInto(src: string, dest: string, uid: number, gid: number): void {
    const from = this.resolve(src, true)
    const to = this.resolve(dest, true)
    for (const k of this.below(from)) {
      const n = this.nodes.get(k) as FakeNode
      this.nodes.set(to + k.slice(from.length), { ...n, data: Buffer.from(n.data), uid, gid })
    }
  }

  exists(path: string): boolean {
    return this.get(path) !== undefined
  }
}
