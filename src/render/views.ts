// Human views of stored state: `status`, `sessions`, `log`. The JSON forms are the engine's own
// objects, printed as they are; these tables are for people and say every state in words.
import type { LogView } from '../model/reports.js'
import type { ProvisioningSession } from '../model/schemas.js'
import type { RenderOptions } from './renderer.js'
import { clean, duration, plainTime, statusColor, table } from './text.js'

const when = (ts: string | null) => (ts ? plainTime(ts) : '-')

export function statusLines(s: ProvisioningSession, opts: RenderOptions): string[] {
  const c = opts.color
  const out = [
    c.bold(`Session ${s.session_id} (${s.command}): ${statusColor(c, s.status)}`),
    `Started:  ${when(s.start_time)}`,
    `Finished: ${s.end_time ? `${when(s.end_time)} (${duration(s.duration_seconds)})` : 'not finished'}`,
  ]
  // Which version last wrote the file: after an upgrade, the rollback's (docs/recovery.md).
  if (s.written_by) out.push(`Written:  by ${clean(s.written_by)} (session format ${s.format ?? 1})`)
  if (s.error_details) out.push(`Error:    ${clean(s.error_details)}`)
  if (s.vps_info) out.push(`Machine:  ${s.vps_info.hostname} ${s.vps_info.os_name} ${s.vps_info.os_version}`)
  if (s.developer_user) {
    const u = s.developer_user
    out.push(`User:     ${u.username} (home ${u.home_directory}, groups ${u.groups.join(',') || '-'})`)
    if (u.credentials_location) out.push(`Password: in ${u.credentials_location}`)
  }
  for (const ide of s.ide_installations) {
    out.push(`IDE:      ${ide.ide_name} ${ide.version} (${ide.verified ? 'verified' : 'NOT verified'})`)
  }
  if (s.rdp_certificate) out.push(`Cert:     SHA-256 ${s.rdp_certificate.sha256_fingerprint}`)
  if (s.phases.length > 0) {
    const rows = [['Phase', 'Status', 'Time', 'Actions', 'Retries', 'Error']]
    for (const p of s.phases) {
      const took = p.start_time ? duration(p.duration_seconds) : '-'
      const retries = String(p.retries?.length ?? 0)
      rows.push([
        p.phase_name,
        p.status,
        took,
        String(p.actions.length),
        retries,
        clean(p.error_message ?? ''),
      ])
    }
    out.push('', ...table(rows, '  ').map((l, i) => (i === 0 ? c.dim(l) : l)))
    // Each retried network attempt, so a flaky mirror or CDN is visible after the run too.
    const retried = s.phases.flatMap((p) => (p.retries ?? []).map((r) => `${p.phase_name} ${r}`))
    if (retried.length > 0) out.push('', 'Retried:', ...retried.map((r) => `  ${clean(r)}`))
  }
  return out
}

export function sessionsLines(list: ProvisioningSession[], opts: RenderOptions): string[] {
  if (list.length === 0) return ['No sessions yet. Start one with: vps-provision run']
  const rows = [['Session', 'Command', 'Status', 'Started', 'Duration']]
  for (const s of list) {
    rows.push([
      s.session_id,
      s.command,
      s.status,
      when(s.start_time),
      s.end_time ? duration(s.duration_seconds) : '-',
    ])
  }
  return table(rows).map((l, i) => (i === 0 ? opts.color.dim(l) : l))
}

export function logLines(view: LogView, opts: RenderOptions): string[] {
  const c = opts.color
  const out: string[] = []
  if (view.session)
    out.push(c.bold(`Session ${view.session.session_id}: ${statusColor(c, view.session.status)}`))
  if (view.entries.length === 0) out.push('No recorded actions.')
  else {
    const rows = [['Seq', 'Time', 'State', 'Phase', 'Action', 'Target', 'Undo']]
    for (const e of view.entries) {
      rows.push([
        String(e.sequence_number),
        when(e.timestamp),
        e.state,
        e.phase,
        e.action_type,
        clean(e.target),
        clean(e.rollback_command),
      ])
    }
    out.push(...table(rows).map((l, i) => (i === 0 ? c.dim(l) : l)))
  }
  for (const w of view.warnings) out.push(`${c.yellow('Warning:')} ${clean(w)}`)
  if (view.damage) {
    out.push(`${c.red('Damaged journal:')} ${clean(view.damage)}`)
    out.push('Automatic rollback is refused for this session; see docs/exit-codes.md (exit 3).')
  }
  return out
}
