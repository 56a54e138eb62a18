// The state machines of the data model. Every status change goes through `transition`, so an
// illegal move (COMPLETED -> RUNNING, say) is a bug we hear about instead of a corrupt session file.
import type { ActionStatus, PhaseStatus, SessionStatus } from './schemas.js'

const SESSION: Record<SessionStatus, readonly SessionStatus[]> = {
  INITIALIZING: ['IN_PROGRESS', 'FAILED'],
  IN_PROGRESS: ['COMPLETED', 'FAILED'],
  // A completed session can still be rolled back on request; a failed one is what rollback is for.
  COMPLETED: ['ROLLED_BACK'],
  FAILED: ['ROLLED_BACK'],
  ROLLED_BACK: [],
}

const PHASE: Record<PhaseStatus, readonly PhaseStatus[]> = {
  PENDING: ['RUNNING', 'SKIPPED'],
  RUNNING: ['COMPLETED', 'FAILED'],
  COMPLETED: [],
  SKIPPED: [],
  FAILED: [],
}

const ACTION: Record<ActionStatus, readonly ActionStatus[]> = {
  PENDING: ['COMPLETED', 'FAILED'],
  COMPLETED: [],
  FAILED: [],
}

export class IllegalTransition extends Error {
  constructor(kind: string, from: string, to: string) {
    super(`Illegal ${kind} transition ${from} -> ${to}`)
    this.name = 'IllegalTransition'
  }
}

function make<S extends string>(kind: string, table: Record<S, readonly S[]>) {
  return (from: S, to: S): S => {
    if (!table[from].includes(to)) throw new IllegalTransition(kind, from, to)
    return to
  }
}

export const sessionTransition = make('session', SESSION)
export const phaseTransition = make('phase', PHASE)
export const actionTransition = make('action', ACTION)
