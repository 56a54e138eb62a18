// `vps-provision rollback`: undo a session's done and in-doubt actions in strict LIFO order,
// appending `undone` records to the same journal, so an interrupted rollback resumes and a finished
// one is a no-op. Refuses on a damaged journal, on drifted files (unless --force) and while a later
// session still builds on this one (unless --force): see rollback-guards.ts.

import { join } from 'node:path'
import { EXIT, errorMessage } from '../model/errors.js'
import { now, type Summary } from '../model/events.js'
import type { PhaseName, ProvisioningSession } from '../model/schemas.js'
import { sessionTransition } from '../model/transitions.js'
import type { Undo } from '../model/undo.js'
import { readFileNoFollow } from '../system/atomic.js'
import type { EngineDeps, RollbackOptions } from './api.js'
import { CheckpointStore } from './checkpoints.js'
import { throwIfAborted } from './context.js'
import { failpoint } from './failpoints.js'
import { type DerivedAction, Journal } from './journal.js'
import { withLock } from './lock-guard.js'
import { latestWithWork, pendingActions, refuseDrift } from './rollback-guards.js'
import { SessionStore } from './session-store.js'
import { type PhaseUndone, summarizeRollback } from './summary.js'
import { executeUndo, type UndoOutcome } from './undo-executor.js'
import { type UntilBySeq, undoOptions, type WrittenBySeq } from './undo-options.js'

export async function rollbackSession(deps: EngineDeps, opts: RollbackOptions): Promise<Summary> {
  const store = new SessionStore(deps.paths)
  const id =
    opts.session === 'latest' ? await latestWithWork(store, deps.paths) : await store.resolve(opts.session)
  return withLock(deps.paths, { sessionId: id, command: 'rollback' }, async () => {
    const started = Date.now()
    const elapsed = () => (Date.now() - started) / 1000
    const session = await store.load(id)
    const { actions, pending, until } = await pendingActions(deps, store, session, opts)
    deps.emit({ type: 'session-start', ts: now(), command: 'rollback', sessionId: id, phases: [] })
    if (pending.length === 0) return end(deps, nothingLeft(deps, session, actions, elapsed()))

    const backupDir = deps.paths.backupDir(id)
    const backups = { backupDir, readBackup: (rel: string) => readFileNoFollow(join(backupDir, rel)) }
    const written = await refuseDrift(deps.sys, id, pending, opts.force, backups)
    const { undone, reverted, failure } = await undoNewestFirst(
      deps,
      id,
      pending,
      { written, until },
      opts.force,
    )
    const checkpoints = new CheckpointStore(deps.paths)
    for (const phase of reverted) await checkpoints.remove(phase)
    if (failure) {
      const summary = summarizeRollback(session, EXIT.rollback, elapsed(), undone)
      summary.lines.push(
        `Rollback stopped at ${failure}`,
        `Fix the cause, then run \`vps-provision rollback ${id}\` again: it resumes.`,
      )
      return end(deps, summary)
    }
    if (opts.to === null && opts.user === undefined) await markRolledBack(store, session)
    const summary = summarizeRollback(session, EXIT.ok, elapsed(), undone)
    const scope = opts.to ? ` down to phase ${opts.to}` : opts.user ? ` made for ${opts.user}` : ''
    summary.lines.push(`Rolled back ${pending.length} action(s) of session ${id}${scope}.`)
    return end(deps, summary)
  })
}

function end(deps: EngineDeps, summary: Summary): Summary {
  deps.emit({ type: 'session-end', ts: now(), summary })
  return summary
}

function nothingLeft(
  deps: EngineDeps,
  session: ProvisioningSession,
  actions: DerivedAction[],
  seconds: number,
): Summary {
  const id = session.session_id
  deps.emit({
    type: 'message',
    ts: now(),
    level: 'info',
    text: `Session ${id} has nothing left to roll back.`,
  })
  const summary = summarizeRollback(session, EXIT.ok, seconds, [])
  // A session that stopped in preflight made no change: "already rolled back" would be untrue.
  summary.lines.push(
    actions.length === 0
      ? `Nothing to do: session ${id} changed nothing.`
      : `Nothing to do: session ${id} is already rolled back.`,
  )
  return summary
}

interface Progress {
  undone: PhaseUndone[]
  reverted: Set<PhaseName>
  /** The action the rollback stopped at, and why; null when every one was undone. */
  failure: string | null
}

/** Undoes `pending` in order (newest first), journaling each; stops at the first that fails. */
async function undoNewestFirst(
  deps: EngineDeps,
  id: string,
  pending: DerivedAction[],
  known: { written: WrittenBySeq; until: UntilBySeq },
  force: boolean,
): Promise<Progress> {
  const backupDir = deps.paths.backupDir(id)
  const journal = Journal.open(deps.paths.transactionLog(id))
  const progress: Progress = { undone: [], reverted: new Set(), failure: null }
  try {
    for (const group of undoGroups(pending)) {
      throwIfAborted(deps.signal)
      const newest = group[0] as DerivedAction
      const oldest = group.at(-1) as DerivedAction
      const actionStarted = Date.now()
      failpoint('undo.before-undone')
      let outcome: UndoOutcome
      try {
        const undo = group.length === 1 ? newest.undo : mergedPurge(group)
        outcome = await executeUndo(deps.sys, undo, undoOptions(backupDir, known, oldest, force))
      } catch (err) {
        progress.failure = `action ${newest.seq} (${newest.action_type} ${newest.target}): ${errorMessage(err)}`
        const tally = tallyFor(progress.undone, newest.phase as PhaseName)
        tally.stopped = true
        tally.seconds += (Date.now() - actionStarted) / 1000
        break
      }
      const seconds = (Date.now() - actionStarted) / 1000
      for (const action of group) {
        journal.undone(action.seq, outcome.outcome, outcome.detail)
        failpoint('undo.after-undone')
        progress.reverted.add(action.phase as PhaseName)
        const tally = tallyFor(progress.undone, action.phase as PhaseName)
        tally.actions += 1
        tally.seconds += seconds * shareOf(action, group)
        deps.emit(actionEvent(action, outcome))
      }
    }
  } finally {
    journal.close()
  }
  return progress
}

/**
 * The order of the work: each action alone, newest first, except the package purges, which are one
 * `apt-get purge` at the place of the oldest of them. One dpkg pass runs each trigger once instead
 * of once per transaction. Moving a purge later is safe: an action older than a package cannot
 * need it (it ran before the package was there), and a purge needs nothing they undo. What a
 * transaction's maintainer scripts wrote (remove-maintainer-files) is journaled after that
 * transaction's purge began, so it is newer than the oldest purge and is undone before the merged
 * one: the scripts' files go while the packages whose scripts wrote them are still installed.
 */
export function undoGroups(pending: readonly DerivedAction[]): DerivedAction[][] {
  const purges = pending.filter((a) => a.undo.kind === 'purge-packages')
  if (purges.length < 2) return pending.map((a) => [a])
  const oldest = purges.at(-1)
  return pending.flatMap((a) => (a.undo.kind !== 'purge-packages' ? [[a]] : a === oldest ? [purges] : []))
}

/**
 * One purge of every package of `group` (newest first). What the maintainer scripts removed of
 * /etc is put back from the record taken before the oldest install: what existed before any of
 * them. A newer record also holds what the older installs created, which must stay gone.
 */
function mergedPurge(group: readonly DerivedAction[]): Undo {
  const packages = [
    ...new Set(group.flatMap((a) => (a.undo.kind === 'purge-packages' ? a.undo.packages : []))),
  ]
  const oldest = group.at(-1)?.undo
  const restoreMissing = oldest?.kind === 'purge-packages' ? oldest.restoreMissing : undefined
  return { kind: 'purge-packages', packages, ...(restoreMissing ? { restoreMissing } : {}) }
}

/** An action's part of its group's time: by the packages it purges. */
function shareOf(action: DerivedAction, group: readonly DerivedAction[]): number {
  const count = (a: DerivedAction) => (a.undo.kind === 'purge-packages' ? a.undo.packages.length : 1)
  const total = group.reduce((sum, a) => sum + count(a), 0)
  return count(action) / total
}

export function actionEvent(action: DerivedAction, outcome: UndoOutcome) {
  return {
    type: 'action',
    ts: now(),
    seq: action.seq,
    actionType: action.action_type,
    target: action.target,
    status: outcome.outcome === 'undone' ? 'undone' : 'undo-skipped',
    detail: outcome.detail,
  } as const
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

async function markRolledBack(store: SessionStore, session: ProvisioningSession): Promise<void> {
  if (session.status === 'ROLLED_BACK') return
  if (session.status === 'IN_PROGRESS' || session.status === 'INITIALIZING') {
    session.status = sessionTransition(session.status, 'FAILED')
    session.error_details ??= 'interrupted before it finished'
  }
  session.status = sessionTransition(session.status, 'ROLLED_BACK')
  await store.save(session)
}
