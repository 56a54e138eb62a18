// Retried network attempts are visible: each one is a warning while the run goes on, and is kept in
// its phase's record of the session, which `status` shows (a count per phase and the lines).
import { Chalk } from 'chalk'
import { describe, expect, it } from 'vitest'
import { defaultConfig } from '../../src/config/schema.js'
import { type ContextDeps, makeStepContext, secretsFor } from '../../src/engine/context.js'
import { emptyOutputs } from '../../src/engine/new-session.js'
import type { RunEvent } from '../../src/model/events.js'
import type { ProvisioningSession } from '../../src/model/schemas.js'
import { makeOut } from '../../src/render/text.js'
import { statusLines } from '../../src/render/views.js'
import type { System } from '../../src/system/port.js'

const TS = '2026-11-26T10:00:00.000Z'

describe('retries in the session and in status', () => {
  it("a step's retried() warns and lands in its phase's retries, with the step and secrets redacted", () => {
    const events: RunEvent[] = []
    const retries: string[] = []
    const secrets = secretsFor(null)
    secrets.add('t0ken')
    const deps = {
      sys: {} as System,
      cfg: defaultConfig(),
      facts: { virtualization: 'kvm', container: false, chroot: false, systemd: true, architecture: 'amd64' },
      emit: (e: RunEvent) => events.push(e),
      signal: new AbortController().signal,
      secrets,
      outputs: emptyOutputs(),
      backupDir: '/var/vps-provision/backups/20261206-000000-abcdef',
      retriesOf: (phase: string) => {
        expect(phase).toBe('ide-installations')
        return retries
      },
    } as unknown as ContextDeps
    const ctx = makeStepContext(deps, 'ide-installations', 'cursor-download', [])
    ctx.retried('download of https://x/?k=t0ken failed with HTTP 503 (try 1 of 4); retrying in 1000 ms')
    expect(retries).toEqual([
      'cursor-download: download of https://x/?k=[REDACTED] failed with HTTP 503 (try 1 of 4); retrying in 1000 ms',
    ])
    expect(events).toEqual([
      expect.objectContaining({
        type: 'message',
        level: 'warn',
        text: 'download of https://x/?k=[REDACTED] failed with HTTP 503 (try 1 of 4); retrying in 1000 ms',
      }),
    ])
  })

  it('status shows a Retries column and each retried attempt', () => {
    const phase = (name: 'preflight' | 'ide-installations', retries?: string[]) => ({
      phase_name: name,
      status: 'COMPLETED' as const,
      start_time: TS,
      end_time: TS,
      duration_seconds: 1,
      checkpoint_exists: true,
      actions: [],
      error_message: null,
      ...(retries ? { retries } : {}),
    })
    const s: ProvisioningSession = {
      session_id: '20261126-100000-abc123',
      command: 'run',
      start_time: TS,
      end_time: TS,
      status: 'COMPLETED',
      phases: [
        phase('preflight'),
        phase('ide-installations', [
          'cursor-download: download of http://x/c.deb failed with HTTP 503 (try 1 of 4)',
        ]),
      ],
      error_details: null,
      duration_seconds: 2,
      vps_info: null,
      developer_user: null,
      rdp_certificate: null,
      ide_installations: [],
    }
    const opts = {
      out: makeOut({ isTTY: false, write: () => true }),
      color: new Chalk({ level: 0 }),
      tty: false,
    }
    const lines = statusLines(s, opts)
    expect(lines.find((l) => l.trimStart().startsWith('Phase'))).toMatch(/Actions {2}Retries {2}Error/)
    expect(lines.find((l) => l.trimStart().startsWith('preflight'))).toMatch(/ 0 {2}\s*0\s*$/)
    expect(lines.find((l) => l.trimStart().startsWith('ide-installations'))).toMatch(/ 0 {2}\s*1\s*$/)
    expect(lines.slice(-2)).toEqual([
      'Retried:',
      '  ide-installations cursor-download: download of http://x/c.deb failed with HTTP 503 (try 1 of 4)',
    ])
  })
})
