// `vps-provision rollback`: undo a session's done and in-doubt actions in strict LIFO order,
// appending `undone` records to the same journal, so an interrupted rollback resumes and a finished
// one is a no-op. Refuses on a damaged journal, on drifted files (unless --force) and while a later
// session still builds on this one (unless --force).
import { join } from 'node:path'
import { passwdEntry } from '../facts/accounts.js'
import { EXIT, errorMessage, ProvisionError } from '../model/errors.js'
import { now, type Summary } from '../model/events.js'
import { PHASE_NAMES, type PhaseName, type ProvisioningSession } from '../model/schemas.js'
import { sessionTransition } from '../model/transitions.js'
import { ensurePrivateDir, readFileNoFollow, writeFileAtomic } from '../system/atomic.js'
import type { System } from '../system/port.js'
import type { EngineDeps, RollbackOptions } from './api.js'
import { CheckpointStore } from './checkpoints.js'
import { throwIfAborted } from './context.js'
import { failpoint } from './failpoints.js'
import { type DerivedAction, deriveActions, Journal, readJournal } from './journal.js'
import { withLock } from './lock-guard.js'
import { SessionStore } from './session-store.js'
import { type PhaseUndone, summarizeRollback } from './summary.js'
import { executeUndo, planUndoDrift, undoPaths } from './undo-executor.js'

export async function rollbackSession(deps: EngineDeps, opts: RollbackOptions): Promise<Summary> {
  const store = new SessionStore(deps.paths)
  const id =
    opts.session === 'latest' ? await latestWithWork(store, deps.paths) : await store.resolve(opts.session)
  return withLock(deps.paths, { sessionId: id, command: 'rollback' }, async () => {
    const { sys, paths, emit } = deps
    const started = Date.now()
    const elapsed = () => (Date.now() - started) / 1000
    const session = await store.load(id)
    const logPath = paths.transactionLog(id)
    const { records, warnings, damage } = readJournal(logPath)
    for (const w of warnings) emit({ type: 'message', ts: now(), level: 'warn', text: w })
    if (damage) {
      throw new ProvisionError(
        `Unable to roll back ${id}: the transaction log is damaged (${damage}), so its undo cannot be trusted`,
        EXIT.rollback,
        `Inspect it with \`vps-provision log ${id}\` and restore by hand from ${paths.backupDir(id)}`,
      )
    }
    if (!opts.force) await refuseIfBuiltOn(store, paths, session)

    const actions = deriveActions(records)
    const pending = selectPending(actions, opts.to)
    emit({ type: 'session-start', ts: now(), command: 'rollback', sessionId: id, phases: [] })
    if (pending.length === 0) {
      emit({
        type: 'message',
        ts: now(),
        level: 'info',
        text: `Session ${id} has nothing left to roll back.`,
      })
      const summary = summarizeRollback(session, EXIT.ok, elapsed(), [])
      // A session that stopped in preflight made no change: "already rolled back" would be untrue.
      summary.lines.push(
        actions.length === 0
          ? `Nothing to do: session ${id} changed nothing.`
          : `Nothing to do: session ${id} is already rolled back.`,
      )
      emit({ type: 'session-end', ts: now(), summary })
      return summary
    }

    const written = await writtenOutsideRemovedHomes(sys, pending)
    const drifted = await findDrift(sys, pending, written)
    if (drifted.length > 0 && !opts.force) {
      throw new ProvisionError(
        `Unable to roll back ${id}: files changed since this session wrote them: ${drifted.join(', ')}`,
        EXIT.rollback,
        'Check those files; `--force` keeps a copy of each (0600, under the session backups) and then restores them',
      )
    }

    const backupDir = paths.backupDir(id)
    const journal = Journal.open(logPath)
    const reverted = new Set<PhaseName>()
    const undone: PhaseUndone[] = []
    let failure: string | null = null
    try {
      for (const action of pending) {
        throwIfAborted(deps.signal)
        const tally = tallyFor(undone, action.phase as PhaseName)
        const actionStarted = Date.now()
        failpoint('undo.before-undone')
        let outcome: { outcome: 'undone' | 'skipped'; detail: string }
        try {
          outcome = await executeUndo(sys, action.undo, {
            backupDir,
            readBackup: (rel) => readFileNoFollow(join(backupDir, rel)),
            written: written.get(action.seq) ?? null,
            force: opts.force,
            keepDrifted: (path, data) => keepDrifted(backupDir, path, data),
          })
        } catch (err) {
          failure = `action ${action.seq} (${action.action_type} ${action.target}): ${errorMessage(err)}`
          tally.stopped = true
          tally.seconds += (Date.now() - actionStarted) / 1000
          break
        }
        journal.undone(action.seq, outcome.outcome, outcome.detail)
        failpoint('undo.after-undone')
        reverted.add(action.phase as PhaseName)
        tally.actions += 1
        tally.seconds += (Date.now() - actionStarted) / 1000
        emit({
          type: 'action',
          ts: now(),
          seq: action.seq,
          actionType: action.action_type,
          target: action.target,
          status: outcome.outcome === 'undone' ? 'undone' : 'undo-skipped',
          detail: outcome.detail,
        })
      }
    } finally {
      journal.close()
    }

    const checkpoints = new CheckpointStore(paths)
    for (const phase of reverted) await checkpoints.remove(phase)
    if (failure) {
      const summary = summarizeRollback(session, EXIT.rollback, elapsed(), undone)
      summary.lines.push(
        `Rollback stopped at ${failure}`,
        `Fix the cause, then run \`vps-provision rollback ${id}\` again: it resumes.`,
      )
      emit({ type: 'session-end', ts: now(), summary })
      return summary
    }
    if (opts.to === null) await markRolledBack(store, session)
    const summary = summarizeRollback(session, EXIT.ok, elapsed(), undone)
    summary.lines.push(
      `Rolled back ${pending.length} action(s) of session ${id}${opts.to ? ` down to phase ${opts.to}` : ''}.`,
    )
    emit({ type: 'session-end', ts: now(), summary })
    return summary
  })
}

/** The tally of the phase being undone: actions run newest first, so a phase's actions are mostly adjacent. */
function tallyFor(undone: PhaseUndone[], phase: PhaseName): PhaseUndone {
  let t = undone.find((u) => u.phase === phase)
  if (!t) {
    t = { phase, actions: 0, seconds: 0, stopped: false }
    undone.push(t)
  }
  return t
}

/** Everything begun and not yet undone, newest first; with --to, only that phase and later ones. */
function selectPending(actions: DerivedAction[], to: PhaseName | null): DerivedAction[] {
  const floor = to === null ? -1 : PHASE_NAMES.indexOf(to)
  return actions
    .filter((a) => a.state !== 'undone')
    .filter((a) => PHASE_NAMES.indexOf(a.phase as PhaseName) >= floor)
    .sort((a, b) => b.seq - a.seq)
}

/** Paths whose content is no longer what this session wrote, judged in undo order (LIFO). */
function findDrift(
  sys: System,
  actions: DerivedAction[],
  written: Map<number, Record<string, string | null> | null>,
): Promise<string[]> {
  return planUndoDrift(
    sys,
    actions.map((a) => ({ undo: a.undo, written: written.get(a.seq) ?? null })),
  )
}

/**
 * What each action wrote (seq -> path -> sha256), for the drift checks. Files in the home of a user
 * this rollback deletes together with its home (`userdel --remove`) are left out: they go with the
 * home whatever they contain now, and the desktop rewrites its settings files at the first login
 * (xfwm4 adds its defaults to xfwm4.xml), which must not block the rollback.
 */
async function writtenOutsideRemovedHomes(
  sys: System,
  actions: DerivedAction[],
): Promise<Map<number, Record<string, string | null> | null>> {
  const homes: string[] = []
  for (const a of actions) {
    if (a.undo.kind !== 'delete-user' || !a.undo.removeHome) continue
    const home = (await passwdEntry(sys, a.undo.username))?.home
    if (home && home.split('/').filter(Boolean).length >= 2) homes.push(home.replace(/\/+$/, ''))
  }
  const inRemovedHome = (p: string) => homes.some((h) => p.startsWith(`${h}/`))
  const out = new Map<number, Record<string, string | null> | null>()
  for (const a of actions) {
    const files = a.state === 'done' ? (a.result?.files ?? null) : null
    const paths = undoPaths(a.undo)
    out.set(a.seq, files && paths.length > 0 && paths.every(inRemovedHome) ? null : files)
  }
  return out
}

async function keepDrifted(backupDir: string, path: string, data: Buffer): Promise<string> {
  const dir = join(backupDir, 'drifted')
  await ensurePrivateDir(dir)
  const dest = join(dir, `${Date.now()}-${path.replaceAll('/', '_')}`)
  await writeFileAtomic(dest, data, 0o600)
  return dest
}

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
    const { records } = readJournal(paths.transactionLog(s.session_id))
    if (deriveActions(records).some((a) => a.state !== 'undone')) {
      throw new ProvisionError(
        `Unable to roll back ${session.session_id}: the later session ${s.session_id} built on it and is not rolled back`,
        EXIT.rollback,
        `Roll back ${s.session_id} first, or pass --force`,
      )
    }
  }
}

async function markRolledBack(store: SessionStore, session: ProvisioningSession): Promise<void> {
  if (session.status === 'ROLLED_BACK') return
  if (session.status === 'IN_PROGRESS' || session.status === 'INITIALIZING') {
    session.status = sessionTransition(session.status, 'FAILED')
    session.error_details ??= 'interrupted before it finished'
  }
  session.status = sessionTransition(session.status, 'ROLLED_BACK')
  await store.save(session)
}

/**
 * For rollback, "latest" is the newest session that still has something to undo: after a run and
 * a re-run that changed nothing, `rollback latest` undoes the run, and repeating it peels off the
 * sessions one by one. With nothing left anywhere it is the newest session (a no-op that says so).
 */
async function latestWithWork(store: SessionStore, paths: EngineDeps['paths']): Promise<string> {
  const sessions = await store.list()
  for (const s of [...sessions].reverse()) {
    const { records } = readJournal(paths.transactionLog(s.session_id))
    if (deriveActions(records).some((a) => a.state !== 'undone')) return s.session_id
  }
  return store.resolve('latest')
}
