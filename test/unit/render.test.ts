import { Chalk } from 'chalk'
import { describe, expect, it } from 'vitest'
import type { LogView, PlanReport } from '../../src/engine/api.js'
import type { RunEvent, Summary } from '../../src/model/events.js'
import type { ProvisioningSession } from '../../src/model/schemas.js'
import { jsonRenderer } from '../../src/render/json.js'
import { plainRenderer } from '../../src/render/plain.js'
import { planLines } from '../../src/render/plan-view.js'
import { chooseRenderer, type RenderOptions } from '../../src/render/renderer.js'
import { summaryLines } from '../../src/render/summary.js'
import { clean, duration, makeOut } from '../../src/render/text.js'
import { ttyRenderer } from '../../src/render/tty.js'
import { logLines, sessionsLines, statusLines } from '../../src/render/views.js'

function capture(tty = false): RenderOptions & { text(): string } {
  const chunks: string[] = []
  const stream = { isTTY: tty, write: (s: string) => chunks.push(s) > 0 }
  return { out: makeOut(stream), color: new Chalk({ level: 0 }), tty, text: () => chunks.join('') }
}

const T = (s: number) => `2026-11-26T10:00:${String(s).padStart(2, '0')}.250Z`

const summary: Summary = {
  sessionId: '20261126-100000-abc123',
  status: 'COMPLETED',
  exitCode: 0,
  durationSeconds: 75,
  phases: [
    { name: 'preflight', status: 'COMPLETED', durationSeconds: 1.2, actions: 0 },
    { name: 'system-prep', status: 'COMPLETED', durationSeconds: 73, actions: 2 },
  ],
  lines: ['RDP address: 203.0.113.7:3389', 'SSH tunnel: ssh -L 3389:localhost:3389 root@203.0.113.7'],
  credentials: { username: 'devuser', password: 'S3cret-pass' },
}

const EVENTS: RunEvent[] = [
  {
    type: 'session-start',
    ts: T(0),
    command: 'run',
    sessionId: summary.sessionId,
    phases: [
      { name: 'preflight', title: 'Preflight checks', weight: 1 },
      { name: 'system-prep', title: 'System preparation', weight: 3 },
      { name: 'desktop-install', title: 'Desktop', weight: 5 },
    ],
  },
  { type: 'phase-start', ts: T(1), phase: 'preflight', title: 'Preflight checks', steps: 1 },
  { type: 'step-start', ts: T(1), phase: 'preflight', step: 'preflight.os', title: 'Debian 13' },
  { type: 'step-end', ts: T(2), phase: 'preflight', step: 'preflight.os', outcome: 'already-done' },
  { type: 'phase-end', ts: T(2), phase: 'preflight', status: 'COMPLETED', durationMs: 1200, actions: 0 },
  { type: 'phase-start', ts: T(3), phase: 'system-prep', title: 'System preparation', steps: 1 },
  { type: 'step-start', ts: T(3), phase: 'system-prep', step: 'apt.update', title: 'Update package lists' },
  {
    type: 'output',
    ts: T(4),
    phase: 'system-prep',
    line: '\u001b[31mGet:1 http://deb.debian.org\u001b[0m\u0007',
  },
  { type: 'action', ts: T(5), seq: 1, actionType: 'PACKAGE_INSTALL', target: 'xrdp', status: 'begin' },
  { type: 'action', ts: T(6), seq: 1, actionType: 'PACKAGE_INSTALL', target: 'xrdp', status: 'done' },
  { type: 'message', ts: T(7), level: 'warn', text: 'only 2 GB free' },
  {
    type: 'step-end',
    ts: T(8),
    phase: 'system-prep',
    step: 'apt.update',
    outcome: 'applied',
    detail: '2 packages',
  },
  { type: 'phase-end', ts: T(9), phase: 'system-prep', status: 'COMPLETED', durationMs: 6000, actions: 2 },
  { type: 'phase-skip', ts: T(9), phase: 'desktop-install', reason: 'not selected (--only)' },
  { type: 'session-end', ts: T(10), summary },
]

describe('plain renderer', () => {
  it('writes one timestamped line per event, then the summary, without colour or escapes', async () => {
    const o = capture()
    const r = plainRenderer(o)
    for (const e of EVENTS) r.emit(e)
    await r.close(summary)
    const lines = o.text().split('\n')
    expect(lines.slice(0, EVENTS.length)).toEqual([
      '2026-11-26T10:00:00Z [session] run session 20261126-100000-abc123 started: preflight, system-prep, desktop-install',
      '2026-11-26T10:00:01Z [preflight] phase started: Preflight checks (1 steps)',
      '2026-11-26T10:00:01Z [preflight] step preflight.os: started (Debian 13)',
      '2026-11-26T10:00:02Z [preflight] step preflight.os: already done',
      '2026-11-26T10:00:02Z [preflight] phase completed in 1.2s (0 actions)',
      '2026-11-26T10:00:03Z [system-prep] phase started: System preparation (1 steps)',
      '2026-11-26T10:00:03Z [system-prep] step apt.update: started (Update package lists)',
      '2026-11-26T10:00:04Z [system-prep] | Get:1 http://deb.debian.org',
      '2026-11-26T10:00:05Z [system-prep] action #1 PACKAGE_INSTALL xrdp: begin',
      '2026-11-26T10:00:06Z [system-prep] action #1 PACKAGE_INSTALL xrdp: done',
      '2026-11-26T10:00:07Z [system-prep] WARNING: only 2 GB free',
      '2026-11-26T10:00:08Z [system-prep] step apt.update: applied (2 packages)',
      '2026-11-26T10:00:09Z [system-prep] phase completed in 6s (2 actions)',
      '2026-11-26T10:00:09Z [desktop-install] phase skipped: not selected (--only)',
      '2026-11-26T10:00:10Z [session] session 20261126-100000-abc123 finished: COMPLETED in 1m 15s (exit 0)',
    ])
    const text = o.text()
    expect(text).toContain('RDP address: 203.0.113.7:3389')
    expect(text).toMatch(/ {2}system-prep {2}COMPLETED {2}1m 13s {2}2/)
    expect(text).not.toContain('\u001b')
    // Not a terminal: the password is never written.
    expect(text).not.toContain('S3cret-pass')
  })

  it('says failures in words', async () => {
    const o = capture()
    const r = plainRenderer(o)
    r.emit({
      type: 'phase-end',
      ts: T(1),
      phase: 'rdp-config',
      status: 'FAILED',
      durationMs: 500,
      actions: 1,
      error: 'x',
    })
    r.emit({ type: 'step-end', ts: T(1), phase: 'rdp-config', step: 'rdp.ini', outcome: 'failed' })
    expect(o.text()).toContain('[rdp-config] phase FAILED after 0.5s: x')
    expect(o.text()).toContain('[rdp-config] step rdp.ini: FAILED')
  })
})

describe('json renderer', () => {
  it('writes valid NDJSON: every event, then the summary last, never the password', async () => {
    const o = capture()
    const r = jsonRenderer(o)
    for (const e of EVENTS) r.emit(e)
    await r.close(summary)
    const lines = o.text().trimEnd().split('\n')
    expect(lines).toHaveLength(EVENTS.length + 1)
    const parsed = lines.map((l) => JSON.parse(l))
    expect(parsed.slice(0, -1).map((e) => e.type)).toEqual(EVENTS.map((e) => e.type))
    expect(parsed.at(-1)).toEqual({ ...summary, credentials: null })
    expect(o.text()).not.toContain('S3cret-pass')
  })
})

describe('tty renderer', () => {
  it('runs the scripted session on a non-TTY stream (listr2 fallback) and finishes', async () => {
    const o = capture()
    const r = ttyRenderer(o)
    for (const e of EVENTS) r.emit(e)
    await r.close(summary)
    const text = o.text()
    expect(text).toContain('Preflight checks')
    expect(text).toContain('System preparation')
    expect(text).toContain('Warning: only 2 GB free')
    expect(text).toContain('Session 20261126-100000-abc123: COMPLETED')
  })

  it('finishes when the engine stops mid-phase without a session-end', async () => {
    const o = capture()
    const r = ttyRenderer(o)
    for (const e of EVENTS.slice(0, 7)) r.emit(e)
    await r.close(null)
    expect(o.text()).toContain('stopped')
  })

  it('shows checks outside any outlined phase as lines (verify)', async () => {
    const o = capture()
    const r = ttyRenderer(o)
    r.emit({ type: 'session-start', ts: T(0), command: 'verify', sessionId: '-', phases: [] })
    r.emit({
      type: 'step-end',
      ts: T(1),
      phase: 'verification',
      step: 'xrdp.listening',
      outcome: 'failed',
      detail: 'no',
    })
    await r.close(null)
    expect(o.text()).toContain('FAIL  xrdp.listening: no')
  })
})

describe('summary', () => {
  it('shows the credentials once, in a box, only on a terminal', () => {
    const tty = summaryLines(summary, { ...capture(true) }).join('\n')
    expect(tty).toContain('|   password: S3cret-pass')
    expect(tty.split('S3cret-pass')).toHaveLength(2)
    expect(summaryLines(summary, capture(false)).join('\n')).not.toContain('S3cret-pass')
  })
})

describe('views', () => {
  const session: ProvisioningSession = {
    session_id: summary.sessionId,
    command: 'run',
    start_time: T(0),
    end_time: T(10),
    status: 'FAILED',
    phases: [
      {
        phase_name: 'preflight',
        status: 'FAILED',
        start_time: T(0),
        end_time: T(1),
        duration_seconds: 1,
        checkpoint_exists: false,
        actions: [],
        error_message: 'not Debian 13',
      },
    ],
    error_details: 'preflight: not Debian 13',
    duration_seconds: 10,
    vps_info: null,
    developer_user: null,
    rdp_certificate: null,
    ide_installations: [],
  }

  it('status, sessions and log are tables in words', () => {
    const o = capture()
    expect(statusLines(session, o).join('\n')).toMatch(
      /preflight {2}FAILED {2}1\.0s|preflight {2}FAILED {2}1s/,
    )
    expect(statusLines(session, o).join('\n')).not.toMatch(/^Cert:/m)
    // A file from before formats were recorded names no writer; one that does is shown.
    expect(statusLines(session, o).join('\n')).not.toMatch(/^Written:/m)
    expect(statusLines({ ...session, format: 1, written_by: 'vps-provision 0.2.0' }, o)).toContain(
      'Written:  by vps-provision 0.2.0 (session format 1)',
    )
    const fp = Array.from({ length: 32 }, () => 'AB').join(':')
    const withCert = {
      ...session,
      rdp_certificate: {
        path: '/etc/xrdp/vps-provision-cert.pem',
        sha256_fingerprint: fp,
        sha1_fingerprint: 'AB:CD',
        subject: 'CN=vps-provision-xrdp',
        not_after: T(100),
      },
    }
    expect(statusLines(withCert, o)).toContain(`Cert:     SHA-256 ${fp}`)
    expect(sessionsLines([session], o)[1]).toMatch(/^20261126-100000-abc123 {2}run {6}FAILED/)
    expect(sessionsLines([], o)[0]).toMatch(/No sessions yet/)
    const view: LogView = {
      session,
      entries: [
        {
          sequence_number: 1,
          timestamp: T(1),
          action_type: 'FILE_MODIFY',
          target: '/etc/xrdp/xrdp.ini',
          rollback_command: 'restore /etc/xrdp/xrdp.ini from backup',
          executed: true,
          state: 'done',
          phase: 'rdp-config',
          step: 'rdp.ini',
        },
      ],
      warnings: ['torn last line dropped'],
      damage: null,
    }
    const log = logLines(view, o).join('\n')
    expect(log).toContain('restore /etc/xrdp/xrdp.ini from backup')
    expect(log).toContain('Warning: torn last line dropped')
  })

  it('plan shows what would apply, why, and the diff', () => {
    const report: PlanReport = {
      phases: [
        {
          name: 'rdp-config',
          title: 'Remote desktop',
          skipped: null,
          steps: [
            { phase: 'rdp-config', step: 'rdp.pkgs', title: 'xrdp', done: true, why: null, diff: null },
            {
              phase: 'rdp-config',
              step: 'rdp.ini',
              title: 'xrdp.ini',
              done: false,
              why: 'port differs',
              diff: '--- a\n+++ b\n-port=3389\n+port=3390\n',
            },
          ],
        },
      ],
    }
    const text = planLines(report, capture()).join('\n')
    expect(text).toContain('would apply  rdp.ini: xrdp.ini (port differs)')
    expect(text).toContain('      +port=3390')
    expect(text).toContain('1 step would change this machine; 1 already done.')
  })
})

describe('helpers', () => {
  it('chooses --json over --plain over the terminal', () => {
    expect(chooseRenderer({ json: true, plain: true }, true)).toBe('json')
    expect(chooseRenderer({ plain: true }, true)).toBe('plain')
    expect(chooseRenderer({}, false)).toBe('plain')
    expect(chooseRenderer({}, true)).toBe('tty')
  })

  it('strips escape sequences and control characters', () => {
    expect(clean('a\u001b[2Jb\u001b]0;title\u0007c\u009bd\re\nf')).toBe('abcde f')
  })

  it('formats durations', () => {
    expect([duration(1.24), duration(42), duration(75), duration(3725)]).toEqual([
      '1.2s',
      '42s',
      '1m 15s',
      '1h 02m',
    ])
  })
})
