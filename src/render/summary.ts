// The final summary for people. Copy-paste friendly: no decoration on the lines that carry
// addresses and commands, statuses in words, and the credentials (TTY only) once, in a box.
import type { Summary } from '../model/events.js'
import { clean, duration, statusColor, table } from './text.js'
import type { RenderOptions } from './types.js'

export function summaryLines(summary: Summary, opts: RenderOptions): string[] {
  const c = opts.color
  const out: string[] = ['']
  const id = summary.sessionId === '-' ? '' : ` ${summary.sessionId}`
  out.push(
    c.bold(
      `Session${id}: ${statusColor(c, summary.status)} in ${duration(summary.durationSeconds)} (exit ${summary.exitCode})`,
    ),
  )
  if (summary.phases.length > 0) {
    const rows = [['Phase', 'Status', 'Time', 'Actions']]
    for (const p of summary.phases) {
      rows.push([
        p.name,
        p.status,
        p.status === 'PENDING' ? '-' : duration(p.durationSeconds),
        String(p.actions),
      ])
    }
    out.push('', ...table(rows, '  ').map((l, i) => (i === 0 ? c.dim(l) : l)))
  }
  if (summary.lines.length > 0) out.push('', ...summary.lines.map(clean))
  if (summary.credentials && opts.tty) out.push('', ...credentialsBox(summary.credentials, opts))
  return out
}

function credentialsBox(creds: { username: string; password: string }, opts: RenderOptions): string[] {
  const body = [
    'Login for RDP and sudo (shown only this once, not stored):',
    '',
    `  username: ${clean(creds.username)}`,
    `  password: ${clean(creds.password)}`,
    '',
    'Change it after the first login with: passwd',
  ]
  const width = Math.max(...body.map((l) => l.length)) + 2
  const c = opts.color
  return [
    c.yellow(`+${'-'.repeat(width)}+`),
    ...body.map((l) => `${c.yellow('|')} ${l.padEnd(width - 2)} ${c.yellow('|')}`),
    c.yellow(`+${'-'.repeat(width)}+`),
  ]
}

export function printSummary(summary: Summary, opts: RenderOptions): void {
  for (const line of summaryLines(summary, opts)) opts.out.line(line)
}
