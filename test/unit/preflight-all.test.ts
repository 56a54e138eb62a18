// Preflight lists every problem at once, each with what was measured, what is required and what to
// do; a check whose premise failed says it was not checked; the summary says nothing on the machine
// was changed, and which records of its own it kept.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_PHASES } from '../../phases/index.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { checkEvery } from '../../src/engine/check-every.js'
import { CheckMemo } from '../../src/engine/check-memo.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'
import type { RunEvent } from '../../src/model/events.js'
import { ChecksFailed as PreflightFailed } from '../../src/steps/checks-failed.js'
import { preflightSteps } from '../../src/steps/premised-checks.js'
import { engine } from '../helpers/engine.js'
import { FakeSystem } from '../support/fake/index.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function deps(sys: FakeSystem, events: RunEvent[]) {
  const root = mkdtempSync(join(tmpdir(), 'vps-preflight-'))
  roots.push(root)
  return {
    sys,
    paths: statePaths(root),
    emit: (e: RunEvent) => events.push(e),
    signal: new AbortController().signal,
    phases: ALL_PHASES,
    interactive: false,
  }
}

/** Debian 12, 1 GB of RAM, 4 GB free, and a system account as the username: five failures at once. */
function badMachine(): FakeSystem {
  const sys = FakeSystem.debian13({ disk: { size: 20e9, avail: 4e9 } })
  // A system account the configuration cannot know about: only this machine has it.
  sys.writeText(
    '/etc/passwd',
    `${sys.readText('/etc/passwd')}backupd:x:120:120::/nonexistent:/usr/sbin/nologin\n`,
  )
  sys.writeText(
    '/usr/lib/os-release',
    'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
  )
  sys.writeText('/proc/meminfo', 'MemTotal:        1004000 kB\nMemFree:          800000 kB\n')
  // The mirror check must not run on Debian 12: if it did, it would report this.
  sys.probes.set('*', { status: null, error: 'PROBED-ANYWAY', date: null })
  return sys
}

describe('preflight reports every failure', () => {
  it('runs every check, lists each failure with measured, required and what to do, and exits 1', async () => {
    const sys = badMachine()
    const initial = sys.snapshot()
    const events: RunEvent[] = []
    const summary = await engine.run(deps(sys, events), ConfigSchema.parse({ username: 'backupd' }), {
      force: false,
    })
    expect(summary.exitCode).toBe(EXIT.preflight)
    const text = summary.lines.join('\n')
    expect(text).toMatch(/^Failed: preflight: Unable to pass preflight: 5 of 15 checks failed: /m)
    // Measured against required, for each failure, on the Failed line (what one-line views show).
    const failed = summary.lines.find((l) => l.startsWith('Failed:')) ?? ''
    expect(failed).toMatch(/VERSION_ID=12\).*required: ID=debian, VERSION_ID=13/)
    expect(failed).toMatch(/Memory: 980 MiB RAM \(required: 2048 MB/)
    expect(failed).toMatch(/Free disk on \/: 4\.0 GB free on \/ \(required: 10 GB\)/)
    expect(failed).toMatch(/Free disk on \/var: 4\.0 GB free on \/ \(required: 10 GB\)/)
    expect(failed).toMatch(/Developer user backupd: backupd is a system account \(uid 120\)/)
    // What to do, one line per failure.
    expect(text).toContain('  - Debian 13 (trixie): Install Debian 13 (trixie) on the VPS')
    expect(text).toContain('  - Memory: Resize the VPS to at least 2 GB of RAM')
    expect(text).toContain('  - Developer user backupd: Choose another --username')
    // The mirror's suite is trixie's: not asked on Debian 12, and said so.
    expect(text).toContain(
      'Not checked: Debian mirror reachable, not checked because "Debian 13 (trixie)" failed',
    )
    expect(JSON.stringify(events)).not.toContain('PROBED-ANYWAY')
    // Each check after the first failure is shown as it is run.
    const shown = events.flatMap((e) => (e.type === 'output' ? [e.line] : []))
    expect(shown).toContain('Port 3389 free for RDP: ok: port 3389 is free or held by xrdp')
    expect(shown.some((l) => l.startsWith('Memory: FAILED: 980 MiB RAM'))).toBe(true)
    // No later phase started, and nothing changed.
    expect(events.some((e) => e.type === 'phase-start' && e.phase !== 'preflight')).toBe(false)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('says nothing was changed and suggests only fixing the machine, not resume or rollback', async () => {
    const sys = badMachine()
    const d = deps(sys, [])
    const summary = await engine.run(d, ConfigSchema.parse({}), { force: false })
    expect(summary.exitCode).toBe(EXIT.preflight)
    const text = summary.lines.join('\n')
    expect(text).toContain('Nothing on the machine was changed: preflight only looks at it.')
    // What it did write, it names: its own record of the attempt, for `vps-provision log`.
    const { paths } = d
    expect(text).toContain(
      `Kept for \`vps-provision log ${summary.sessionId}\`: the session record ${paths.sessionFile(summary.sessionId)} and its empty journal ${paths.transactionLog(summary.sessionId)}.`,
    )
    expect(text).toContain('Fix the machine as listed above, then run again: vps-provision run')
    expect(text).not.toMatch(/Resume:|Undo:|rollback/)
  })

  it('refuses a username that is already a group on this machine (useradd --user-group would fail later)', async () => {
    const sys = FakeSystem.debian13()
    sys.writeText('/etc/group', `${sys.readText('/etc/group')}docker:x:988:\n`)
    const initial = sys.snapshot()
    const cfg = ConfigSchema.parse({ username: 'docker', only: ['user-creation'] })
    const summary = await engine.run(deps(sys, []), cfg, { force: false })
    expect(summary.exitCode, summary.lines.join('\n')).toBe(EXIT.preflight)
    expect(summary.lines[0]).toMatch(/Developer user docker: docker is already a group \(gid 988\)/)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('a failure in a later phase still offers resume, undo and the log', async () => {
    const sys = FakeSystem.debian13()
    sys.failOn((argv) => (argv[0] === 'useradd' ? { exitCode: 1, stdout: '', stderr: 'boom\n' } : null))
    const summary = await engine.run(deps(sys, []), ConfigSchema.parse({ only: ['user-creation'] }), {
      force: false,
    })
    expect(summary.exitCode).toBe(EXIT.provisioning)
    const text = summary.lines.join('\n')
    expect(text).toMatch(/^Resume: vps-provision run/m)
    expect(text).toMatch(/^Undo: {3}vps-provision rollback /m)
    expect(text).not.toMatch(/Nothing on the machine was changed|Kept for/)
  })
})

describe('preflightSteps', () => {
  it('a check that throws is a failure of its own; the others still run', async () => {
    const sys = FakeSystem.debian13()
    const ran: string[] = []
    const steps = preflightSteps([
      { id: 'a', title: 'A', check: async () => ({ ok: true, detail: 'fine' }) },
      {
        id: 'b',
        title: 'B',
        check: async () => {
          throw new Error('no such tool')
        },
      },
      { id: 'c', title: 'C', needs: ['b'], check: async () => ({ ok: true, detail: 'never' }) },
      {
        id: 'd',
        title: 'D',
        check: async () => {
          ran.push('d')
          return { ok: false, detail: '1 (required: 2)', hint: 'Make it 2' }
        },
      },
    ])
    expect((await steps[0]?.check(sys))?.done).toBe(true)
    expect(await steps[1]?.check(sys)).toMatchObject({ done: false })
    const err = (await checkEvery('preflight', steps, new CheckMemo(sys))) as PreflightFailed
    expect(err).toBeInstanceOf(PreflightFailed)
    expect(err.exitCode).toBe(EXIT.preflight)
    expect((err as PreflightFailed).findings.map((f) => [f.id, f.state])).toEqual([
      ['a', 'passed'],
      ['b', 'failed'],
      ['c', 'not-checked'],
      ['d', 'failed'],
    ])
    expect(err.message).toBe(
      [
        'Unable to pass preflight: 2 of 4 checks failed: B: the check itself failed: no such tool; D: 1 (required: 2)',
        'What to do:',
        '  - D: Make it 2',
        'Not checked: C, not checked because "B" failed',
      ].join('\n'),
    )
    // Each check ran once, even though the test asked some of them before the runner asked them all.
    expect(await steps[3]?.check(sys)).toMatchObject({ done: false })
    expect(ran).toEqual(['d'])
  })

  it('refuses a check that needs a later or unknown one', () => {
    const ok = async () => ({ ok: true, detail: '' })
    expect(() =>
      preflightSteps([
        { id: 'a', title: 'A', needs: ['b'], check: ok },
        { id: 'b', title: 'B', check: ok },
      ]),
    ).toThrow(/needs b, which is not an earlier check/)
    expect(() => preflightSteps([{ id: 'a', title: 'A', needs: ['zz'], check: ok }])).toThrow(/needs zz/)
  })
})
