// Lock-out insurance (issue 21 item 7) on the fake Debian 13: at a terminal, a change of how SSH is
// reached (the sshd drop-in, enabling ufw) is bracketed by a systemd transient timer that undoes it
// unless `confirm` comes from a NEW SSH connection; unattended runs have no timer.
import { readFileSync, rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { SSHD_DROPIN } from '../../phases/user-creation.js'
import { sshdAncestor } from '../../src/cli/ssh-confirm.js'
import type { EngineDeps, SshOrigin } from '../../src/engine/api.js'
import { revertUnit } from '../../src/engine/ssh-guard.js'
import { EXIT } from '../../src/model/errors.js'
import type { RunEvent } from '../../src/model/events.js'
import { engine } from '../helpers/engine.js'
import type { FakeSystem } from '../support/fake/index.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

const SELF = ['/usr/bin/node', '/usr/lib/vps-provision/vps-provision.mjs']
const RUN_FROM: SshOrigin = { connection: '203.0.113.7 50022 192.0.2.10 22', sshdPid: 4101 }
const NEW_CONNECTION: SshOrigin = { connection: '203.0.113.7 50444 192.0.2.10 22', sshdPid: 4377 }

function world(sys: FakeSystem, origin: SshOrigin | null, events: RunEvent[] = []) {
  const w = workstationWorld(sys, events)
  roots.push(w.root)
  const deps: EngineDeps = { ...w.deps, sshOrigin: origin, selfCommand: SELF, guardPollMs: 5 }
  return deps
}

const hardening = (over: object = {}) =>
  workstationConfig({ only: ['user-creation'], skipProbe: true, ssh: { disableRootLogin: true }, ...over })

const armed = (sys: FakeSystem) => sys.execLog.filter((e) => e.argv[0] === 'systemd-run')

/** Resolves with the timer's name once the run has armed it (the run then waits). */
async function timerArmed(sys: FakeSystem): Promise<string> {
  for (let i = 0; i < 2000; i++) {
    const entry = armed(sys)[0]
    const unit = entry?.argv.find((a) => a.startsWith('--unit='))?.slice('--unit='.length)
    if (unit && sys.service(`${unit}.timer`)?.active) return `${unit}.timer`
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error('the run never armed its revert timer')
}

describe('SSH changes at a terminal wait for a confirmation from a new connection', () => {
  it('arms a transient timer before the drop-in, keeps the change once confirmed, and re-runs with 0 actions', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const d = world(sys, RUN_FROM)
    const running = engine.run(d, hardening(), { force: false })
    const timer = await timerArmed(sys)

    // The timer is armed before the drop-in is written, and runs this program's revert-pending.
    const argv = armed(sys)[0]?.argv ?? []
    expect(argv).toContain('--on-active=180')
    expect(argv).toContain('--timer-property=AccuracySec=1s')
    expect(argv.slice(argv.indexOf('--') + 1, -1)).toEqual([...SELF, 'revert-pending'])
    expect(sys.readText(SSHD_DROPIN)).toContain('PermitRootLogin no')

    // From the run's own connection: refused, the timer still counts.
    const same = await engine.confirmSsh(d, { connection: null, sshdPid: RUN_FROM.sshdPid })
    expect(same).toMatchObject({ confirmed: false })
    expect(same.confirmed ? '' : same.reason).toMatch(/the SSH connection session .* was started from/)
    // Not over SSH at all: refused too (only a new SSH login proves SSH works).
    const console = await engine.confirmSsh(d, { connection: null, sshdPid: null })
    expect(console.confirmed ? '' : console.reason).toMatch(/not an SSH connection/)
    expect(sys.service(timer)?.active).toBe(true)

    const ok = await engine.confirmSsh(d, NEW_CONNECTION)
    expect(ok).toMatchObject({ confirmed: true, timer })
    const summary = await running
    expect(summary.exitCode).toBe(EXIT.ok)
    expect(sys.service(timer)).toBeNull()
    expect(sys.readText(SSHD_DROPIN)).toContain('PermitRootLogin no')

    const again = await engine.run(d, hardening(), { force: false })
    expect(again.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
    expect(armed(sys)).toHaveLength(1)

    const back = await engine.rollback(d, { session: summary.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(EXIT.ok)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('not confirmed: the timer undoes the drop-in and reloads sshd, and the run goes on without it (partly done)', async () => {
    const sys = workstationMachine()
    const events: RunEvent[] = []
    const d = world(sys, RUN_FROM, events)
    const running = engine.run(d, hardening(), { force: false })
    const timer = await timerArmed(sys)
    const session = timer.slice('vps-provision-revert-'.length, -'.timer'.length)
    expect(timer).toBe(`${revertUnit(session)}.timer`)

    // The timer elapses: systemd runs the argv it was given, this program's revert-pending.
    const elapsed = sys.elapse(timer)
    expect(elapsed?.argv.slice(-2)).toEqual(['revert-pending', session])
    const reloadsBefore = sys.execLog.filter((e) => e.argv.join(' ') === 'systemctl reload ssh').length
    // The run still waits and holds the lock: the revert puts the machine back, the run journals it.
    const revert = await engine.revertPending(d, session)
    elapsed?.exited()
    expect(revert.journaled).toBe(false)
    expect(sys.readText(SSHD_DROPIN)).toBeNull()
    expect(sys.execLog.filter((e) => e.argv.join(' ') === 'systemctl reload ssh').length).toBe(
      reloadsBefore + 1,
    )

    const summary = await running
    expect(summary.exitCode).toBe(EXIT.partial)
    expect(JSON.stringify(summary)).toContain('ssh-settings')
    const warned = events.flatMap((e) => (e.type === 'message' && e.level === 'warn' ? [e.text] : []))
    expect(warned.join('\n')).toMatch(
      /open a NEW SSH connection .* run `sudo vps-provision confirm` within 180 s/,
    )
    expect(warned.join('\n')).toMatch(/Not confirmed within 180 s/)
    // Every action after the timer's was recorded as undone, so a rollback finds no drift.
    const journal = readFileSync(d.paths.transactionLog(session), 'utf8')
    const undone = journal.split('\n').filter((l) => l.includes('"type":"undone"'))
    expect(undone.length).toBeGreaterThanOrEqual(3)
    const back = await engine.rollback(d, { session, to: null, force: false })
    expect(back.exitCode).toBe(EXIT.ok)
  })

  it('the run gone (killed): the revert takes the lock and records the undo itself; rollback then finds no drift', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const d = world(sys, RUN_FROM)
    const running = engine.run(d, hardening(), { force: false })
    const timer = await timerArmed(sys)
    const session = timer.slice('vps-provision-revert-'.length, -'.timer'.length)
    await engine.confirmSsh(d, NEW_CONNECTION)
    await running
    // As if the run had died waiting: the record says armed again, and no run holds the lock.
    const record = `${d.paths.sessionsDir}/ssh-guard-${session}.json`
    const text = readFileSync(record, 'utf8').replace('"confirmed"', '"armed"')
    await import('node:fs/promises').then((fs) => fs.writeFile(record, text))
    const revert = await engine.revertPending(d, session)
    expect(revert.journaled).toBe(true)
    expect(sys.readText(SSHD_DROPIN)).toBeNull()
    expect(readFileSync(d.paths.transactionLog(session), 'utf8')).toContain('not confirmed in time')
    const back = await engine.rollback(d, { session, to: null, force: false })
    expect(back.exitCode).toBe(EXIT.ok)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('enabling ufw waits too; rollback of the session stops a timer still armed', async () => {
    const sys = workstationMachine()
    const d = world(sys, RUN_FROM)
    const cfg = workstationConfig({ only: ['system-prep'], skipProbe: true })
    const running = engine.run(d, cfg, { force: false })
    const timer = await timerArmed(sys)
    expect((await sys.exec(['ufw', 'status'])).stdout).toMatch(/Status: active/)
    await engine.confirmSsh(d, NEW_CONNECTION)
    const summary = await running
    expect(summary.exitCode).toBe(EXIT.ok)
    // A timer armed by hand under the same name, as if the run had been killed while it counted.
    await sys.exec([
      'systemd-run',
      `--unit=${timer.slice(0, -'.timer'.length)}`,
      '--on-active=180',
      '--',
      'true',
    ])
    const back = await engine.rollback(d, { session: summary.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(EXIT.ok)
    expect(sys.service(timer)).toBeNull()
    // The rollback purged ufw with the base packages (a firewall left inactive before that).
    expect((await sys.exec(['ufw', 'status'], { allowFailure: true })).stdout).not.toMatch(/Status: active/)
  })
})

describe('unattended runs keep today’s checks and arm no timer', () => {
  it.each([
    ['no terminal (cloud-init, --yes without a TTY)', null, {}],
    ['ssh.confirmTimeoutSeconds: 0', RUN_FROM, { confirmTimeoutSeconds: 0 }],
  ])('%s', async (_why, origin, ssh) => {
    const sys = workstationMachine()
    const d = world(sys, origin)
    const cfg = workstationConfig({
      only: ['system-prep', 'user-creation'],
      skipProbe: true,
      ssh: { disableRootLogin: true, ...ssh },
    })
    const summary = await engine.run(d, cfg, { force: false })
    expect(summary.exitCode).toBe(EXIT.ok)
    expect(armed(sys)).toHaveLength(0)
    expect(sys.readText(SSHD_DROPIN)).toContain('PermitRootLogin no')
    expect((await sys.exec(['ufw', 'status'])).stdout).toMatch(/Status: active/)
  })
})

describe('the SSH connection a process runs in', () => {
  const stats: Record<number, string> = {
    900: '900 (node) S 880 900 1 0',
    880: '880 (sudo) S 870 880 1 0',
    870: '870 (bash) S 860 870 1 0',
    860: '860 (sshd-session) S 850 860 1 0',
    850: '850 (sshd-session) S 1 850 1 0',
    1: '1 (systemd) S 0 1 1 0',
    700: '700 (node (x) y) S 1 700 1 0',
  }
  const read = async (pid: number) => stats[pid] ?? null

  it('is the nearest sshd-session above it, whatever sudo did to the environment', async () => {
    expect(await sshdAncestor(read, 900)).toBe(860)
  })

  it('is none for a process that no sshd started (a console, a systemd unit)', async () => {
    expect(await sshdAncestor(read, 700)).toBeNull()
  })
})
