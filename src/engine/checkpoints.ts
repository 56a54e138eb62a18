// Checkpoints record that a phase completed and what its checks saw; they never decide correctness
// (docs/architecture.md, Checkpoints). Each phase's `<phase>.done` file is the truth and is written
// atomically on its own; metadata.json is only an index rebuilt from the .done files on every
// change, so a crash between the two costs nothing.
import { createHash } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { FORMAT, upgradeFormat, WRITTEN_BY } from '../model/format.js'
import { Checkpoint, PHASE_NAMES, PhaseName } from '../model/schemas.js'
import { ensurePrivateDir, fsyncDirSync, readFileNoFollow, writeFileAtomic } from '../system/atomic.js'
import { failpoint } from './failpoints.js'
import type { StatePaths } from './paths.js'

export class CheckpointStore {
  constructor(private readonly paths: StatePaths) {}

  private file(phase: PhaseName): string {
    // The phase becomes part of a path: only the enum's names get that far.
    return join(this.paths.checkpointsDir, `${PhaseName.parse(phase)}.done`)
  }

  /**
   * null for a missing, unreadable, corrupt or misplaced checkpoint, and for one in a format this
   * version does not know (a newer one wrote it): the phase then simply runs. A checkpoint decides
   * nothing (its phase's checks are asked either way), so ignoring one is always safe; an older
   * format is lifted in memory.
   */
  async read(phase: PhaseName): Promise<Checkpoint | null> {
    try {
      const bytes = await readFileNoFollow(this.file(phase))
      if (!bytes) return null
      const raw = JSON.parse(bytes.toString('utf8'))
      const parsed = Checkpoint.safeParse(upgradeFormat('checkpoint', `checkpoint ${phase}`, raw))
      return parsed.success && parsed.data.phase_name === phase ? parsed.data : null
    } catch {
      return null
    }
  }

  async write(cp: Checkpoint): Promise<void> {
    const valid = Checkpoint.parse({ ...cp, format: FORMAT.checkpoint, written_by: WRITTEN_BY })
    await ensurePrivateDir(this.paths.checkpointsDir)
    await writeFileAtomic(this.file(valid.phase_name), `${JSON.stringify(valid, null, 2)}\n`, 0o600, {
      beforeRename: () => failpoint('checkpoint.before-rename'),
      afterRename: () => failpoint('checkpoint.after-rename'),
    })
    await this.rebuildIndex()
  }

  async remove(phase: PhaseName): Promise<void> {
    try {
      await fsp.unlink(this.file(phase))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    fsyncDirSync(this.paths.checkpointsDir)
    await this.rebuildIndex()
  }

  /** The valid checkpoints, in phase order. */
  async list(): Promise<Checkpoint[]> {
    const found = await Promise.all(PHASE_NAMES.map((phase) => this.read(phase)))
    return found.filter((cp): cp is Checkpoint => cp !== null)
  }

  private async rebuildIndex(): Promise<void> {
    const index = Object.fromEntries((await this.list()).map((cp) => [cp.phase_name, cp]))
    await writeFileAtomic(
      join(this.paths.checkpointsDir, 'metadata.json'),
      `${JSON.stringify(index, null, 2)}\n`,
    )
  }
}

/**
 * sha256 over what a phase's checks observed. Each string is length-prefixed so that ["ab", "c"]
 * and ["a", "bc"] cannot collide.
 */
export function stateChecksum(observed: readonly string[]): string {
  const hash = createHash('sha256')
  hash.update(`${observed.length}\n`)
  for (const s of observed) {
    hash.update(`${Buffer.byteLength(s, 'utf8')}:`)
    hash.update(s, 'utf8')
  }
  return hash.digest('hex')
}
