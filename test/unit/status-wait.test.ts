// `status --wait`: blocks until a session's run ends and exits with its code. Detached runs are
// read from their event log (the worker-end record, written here as the worker writes it);
// foreground runs from the session state and the state lock's holder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CliDeps } from '../../src/cli/deps.js'
import type { Supervisor } from '../../src/cli/detached.js'
import { runCli } from '../../src/cli/run-cli.js'
import { exitCodeOfSession } from '../../src/cli/wait.js'
import type { Engine } from '../../src/engine/api.js'
import { EventLog, eventLogPath } from '../../src/engine/event-log.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'
import type { PhaseExecution, ProvisioningSession } from '../../src/model/schemas.js'
import type { System } from '../../src/system/port.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-wait-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const TS = '2026-11-26T10:00:00.000Z'
const ID = '20261126-100000-wait01'

function freshRoot(): string {
  const root = join(dir, `root-${n++}`)
  mkdirSync(join(root, 'var/log/vps-provision'), { recursive: true })
  mkdirSync(join(root, 'var/vps-provision'), { recursive: true })
  return root
}

const phase = (
  name: PhaseExecution['phase_name'],
  status: PhaseExecution['status'],
  error: string | null = null,
) =>
  ({
    phase_name: name,
    status,
    start_time: TS,
    end_time: TS,
    duration_seconds: 1,
    checkpoint_exists: false,
    actions: [],
    error_message: error,
  }) satisfies PhaseExecution

const session = (over: Partial<ProvisioningSession> = {}): ProvisioningSession => ({
  session_id: ID,
  command: 'run',
  start_time: TS,
  end_time: null,
  status: 'IN_PROGRESS',
  phases: [phase('preflight', 'COMPLETED')],
  error_details: null,
  duration_seconds: 0,
  vps_info: null,
  developer_user: null,
  ide_installations: [],
  rdp_certificate: null,
  ...over,
})

/** An engine whose status() answers each state in turn, then keeps the last one. */
function engineOf(states: ProvisioningSession[]) {
  let reads = 0
  const engine = {
    async status(_paths: unknown, id: string) {
      if (id !== ID && id !== 'latest') throw new Error(`no session ${id}`)
      const s = states[Math.min(reads, states.length - 1)] as ProvisioningSession
      reads++
      return s
    },
  }
  return { engine: engine as unknown as Engine, reads: () => reads }
}

const supervisor = (alive: () => boolean): Supervisor => ({
  facts: async () => ({ systemd: true, chroot: false }),
  start: async () => {},
  alive: async () => alive(),
  running: async () => (alive() ? [ID] : []),
  stop: async () => {},
  journalTail: async () => ['node[42]: gone'],
})

function deps(root: string, engine: Engine, over: Partial<CliDeps> = {}): CliDeps {
  return {
    engine,
    system: { name: 'unused' } as unknown as System,
    paths: statePaths(root),
    env: {},
    getuid: () => 0,
    waitPollMs: 20,
    ...over,
  }
}

function holdLock(root: string, pid: number, sessionId = ID): void {
  const holder = { pid, sessionId, command: 'run', since: TS }
  writeFileSync(statePaths(root).lockFile, `${JSON.stringify(holder)}\n`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('status --wait, detached runs (the worker-end record)', () => {
  it('exits with the code the worker recorded, once it is written, and shows the status', async () => {
    const root = freshRoot()
    const log = EventLog.create(eventLogPath(statePaths(root), ID))
    log.append({ type: 'session-start', ts: TS, command: 'run', sessionId: ID, phases: [] })
    let alive = true
    const { engine } = engineOf([
      session({ status: 'COMPLETED', error_details: 'ide-installations: cursor failed' }),
    ])
    const waiting = runCli(
      ['status', '--wait', ID],
      deps(root, engine, { supervisor: supervisor(() => alive) }),
    )
    await sleep(150)
    log.append({ type: 'worker-end', ts: TS, exitCode: EXIT.partial, stoppedBy: null, error: null })
    log.close()
    alive = false
    const r = await waiting
    expect(r.exitCode).toBe(EXIT.partial)
    expect(r.stdout).toContain(`Session ${ID} (run): COMPLETED`)
    // Quiet while waiting: none of the run's progress is replayed.
    expect(r.stderr).toBe('')
  })

  it("a worker's own error (a busy lock) is its exit code and its message", async () => {
    const root = freshRoot()
    const log = EventLog.create(eventLogPath(statePaths(root), ID))
    log.append({
      type: 'worker-end',
      ts: TS,
      exitCode: EXIT.locked,
      stoppedBy: null,
      error: { message: 'Unable to lock /var/vps-provision: held by pid 7', hint: 'Wait for it' },
    })
    log.close()
    const { engine } = engineOf([])
    const r = await runCli(
      ['status', '--wait', ID],
      deps(root, engine, { supervisor: supervisor(() => false) }),
    )
    expect(r.exitCode).toBe(EXIT.locked)
    expect(r.stderr).toContain('Unable to lock /var/vps-provision: held by pid 7')
  })

  it('--timeout: exit 124 and how to wait again while the run goes on', async () => {
    const root = freshRoot()
    EventLog.create(eventLogPath(statePaths(root), ID)).close()
    const { engine } = engineOf([session()])
    const started = Date.now()
    const r = await runCli(
      ['status', '--wait', '--timeout', '0.3', ID],
      deps(root, engine, { supervisor: supervisor(() => true) }),
    )
    expect(r.exitCode).toBe(EXIT.waitTimeout)
    expect(r.exitCode).toBe(124)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(r.stderr).toContain(`Unable to wait for session ${ID}: its run had not ended after 0.3 s`)
    expect(r.stderr).toContain(`vps-provision status --wait ${ID}`)
  })

  it('a worker gone without a record: exit 2, says so', async () => {
    const root = freshRoot()
    EventLog.create(eventLogPath(statePaths(root), ID)).close()
    const { engine } = engineOf([session()])
    const r = await runCli(
      ['status', '--wait', ID],
      deps(root, engine, { supervisor: supervisor(() => false) }),
    )
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stderr).toContain('ended without recording how')
  })
})

describe('status --wait, foreground runs (the session state)', () => {
  it('polls the state while the lock holder lives, then exits with the derived code', async () => {
    const root = freshRoot()
    holdLock(root, process.pid)
    const states = [
      session({ status: 'INITIALIZING' }),
      session(),
      session(),
      session({ status: 'COMPLETED', end_time: TS, phases: [phase('preflight', 'COMPLETED')] }),
    ]
    const { engine, reads } = engineOf(states)
    const r = await runCli(['status', '--wait'], deps(root, engine))
    expect(r.exitCode).toBe(EXIT.ok)
    expect(reads()).toBeGreaterThanOrEqual(4)
    expect(r.stdout).toContain(`Session ${ID} (run): COMPLETED`)
  })

  it('a run that failed in a phase exits 2 and shows the error', async () => {
    const root = freshRoot()
    const failed = session({
      status: 'FAILED',
      phases: [phase('preflight', 'COMPLETED'), phase('desktop-install', 'FAILED', 'apt-get failed')],
      error_details: 'desktop-install: apt-get failed',
    })
    const r = await runCli(['status', '--wait', ID], deps(root, engineOf([failed]).engine))
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stdout).toContain('Error:    desktop-install: apt-get failed')
  })

  it('a run whose process is gone while its state says IN_PROGRESS: exit 2, not a hang', async () => {
    const root = freshRoot()
    // A pid that cannot exist (above any pid_max), as a killed run leaves its holder behind.
    holdLock(root, 2 ** 30)
    const r = await runCli(['status', '--wait', ID], deps(root, engineOf([session()]).engine))
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stderr).toContain('its process ended without recording how')
  })

  it('--timeout on a live foreground run: 124', async () => {
    const root = freshRoot()
    holdLock(root, process.pid)
    const r = await runCli(
      ['status', '--wait', '--timeout', '0.2', ID],
      deps(root, engineOf([session()]).engine),
    )
    expect(r.exitCode).toBe(124)
  })

  it('usage: --timeout needs --wait and a positive number; --wait and --follow do not mix', async () => {
    const root = freshRoot()
    const { engine } = engineOf([session({ status: 'COMPLETED' })])
    expect((await runCli(['status', '--timeout', '5'], deps(root, engine))).exitCode).toBe(EXIT.usage)
    expect((await runCli(['status', '--wait', '--timeout', 'soon'], deps(root, engine))).exitCode).toBe(
      EXIT.usage,
    )
    expect((await runCli(['status', '--wait', '--timeout', '0'], deps(root, engine))).exitCode).toBe(
      EXIT.usage,
    )
    expect((await runCli(['status', '--wait', '--follow'], deps(root, engine))).exitCode).toBe(EXIT.usage)
  })
})

describe('exitCodeOfSession: the code a foreground run ended with, from its record', () => {
  it.each([
    ['completed', session({ status: 'COMPLETED' }), 0],
    ['partly done', session({ status: 'COMPLETED', error_details: 'ide-installations: cursor failed' }), 7],
    [
      'preflight failed',
      session({
        status: 'FAILED',
        phases: [phase('preflight', 'FAILED', 'not Debian')],
        error_details: 'preflight: not Debian',
      }),
      1,
    ],
    [
      'verification failed',
      session({
        status: 'FAILED',
        phases: [phase('verification', 'FAILED', 'x')],
        error_details: 'verification: x',
      }),
      4,
    ],
    [
      'stopped by SIGTERM',
      session({
        status: 'FAILED',
        phases: [phase('desktop-install', 'FAILED', 'Stopped by SIGTERM')],
        error_details: 'desktop-install: Stopped by SIGTERM (hint: Resume with `vps-provision run`)',
      }),
      143,
    ],
    [
      'stopped by SIGINT',
      session({
        status: 'FAILED',
        phases: [phase('desktop-install', 'FAILED')],
        error_details: 'desktop-install: Stopped by SIGINT',
      }),
      130,
    ],
    [
      'killed, marked by the next run',
      session({ status: 'FAILED', error_details: 'interrupted: the process stopped without finishing' }),
      2,
    ],
    [
      'a rollback that failed',
      session({ command: 'rollback', status: 'FAILED', error_details: 'refused' }),
      3,
    ],
    ['a rollback that completed', session({ command: 'rollback', status: 'COMPLETED' }), 0],
    ['a run rolled back since', session({ status: 'ROLLED_BACK' }), 0],
  ])('%s → %i', (_what, s, code) => {
    expect(exitCodeOfSession(s)).toBe(code)
  })
})
