// What rollback must know before it undoes anything: which session "latest" means, whether a later
// session still builds on this one, whether the journal can be trusted, and which files were
// edited since this session wrote them (drift).
import { passwdEntry } from '../facts/accounts.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { now } from '../model/events.js'
import { PHASE_NAMES, type PhaseName, type ProvisioningSession } from '../model/schemas.js'
import type { System } from '../system/port.js'
import type { EngineDeps, RollbackOptions } from './api.js'
import { type DerivedAction, deriveActions, type JournalRecord, readJournal } from './journal.js'
import type { SessionStore } from './session-store.js'
import { ARCHIVE_DIR, clonesWithLocalWork } from './undo-clone.js'
import { planUndoDrift, undoPaths } from './undo-executor.js'
import type { UntilBySeq, WrittenBySeq } from './undo-options.js'
import type { BackupReader } from './undo-outcome.js'

/**
 * The session's actions, and those still to undo newest first. Refuses a damaged journal, and a
 * session that a later one builds on (unless --force).
 */
export async function pendingActions(
  deps: EngineDeps,
  store: SessionStore,
  session: ProvisioningSession,
  opts: RollbackOptions,
): Promise<{ actions: DerivedAction[]; pending: DerivedAction[]; until: UntilBySeq }> {
  const id = session.session_id
  const { records, warnings, damage } = readJournal(deps.paths.transactionLog(id))
  for (const w of warnings) deps.emit({ type: 'message', ts: now(), level: 'warn', text: w })
  if (damage) {
    throw new ProvisionError(
      `Unable to roll back ${id}: the transaction log is damaged (${damage}), so its undo cannot be trusted`,
      EXIT.rollback,
      `Inspect it with \`vps-provision log ${id}\` and restore by hand from ${deps.paths.backupDir(id)}`,
    )
  }
  // One developer's changes stand apart from the sessions around them: nothing later builds on them.
  if (!opts.force && opts.user === undefined) await refuseIfBuiltOn(store, deps.paths, session)
  const all = deriveActions(records)
  const actions = opts.user === undefined ? all : all.filter((a) => a.user === opts.user)
  const until = inDoubtEnds(records, actions, await laterRunStart(store, session))
  return { actions, pending: selectPending(actions, opts.to), until }
}

/**
 * For each maintainer-files action not done (undo-maintainer.ts): by when its change was certainly
 * over. That change is the innermost of its transaction, so nothing is journaled between its
 * `begin` and the end of dpkg: the next record other than rollback's own `undone` was written
 * after the transaction, by the same process (its failure) or a later one. A later run could only
 * start once the killed process was gone (it takes the lock), so its start counts too.
 */
export function inDoubtEnds(
  records: readonly JournalRecord[],
  actions: readonly DerivedAction[],
  laterRun: number | null,
): UntilBySeq {
  const out: UntilBySeq = new Map()
  for (const a of actions) {
    if (a.state === 'done' || a.state === 'undone' || a.undo.kind !== 'remove-maintainer-files') continue
    const at = records.findIndex((r) => r.type === 'begin' && r.seq === a.seq)
    const next = records.slice(at + 1).find((r) => r.type !== 'undone')
    const times = [next ? Date.parse(next.ts) : null, laterRun].filter((t): t is number => t !== null)
    out.set(a.seq, times.length > 0 ? Math.min(...times) : null)
  }
  return out
}

/** When the first `run` after this session started (epoch ms), or null. */
async function laterRunStart(store: SessionStore, session: ProvisioningSession): Promise<number | null> {
  const all = await store.list()
  const at = all.findIndex((s) => s.session_id === session.session_id)
  const later = at < 0 ? [] : all.slice(at + 1).filter((s) => s.command === 'run')
  const starts = later.map((s) => Date.parse(s.start_time)).filter((t) => Number.isFinite(t))
  return starts.length > 0 ? Math.min(...starts) : null
}

/** Everything begun and not yet undone, newest first; with --to, only that phase and later ones. */
function selectPending(actions: DerivedAction[], to: PhaseName | null): DerivedAction[] {
  const floor = to === null ? -1 : PHASE_NAMES.indexOf(to)
  return actions
    .filter((a) => a.state !== 'undone')
    .filter((a) => PHASE_NAMES.indexOf(a.phase as PhaseName) >= floor)
    .sort((a, b) => b.seq - a.seq)
}

/** What each pending action wrote, for the undo's own checks; refuses drifted files unless forced. */
export async function refuseDrift(
  sys: System,
  id: string,
  pending: DerivedAction[],
  force: boolean,
  backups: BackupReader,
): Promise<WrittenBySeq> {
  const written = await writtenOutsideRemovedHomes(sys, pending)
  const drifted = await planUndoDrift(
    sys,
    pending.map((a) => ({ undo: a.undo, written: written.get(a.seq) ?? null })),
    backups,
  )
  if (drifted.length > 0 && !force) {
    throw new ProvisionError(
      `Unable to roll back ${id}: files changed since this session wrote them: ${drifted.join(', ')}`,
      EXIT.rollback,
      'Check those files; `--force` keeps a copy of each (0600, under the session backups) and then restores them',
    )
  }
  // A clone with local work is the developer's, not ours to drop: refused like a drifted file.
  const clones = await clonesWithLocalWork(
    sys,
    pending.map((a) => a.undo),
  )
  if (clones.length > 0 && !force) {
    throw new ProvisionError(
      `Unable to roll back ${id}: clones hold local work that is on no remote: ${clones.join('; ')}`,
      EXIT.rollback,
      `Push or save that work, or pass \`--force\` to keep each clone in a 0600 tarball under ${ARCHIVE_DIR} and then remove it`,
    )
  }
  return written
}

/**
 * What each action wrote (seq -> path -> sha256), for the drift checks. Files in the home of a user
 * this rollback deletes together with its home (`userdel --remove`) are left out: they go with the
 * home whatever they contain now, and the desktop rewrites its settings files at the first login
 * (xfwm4 adds its defaults to xfwm4.xml), which must not block the rollback.
 */
async function writtenOutsideRemovedHomes(sys: System, actions: DerivedAction[]): Promise<WrittenBySeq> {
  const homes: string[] = []
  for (const a of actions) {
    if (a.undo.kind !== 'delete-user' || !a.undo.removeHome) continue
    const home = (await passwdEntry(sys, a.undo.username))?.home
    if (home && home.split('/').filter(Boolean).length >= 2) homes.push(home.replace(/\/+$/, ''))
  }
  const inRemovedHome = (p: string) => homes.some((h) => p.startsWith(`${h}/`))
  const out: WrittenBySeq = new Map()
  for (const a of actions) {
    const files = a.state === 'done' ? (a.result?.files ?? null) : null
    const paths = undoPaths(a.undo)
    out.set(a.seq, files && paths.length > 0 && paths.every(inRemovedHome) ? null : files)
  }
  return out
}

const hasLiveActions = (paths: EngineDeps['paths'], sessionId: string): boolean =>
  deriveActions(readJournal(paths.transactionLog(sessionId)).records).some((a) => a.state !== 'undone')

async function refuseIfBuiltOn(
  store: SessionStore,
  paths: EngineDeps['paths'],
  session: ProvisioningSession,
) {
  const all = await store.list()
  const later = all
    .slice(all.findIndex((s) => s.session_id === session.session_id) + 1)
    .filter((s) => s.command === 'run')
  for (const s of later) {
    if (hasLiveActions(paths, s.session_id)) {
      throw new ProvisionError(
        `Unable to roll back ${session.session_id}: the later session ${s.session_id} built on it and is not rolled back`,
        EXIT.rollback,
        `Roll back ${s.session_id} first, or pass --force`,
      )
    }
  }
}

/**
 * For rollback, "latest" is the newest session that still has something to undo: after a run and
 * a re-run that changed nothing, `rollback latest` undoes the run, and repeating it peels off the
 * sessions one by one. With nothing left anywhere it is the newest session (a no-op that says so).
 */
export async function latestWithWork(store: SessionStore, paths: EngineDeps['paths']): Promise<string> {
  const sessions = await store.list()
  for (const s of [...sessions].reverse()) if (hasLiveActions(paths, s.session_id)) return s.session_id
  return store.resolve('latest')
}
