// Every path under a directory as it is now: kind, mode, owner, symlink target, and for a regular
// file its bytes and sha256. The package transactions record /etc with it, so that rollback can put
// back what a maintainer script removes without owning it. One `find` lists the tree (with link
// targets, which the System port does not read); the files are read through the port.
import type { RecordedPath } from '../model/undo.js'
import type { System } from '../system/port.js'
import { sha256 } from '../util/hash.js'

export interface TreeSnapshot {
  /** Sorted by path, so a directory comes before what is in it. */
  paths: RecordedPath[]
  /** The bytes of every regular file, by sha256. */
  contents: Map<string, Buffer>
}

// dpkg's own work files: a killed unpack leaves them, and no rollback may ever put one back.
const DPKG_WORK_FILE = /\.dpkg-(new|tmp)$/

// Type, permission bits (octal), uid, gid, link target, path; NUL-separated: a path may hold a newline.
const FIELDS = ['%y', '%m', '%U', '%G', '%l', '%p']
const FORMAT = FIELDS.map((f) => `${f}\\0`).join('')

export async function snapshotTree(sys: System, root: string): Promise<TreeSnapshot> {
  // -xdev: a filesystem mounted under the tree is not ours to record.
  const r = await sys.exec(['find', root, '-xdev', '-printf', FORMAT])
  const fields = r.stdout.split('\0')
  const paths: RecordedPath[] = []
  const contents = new Map<string, Buffer>()
  for (let i = 0; i + FIELDS.length <= fields.length; i += FIELDS.length) {
    const [type, mode, uid, gid, target, path] = fields.slice(i, i + FIELDS.length) as string[]
    if (path === root || path === undefined || DPKG_WORK_FILE.test(path)) continue
    const base = { path, uid: Number(uid), gid: Number(gid) }
    if (type === 'd') paths.push({ kind: 'dir', ...base, mode: Number.parseInt(mode ?? '', 8) })
    if (type === 'l' && target) paths.push({ kind: 'symlink', ...base, target })
    if (type !== 'f') continue
    // Gone since find listed it: it is not there to record.
    const data = await sys.readFile(path)
    if (data === null) continue
    const sha = sha256(data)
    contents.set(sha, data)
    paths.push({ kind: 'file', ...base, mode: Number.parseInt(mode ?? '', 8), sha256: sha })
  }
  paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return { paths, contents }
}
