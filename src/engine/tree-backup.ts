// Keeps a tree of the managed machine (/etc before a package transaction) in the session's
// backups: the record of every path, and each file's bytes once per content, so that many records
// of a mostly unchanged /etc cost one copy of it. undo-restore.ts puts back from them.
import { lstat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { snapshotTree } from '../facts/tree.js'
import { contentBackupName, type TreeBackup } from '../model/undo.js'
import { ensurePrivateDir, writeFileAtomic } from '../system/atomic.js'
import type { System } from '../system/port.js'
import { sha256 } from '../util/hash.js'

export async function backupTree(sys: System, backupDir: string, root: string): Promise<TreeBackup> {
  const { paths, contents } = await snapshotTree(sys, root)
  await ensurePrivateDir(backupDir)
  for (const [sha, data] of contents) {
    const file = join(backupDir, contentBackupName(sha))
    // Named by its sha256: one already there holds these very bytes (rollback checks it anyway).
    if (!(await isFile(file))) await writeFileAtomic(file, data, 0o600)
  }
  const json = Buffer.from(JSON.stringify({ root, paths }))
  const sha = sha256(json)
  const record = `tree-${sha.slice(0, 12)}-${basename(root)}.json`
  await writeFileAtomic(join(backupDir, record), json, 0o600)
  return { ref: { root, record, sha256: sha }, paths }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile()
  } catch {
    return false
  }
}
