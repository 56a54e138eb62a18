// `vps-provision user remove NAME`: undo, newest session first, every action any run journaled as
// made for that developer (Step.user): their services and units, home files, keys, sudoers drop-in,
// password file, group memberships and, last, the account and home. It is rollback narrowed to one
// person, so it refuses the same drift, writes the same `undone` records into the sessions that made
// the changes (status and a later rollback stay true), and resumes when interrupted.
//
// It cannot itself be rolled back: what it deletes is the developer's account and home, which a
// run does not own. Bringing a developer back is a new run with them in `users:` (a new account,
// a new password), plus their files from the `--keep-home` archive.
import { join } from 'node:path'
import { passwdEntry } from '../facts/accounts.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { now, type RunEvent, type Summary } from '../model/events.js'
import type { EngineDeps, RemoveUserOptions } from './api.js'
import { deriveActions, readJournal } from './journal.js'
import { withLock } from './lock-guard.js'
import { rollbackSession } from './rollback.js'
import { SessionStore } from './session-store.js'

export const HOME_ARCHIVE_DIR = '/var/backups/vps-provision'

export async function removeUser(deps: EngineDeps, opts: RemoveUserOptions): Promise<Summary> {
  const started = Date.now()
  const store = new SessionStore(deps.paths)
  const sessions = (await store.list()).reverse()
  const withWork = sessions.filter((s) =>
    deriveActions(readJournal(deps.paths.transactionLog(s.session_id)).records).some(
      (a) => a.user === opts.name && a.state !== 'undone',
    ),
  )
  const made = sessions.some((s) =>
    deriveActions(readJournal(deps.paths.transactionLog(s.session_id)).records).some(
      (a) => a.user === opts.name,
    ),
  )
  if (!made)
    throw new ProvisionError(
      `Unable to remove ${opts.name}: no run of vps-provision made anything for ${opts.name}`,
      EXIT.usage,
      'Check the name with `vps-provision sessions` and `vps-provision log latest`; an account made by hand is removed with `deluser --remove-home`',
    )
  const first = withWork[0]?.session_id ?? sessions[0]?.session_id ?? 'none'
  deps.emit({ type: 'session-start', ts: now(), command: 'rollback', sessionId: first, phases: [] })
  const lines: string[] = []
  if (opts.keepHome && withWork.length > 0) lines.push(await archiveHome(deps, opts.name))
  const phases: Summary['phases'] = []
  let exitCode: number = EXIT.ok
  // Each session's summary is folded into one: the renderer sees one command start and end.
  const quiet: EngineDeps = { ...deps, emit: (e: RunEvent) => isBoundary(e) || deps.emit(e) }
  for (const s of withWork) {
    const summary = await rollbackSession(quiet, {
      session: s.session_id,
      to: null,
      force: opts.force,
      user: opts.name,
    })
    phases.push(...summary.phases)
    lines.push(...summary.lines)
    if (summary.exitCode !== EXIT.ok) {
      exitCode = summary.exitCode
      break
    }
  }
  if (exitCode === EXIT.ok) lines.push(...(await afterwards(deps, opts.name, withWork.length)))
  const summary: Summary = {
    sessionId: first,
    status: exitCode === EXIT.ok ? 'ROLLED_BACK' : 'FAILED',
    exitCode,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    phases,
    lines,
    credentials: null,
  }
  deps.emit({ type: 'session-end', ts: now(), summary })
  return summary
}

const isBoundary = (e: RunEvent) => e.type === 'session-start' || e.type === 'session-end'

/** The home as a 0600 root-owned tarball, before any of it goes. */
async function archiveHome(deps: EngineDeps, name: string): Promise<string> {
  const home = (await passwdEntry(deps.sys, name))?.home
  if (!home) return `No home to archive: ${name} has no account any more`
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = join(HOME_ARCHIVE_DIR, `home-${name}-${stamp}.tar.gz`)
  await withLock(deps.paths, { sessionId: 'user-remove', command: 'rollback' }, async () => {
    await deps.sys.mkdir(HOME_ARCHIVE_DIR, { mode: 0o700, uid: 0, gid: 0 })
    // umask-independent: tar creates the file, then it is made root's only before anything else.
    await deps.sys.exec(['touch', file])
    await deps.sys.exec(['chmod', '0600', file])
    await deps.sys.exec(['tar', '--create', '--gzip', '--file', file, '--directory', home, '.'])
  })
  return `Home of ${name} archived to ${file} (0600, root only)`
}

/** What the person should know once the changes are undone. */
async function afterwards(deps: EngineDeps, name: string, sessions: number): Promise<string[]> {
  const out = [sessions === 0 ? `Nothing left to remove for ${name}: already removed.` : `Removed ${name}.`]
  if (await passwdEntry(deps.sys, name))
    out.push(
      `The account ${name} stays: it existed before vps-provision used it (reuseUser); \`deluser --remove-home ${name}\` removes it`,
    )
  out.push(`Take ${name} out of users: in the configuration too, or the next run creates them again.`)
  return out
}
