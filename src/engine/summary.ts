// The summary a person reads at the end: copy-paste friendly lines, said in words (never by colour).
import type { ProvisioningSession } from '../model/schemas.js'
import type { Summary } from './events.js'
import type { SessionOutputs } from './types.js'

export function summarize(
  session: ProvisioningSession,
  exitCode: number,
  outputs: SessionOutputs | null,
  interactive: boolean,
): Summary {
  const lines = [...(outputs?.notes ?? [])]
  if (session.status === 'FAILED') {
    lines.push(`Failed: ${session.error_details ?? 'see the log'}`)
    lines.push('Resume: vps-provision run   (finished phases are skipped)')
    lines.push(`Undo:   vps-provision rollback ${session.session_id}`)
    lines.push(`Log:    vps-provision log ${session.session_id}`)
  }
  return {
    sessionId: session.session_id,
    status: session.status,
    exitCode,
    durationSeconds: Math.round(session.duration_seconds),
    phases: session.phases.map((p) => ({
      name: p.phase_name,
      status: p.status,
      durationSeconds: Math.round(p.duration_seconds * 10) / 10,
      actions: p.actions.length,
    })),
    lines,
    credentials: interactive ? (outputs?.credentials ?? null) : null,
  }
}
