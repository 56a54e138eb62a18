// Undoes, in the middle of a run, what one failed part of a phase (an IDE) changed in this session:
// its actions newest first, each recorded as undone in the run's own journal, exactly as
// `vps-provision rollback` would. The other parts, and the phases before, stay as they are.
import { errorMessage, ProvisionError } from '../model/errors.js'
import { now } from '../model/events.js'
import type { PhaseName } from '../model/schemas.js'
import type { ContextDeps } from './context.js'
import { deriveActions, readJournal } from './journal.js'
import { actionEvent } from './rollback.js'
import { executeUndo } from './undo-executor.js'
import { undoOptions, type WrittenBySeq } from './undo-options.js'

/** Returns how many actions were undone; throws when one cannot be (the run then fails as a whole). */
export async function undoPart(
  deps: ContextDeps,
  phase: PhaseName,
  part: string,
  steps: ReadonlySet<string>,
): Promise<number> {
  const { records } = readJournal(deps.journal.path)
  const mine = deriveActions(records)
    .filter((a) => a.phase === phase && steps.has(a.step) && a.state !== 'undone')
    .reverse()
  const written: WrittenBySeq = new Map(
    mine.map((a) => [a.seq, a.state === 'done' ? (a.result?.files ?? null) : null]),
  )
  for (const action of mine) {
    try {
      const outcome = await executeUndo(
        deps.sys,
        action.undo,
        undoOptions(deps.backupDir, { written, until: new Map() }, action, false),
      )
      deps.journal.undone(action.seq, outcome.outcome, outcome.detail)
      deps.emit(actionEvent(action, outcome))
    } catch (err) {
      throw new ProvisionError(
        `Unable to undo ${part} after it failed: action ${action.seq} (${action.action_type} ${action.target}): ${errorMessage(err)}`,
        2,
        `Finish by hand, or \`vps-provision rollback\` the session; \`vps-provision log\` lists what ${part} changed`,
      )
    }
  }
  deps.emit({ type: 'message', ts: now(), level: 'info', text: `Undid ${mine.length} change(s) of ${part}.` })
  return mine.length
}
