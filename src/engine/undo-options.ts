// The options every undo runs with, for a whole rollback and for a part of a run undone in place:
// the session's backups, what each action wrote (the drift check) and where drifted files are kept.
import { join } from 'node:path'
import { ensurePrivateDir, readFileNoFollow, writeFileAtomic } from '../system/atomic.js'
import type { DerivedAction } from './journal.js'
import type { UndoOptions } from './undo-outcome.js'

/** seq -> what the action reported writing (path -> sha256, null = removed), when it is done. */
export type WrittenBySeq = Map<number, Record<string, string | null> | null>

/** Per action in doubt: a time (epoch ms) by which its change was certainly over, or null. */
export type UntilBySeq = Map<number, number | null>

export function undoOptions(
  backupDir: string,
  known: { written: WrittenBySeq; until: UntilBySeq },
  action: DerivedAction,
  force: boolean,
): UndoOptions {
  return {
    backupDir,
    readBackup: (rel) => readFileNoFollow(join(backupDir, rel)),
    written: known.written.get(action.seq) ?? null,
    force,
    keepDrifted: (path, data) => keepDrifted(backupDir, path, data),
    inDoubtUntil: known.until.get(action.seq) ?? null,
  }
}

async function keepDrifted(backupDir: string, path: string, data: Buffer): Promise<string> {
  const dir = join(backupDir, 'drifted')
  await ensurePrivateDir(dir)
  const dest = join(dir, `${Date.now()}-${path.replaceAll('/', '_')}`)
  await writeFileAtomic(dest, data, 0o600)
  return dest
}
