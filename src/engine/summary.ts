// The summary a person reads at the end: copy-paste friendly lines, said in words (never by colour).

import { EXIT } from '../model/errors.js'
import type { Summary } from '../model/events.js'
import type { PhaseName, ProvisioningSession } from '../model/schemas.js'
import type { PartFailure, SessionOutputs } from '../steps/types.js'
import type { StatePaths } from './paths.js'

export function summarize(
  session: ProvisioningSession,
  exitCode: number,
  outputs: SessionOutputs | null,
  interactive: boolean,
  paths: StatePaths,
): Summary {
  const lines = [...(outputs?.notes ?? [])]
  if (session.status === 'FAILED') lines.push(...failureLines(session, exitCode, paths))
  for (const f of outputs?.failedParts ?? []) lines.push(...partLines(f))
  return {
    sessionId: session.session_id,
    status: session.status,
    exitCode,
    durationSeconds: Math.round(session.duration_seconds),
    phases: session.phases.map((p) => ({
      name: p.phase_name,
      status: p.status,
      durationSeconds: tenths(p.duration_seconds),
      actions: p.actions.length,
    })),
    lines,
    credentials: interactive ? (outputs?.credentials ?? null) : null,
  }
}

/**
 * A failure's reason (its first line is the one-line form; preflight adds what to do on the lines
 * after it), then what to do next. A session that failed in preflight changed nothing on the
 * machine: resume and rollback have nothing to work on, only the machine needs fixing. Its own
 * record of the attempt is kept all the same (`sessions` and `log` show it), and said to be.
 */
function failureLines(session: ProvisioningSession, exitCode: number, paths: StatePaths): string[] {
  const [first, ...more] = (session.error_details ?? 'see the log').split('\n')
  const reason = [`Failed: ${first}`, ...more]
  const id = session.session_id
  if (changedNothing(session)) {
    return [
      ...reason,
      'Nothing on the machine was changed: preflight only looks at it.',
      `Kept for \`vps-provision log ${id}\`: the session record ${paths.sessionFile(id)} and its empty journal ${paths.transactionLog(id)}.`,
      exitCode === EXIT.preflight
        ? 'Fix the machine as listed above, then run again: vps-provision run'
        : 'Run again when ready: vps-provision run',
    ]
  }
  return [
    ...reason,
    'Resume: vps-provision run   (finished phases are skipped)',
    `Undo:   vps-provision rollback ${id}`,
    `Log:    vps-provision log ${id}`,
  ]
}

/** A part that failed alone (an IDE): what, why, that it was undone, and how to try it again. */
function partLines(f: PartFailure): string[] {
  const [first, ...more] = f.error.split('\n')
  return [
    `Failed: ${f.part} (${f.phase}, step ${f.step}): ${first}`,
    ...more,
    f.undone
      ? `  What ${f.part} had changed was undone; everything else is in place.`
      : `  ${f.part} was left out before any change; everything else is in place.`,
    `  Retry just ${f.part}: ${f.retry}`,
  ]
}

function changedNothing(session: ProvisioningSession): boolean {
  const preflight = session.phases.find((p) => p.phase_name === 'preflight')
  return preflight?.status === 'FAILED' && session.phases.every((p) => p.actions.length === 0)
}

/** What one phase's rollback undid and how long it took. */
export interface PhaseUndone {
  phase: PhaseName
  actions: number
  seconds: number
  /** The rollback stopped at an action of this phase. */
  stopped: boolean
}

/**
 * A rollback's own summary: its duration (not the run's), and per phase what it undid. The run's
 * failure and its resume/undo advice do not belong here.
 */
export function summarizeRollback(
  session: ProvisioningSession,
  exitCode: number,
  seconds: number,
  undone: readonly PhaseUndone[],
): Summary {
  return {
    sessionId: session.session_id,
    status: session.status,
    exitCode,
    durationSeconds: Math.round(seconds),
    phases: undone.map((u) => ({
      name: u.phase,
      status: u.stopped ? 'STOPPED' : 'UNDONE',
      durationSeconds: tenths(u.seconds),
      actions: u.actions,
    })),
    lines: [],
    credentials: null,
  }
}

const tenths = (seconds: number) => Math.round(seconds * 10) / 10
