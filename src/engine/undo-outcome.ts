// What every undo kind takes and returns: the options of one rollback and a verdict with a
// sentence for the report.
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Undo } from '../model/undo.js'
import { sha256 } from '../util/hash.js'

export interface UndoOptions {
  backupDir: string
  readBackup(rel: string): Promise<Buffer | null>
  /** What the action reported writing (path -> sha256, null = removed); null when not known to be done. */
  written: Record<string, string | null> | null
  force: boolean
  /** Saves the drifted content somewhere safe; returns where. */
  keepDrifted(path: string, data: Buffer): Promise<string>
  /**
   * For an action in doubt (begun, never done): a time (epoch ms) by which its change was
   * certainly over, from a record written after it (a later record of its session's journal, the
   * start of a later run); null or absent when nothing says so. See undo-maintainer.ts.
   */
  inDoubtUntil?: number | null
}

/** What reading the session's backups takes. */
export type BackupReader = Pick<UndoOptions, 'backupDir' | 'readBackup'>

export interface UndoOutcome {
  outcome: 'undone' | 'skipped'
  detail: string
}

export const undone = (detail: string): UndoOutcome => ({ outcome: 'undone', detail })
export const skipped = (detail: string): UndoOutcome => ({ outcome: 'skipped', detail })

/** The undo record of one kind, as each kind's function takes it. */
export type UndoOf<K extends Undo['kind']> = Extract<Undo, { kind: K }>

/** A backup of the session whose sha256 is the recorded one; refuses a missing or corrupt one. */
export async function verifiedBackup(
  name: string,
  sha: string,
  what: string,
  opts: BackupReader,
): Promise<Buffer> {
  const data = await opts.readBackup(name)
  if (data && sha256(data) === sha) return data
  throw new ProvisionError(
    `Unable to restore ${what}: backup ${name} is ${data ? 'corrupt (sha256 differs)' : 'missing'}`,
    EXIT.rollback,
    `Restore ${what} by hand; the session's other backups are in ${opts.backupDir}`,
  )
}
