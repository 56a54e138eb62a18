// What the journal's records say about each action: done, failed, in doubt or undone, and the
// seed's TransactionLog view of them.
import type { ActionType, PhaseName, TransactionLogEntry } from '../model/schemas.js'
import { describeUndo, type Undo } from '../model/undo.js'
import type { ChangeResult } from '../steps/types.js'
import type { JournalRecord } from './journal-format.js'

export type ActionState = 'done' | 'in-doubt' | 'failed' | 'undone'

export interface DerivedAction {
  seq: number
  /** When the action began. */
  ts: string
  phase: PhaseName
  step: string
  action_type: ActionType
  target: string
  undo: Undo
  /** The developer it was made for, if any (Step.user). */
  user?: string
  state: ActionState
  result: ChangeResult | null
  error: string | null
  /** How rollback settled it, once it has. */
  undone: { outcome: 'undone' | 'skipped'; detail: string; ts: string } | null
}

/** One entry per action in seq order; a begin with neither done nor failed is in doubt. */
export function deriveActions(records: readonly JournalRecord[]): DerivedAction[] {
  const actions = new Map<number, DerivedAction>()
  for (const r of records) {
    if (r.type === 'begin') {
      const { seq, ts, phase, step, action_type, target, undo, user } = r
      const action = { seq, ts, phase, step, action_type, target, undo, ...(user ? { user } : {}) }
      actions.set(seq, { ...action, state: 'in-doubt', result: null, error: null, undone: null })
      continue
    }
    const a = actions.get(r.seq)
    if (!a) continue
    if (r.type === 'done') Object.assign(a, { state: 'done', result: r.result })
    else if (r.type === 'failed') Object.assign(a, { state: 'failed', error: r.error })
    else Object.assign(a, { state: 'undone', undone: { outcome: r.outcome, detail: r.detail, ts: r.ts } })
  }
  return [...actions.values()].sort((a, b) => a.seq - b.seq)
}

/** The seed's TransactionLog view: the undo in words, never something to execute. */
export function toTransactionLog(actions: readonly DerivedAction[]): TransactionLogEntry[] {
  return actions.map((a) => ({
    sequence_number: a.seq,
    timestamp: a.ts,
    action_type: a.action_type,
    target: a.target,
    rollback_command: describeUndo(a.undo),
    executed: a.state === 'undone',
  }))
}
