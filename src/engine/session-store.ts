// Session files: one JSON document per run or rollback, replaced atomically on every save. A session
// id arrives from the command line, so it is checked against its pattern before it names a file.
import { type Dirent, promises as fsp } from 'node:fs'
import { EXIT, errorMessage, ProvisionError } from '../model/errors.js'
import { FORMAT, FutureFormatError, upgradeFormat, WRITTEN_BY } from '../model/format.js'
import { assertSessionId, InvalidSessionId, SESSION_ID_PATTERN } from '../model/ids.js'
import { ProvisioningSession } from '../model/schemas.js'
import { ensurePrivateDir, readFileNoFollow, writeFileAtomic } from '../system/atomic.js'
import type { StatePaths } from './paths.js'

const FILE_PATTERN = new RegExp(`^session-(${SESSION_ID_PATTERN.source.slice(1, -1)})\\.json$`)
const LIST_HINT = 'Run `vps-provision sessions` to list the recorded sessions'

export class SessionStore {
  constructor(private readonly paths: StatePaths) {}

  async save(session: ProvisioningSession): Promise<void> {
    // Today's format and writer, whoever wrote it before (a rollback by a newer version re-saves).
    const valid = ProvisioningSession.parse({ ...session, format: FORMAT.session, written_by: WRITTEN_BY })
    const file = this.paths.sessionFile(valid.session_id)
    await ensurePrivateDir(this.paths.sessionsDir)
    await writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`, 0o600)
  }

  async load(id: string): Promise<ProvisioningSession> {
    const file = this.paths.sessionFile(checkedId(id))
    const fail = (reason: string) => new Error(`Unable to load session ${id}: ${reason}`)
    let bytes: Buffer | null
    try {
      bytes = await readFileNoFollow(file)
    } catch (err) {
      throw fail(errorMessage(err))
    }
    if (!bytes) throw notFound(id)
    let raw: unknown
    try {
      raw = JSON.parse(bytes.toString('utf8'))
    } catch {
      throw fail(`${file} is not valid JSON`)
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw fail(`${file} is not a JSON object`)
    // An older format is lifted in memory; a newer one refuses by name (FutureFormatError).
    const parsed = ProvisioningSession.safeParse(
      upgradeFormat('session', `session ${id} (${file})`, raw as Record<string, unknown>),
    )
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw fail(`${file} is not a valid session (${issue?.path.join('.') || 'root'}: ${issue?.message})`)
    }
    if (parsed.data.session_id !== id) throw fail(`${file} holds session ${parsed.data.session_id}`)
    return parsed.data
  }

  /** Session ids, sorted by name (to the second: use list() for true start order). */
  async ids(): Promise<string[]> {
    let entries: Dirent[]
    try {
      entries = await fsp.readdir(this.paths.sessionsDir, { withFileTypes: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    // Only regular files: a planted symlink is not one of our sessions.
    const ids = entries.filter((e) => e.isFile()).map((e) => FILE_PATTERN.exec(e.name)?.[1])
    return ids.filter((id): id is string => id !== undefined).sort()
  }

  /**
   * The sessions that load, oldest first. One damaged file must not stop run or rollback from
   * seeing the others; `load(id)` reports what is wrong with it. A session a newer version wrote
   * does stop them: its changes are on this machine, and run and rollback must not act as if a
   * later session that builds on an earlier one were not there.
   */
  async list(): Promise<ProvisioningSession[]> {
    const out: ProvisioningSession[] = []
    for (const id of await this.ids()) {
      const session = await this.load(id).catch((err: unknown) => {
        if (err instanceof FutureFormatError) throw err
        return null
      })
      if (session) out.push(session)
    }
    // Two sessions can start in the same second, and the id suffix is random: order by start time.
    return out.sort(
      (a, b) => a.start_time.localeCompare(b.start_time) || a.session_id.localeCompare(b.session_id),
    )
  }

  async latest(): Promise<ProvisioningSession | null> {
    return (await this.list()).at(-1) ?? null
  }

  /** Turns a session id or "latest" from the command line into the id of a recorded session. */
  async resolve(idOrLatest: string): Promise<string> {
    const ids = await this.ids()
    if (idOrLatest === 'latest') {
      const id = (await this.latest())?.session_id
      if (!id) throw new ProvisionError('Unable to find session latest: no sessions recorded yet', EXIT.usage)
      return id
    }
    if (!ids.includes(checkedId(idOrLatest))) throw notFound(idOrLatest)
    return idOrLatest
  }
}

function checkedId(id: string): string {
  try {
    return assertSessionId(id)
  } catch (err) {
    if (err instanceof InvalidSessionId) {
      throw new ProvisionError(`Unable to find session: ${err.message}`, EXIT.usage, LIST_HINT)
    }
    throw err
  }
}

const notFound = (id: string) =>
  new ProvisionError(`Unable to find session ${id}: no such session`, EXIT.usage, LIST_HINT)
