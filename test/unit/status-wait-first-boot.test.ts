// `status --wait latest` on a cloud-init server: while cloud-init works, while the first-boot
// unit is queued or runs, "latest" is not resolved (no session yet, or the run a reboot cut off);
// the wait returns only once the unit settled, with the code of the session its run recorded.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CliDeps } from '../../src/cli/deps.js'
import { FIRST_BOOT_WAIT_COMMAND } from '../../src/cli/first-boot-names.js'
import {
  type FirstBootProbe,
  type FirstBootState,
  firstBootPending,
  systemdFirstBootProbe,
} from '../../src/cli/first-boot-wait.js'
import { runCli } from '../../src/cli/run-cli.js'
import type { Engine } from '../../src/engine/api.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'
import type { PhaseExecution, ProvisioningSession } from '../../src/model/schemas.js'
import type { ExecResult, System } from '../../src/system/port.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-wait-fb-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const TS = '2026-11-26T10:00:00.000Z'
const OLD = '20261126-100000-old001'
const NEW = '20261126-101000-new001'

function freshRoot(): string {
  const root = join(dir, `root-${n++}`)
  mkdirSync(join(root, 'var/log/vps-provision'), { recursive: true })
  mkdirSync(join(root, 'var/vps-provision'), { recursive: true })
  return root
}

const phase = (name: PhaseExecution['phase_name'], status: PhaseExecution['status']): PhaseExecution => ({
  phase_name: name,
  status,
  start_time: TS,
  end_time: TS,
  duration_seconds: 1,
  checkpoint_exists: false,
  actions: [],
  error_message: null,
})

const session = (id: string, over: Partial<ProvisioningSession> = {}): ProvisioningSession => ({
  session_id: id,
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

/** Sessions recorded so far (newest last); `latest` is the last, none throws as the engine does. */
function engineOf(sessions: () => ProvisioningSession[]): Engine {
  return {
    async status(_paths: unknown, id: string) {
      const all = sessions()
      const s = id === 'latest' ? all.at(-1) : all.find((x) => x.session_id === id)
      if (!s) throw new Error(`Unable to read session ${id}: no sessions recorded yet`)
      return s
    },
  } as unknown as Engine
}

const settled: FirstBootState = {
  cloudInitRunning: false,
  unitLoaded: false,
  active: 'inactive',
  jobQueued: false,
  exitStatus: null,
}

/** A probe that answers each state in turn, then keeps the last; counts its reads. */
function probeOf(states: Partial<FirstBootState>[]): FirstBootProbe & { reads: number } {
  const p = {
    reads: 0,
    async state() {
      const s = { ...settled, ...states[Math.min(p.reads, states.length - 1)] }
      p.reads++
      return s
    },
  }
  return p
}

function deps(root: string, engine: Engine, firstBoot: FirstBootProbe): CliDeps {
  return {
    engine,
    system: { name: 'unused' } as unknown as System,
    paths: statePaths(root),
    env: {},
    getuid: () => 0,
    waitPollMs: 20,
    firstBoot,
  }
}

const done = (id: string, over: Partial<ProvisioningSession> = {}) =>
  session(id, { status: 'COMPLETED', end_time: TS, ...over })

describe('firstBootPending', () => {
  it.each([
    ['cloud-init still running (the tool may not even be installed)', { cloudInitRunning: true }, true],
    ['the unit runs', { unitLoaded: true, active: 'activating' }, true],
    ['the unit is queued (waits for cloud-final at boot)', { unitLoaded: true, jobQueued: true }, true],
    ['the unit failed', { unitLoaded: true, active: 'failed', exitStatus: 1 }, false],
    ['the unit succeeded (its file is gone)', { active: 'active', exitStatus: 0 }, false],
    ['no cloud-init, no unit', {}, false],
    ['the unit exists but nothing starts it (disabled)', { unitLoaded: true }, false],
  ])('%s → %s', (_what, over, pending) => {
    expect(firstBootPending({ ...settled, ...over })).toBe(pending)
  })
})

describe('status --wait latest on a cloud-init server', () => {
  it('before any session: waits for cloud-init and the unit, then exits with its run', async () => {
    const root = freshRoot()
    let sessions: ProvisioningSession[] = []
    const probe = probeOf([
      { cloudInitRunning: true },
      { cloudInitRunning: true },
      { unitLoaded: true, jobQueued: true },
      { unitLoaded: true, active: 'activating' },
      { unitLoaded: true, active: 'activating' },
      { unitLoaded: true, active: 'failed', exitStatus: 1 },
    ])
    const probeState = probe.state.bind(probe)
    probe.state = async () => {
      const s = await probeState()
      // The run writes its session once the unit runs; it ends (preflight failed) as the unit fails.
      if (s.active === 'activating') sessions = [session(NEW)]
      if (s.active === 'failed')
        sessions = [
          session(NEW, {
            status: 'FAILED',
            end_time: TS,
            phases: [phase('preflight', 'FAILED')],
            error_details: 'preflight: 981 MiB RAM',
          }),
        ]
      return s
    }
    const r = await runCli(
      ['status', '--wait'],
      deps(
        root,
        engineOf(() => sessions),
        probe,
      ),
    )
    expect(probe.reads).toBe(6)
    expect(r.exitCode).toBe(EXIT.preflight)
    expect(r.stdout).toContain(`Session ${NEW} (run): FAILED`)
  })

  it('after a reboot: not the interrupted session, but the run the unit resumes', async () => {
    const root = freshRoot()
    // The interrupted run's state still says IN_PROGRESS and nobody holds the lock: alone, that reads 2.
    let sessions = [session(OLD)]
    const probe = probeOf([
      { unitLoaded: true, jobQueued: true },
      { unitLoaded: true, active: 'activating' },
      { active: 'active', exitStatus: 0 },
    ])
    const probeState = probe.state.bind(probe)
    probe.state = async () => {
      const s = await probeState()
      if (s.active === 'active')
        sessions = [session(OLD, { status: 'FAILED', error_details: 'interrupted' }), done(NEW)]
      return s
    }
    const r = await runCli(
      ['status', '--wait', '--json'],
      deps(
        root,
        engineOf(() => sessions),
        probe,
      ),
    )
    expect(r.exitCode).toBe(EXIT.ok)
    expect(JSON.parse(r.stdout).session_id).toBe(NEW)
  })

  it('a unit that failed before recording any session: its exit code and where its output is', async () => {
    const root = freshRoot()
    const probe = probeOf([{ unitLoaded: true, active: 'failed', exitStatus: EXIT.locked }])
    const r = await runCli(
      ['status', '--wait'],
      deps(
        root,
        engineOf(() => []),
        probe,
      ),
    )
    expect(r.exitCode).toBe(EXIT.locked)
    expect(r.stderr).toContain(
      `the first-boot run: it ended with exit code ${EXIT.locked} before it recorded a session`,
    )
    expect(r.stderr).toContain('/var/log/vps-provision-first-boot.log')
  })

  it('no cloud-init and no unit, no session: the usage error as before, at once', async () => {
    const root = freshRoot()
    const probe = probeOf([{}])
    const r = await runCli(
      ['status', '--wait'],
      deps(
        root,
        engineOf(() => []),
        probe,
      ),
    )
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stderr).toContain('no sessions recorded yet')
    expect(probe.reads).toBe(1)
  })

  it('--timeout while the first boot is pending: 124, the run goes on', async () => {
    const root = freshRoot()
    const probe = probeOf([{ cloudInitRunning: true }])
    const started = Date.now()
    const r = await runCli(
      ['status', '--wait', '--timeout', '0.3'],
      deps(
        root,
        engineOf(() => []),
        probe,
      ),
    )
    expect(r.exitCode).toBe(EXIT.waitTimeout)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(r.stderr).toContain('Unable to wait for the first-boot unit: its run had not ended after 0.3 s')
  })

  it('a session named explicitly is waited for directly: the unit is not asked', async () => {
    const root = freshRoot()
    const probe = probeOf([{ cloudInitRunning: true }])
    const r = await runCli(
      ['status', '--wait', NEW],
      deps(
        root,
        engineOf(() => [done(NEW)]),
        probe,
      ),
    )
    expect(r.exitCode).toBe(EXIT.ok)
    expect(probe.reads).toBe(0)
  })
})

describe('systemdFirstBootProbe', () => {
  function fakeSystem(show: string, jobs: string, seen: string[][]): System {
    const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '' }) as ExecResult
    return {
      async exec(argv: readonly string[]) {
        seen.push([...argv])
        return ok(argv[1] === 'show' ? show : jobs)
      },
    } as unknown as System
  }

  it('reads the unit, its queued job and cloud-init run files', async () => {
    const runDir = join(dir, `ci-${n++}`)
    mkdirSync(runDir)
    rmSync(join(runDir, 'x'), { force: true })
    const { writeFileSync } = await import('node:fs')
    writeFileSync(join(runDir, 'status.json'), '{}')
    const seen: string[][] = []
    const sys = fakeSystem(
      'LoadState=loaded\nActiveState=inactive\nExecMainStatus=0\nExecMainStartTimestampMonotonic=0\n',
      '42 vps-provision-first-boot.service start waiting\n',
      seen,
    )
    expect(await systemdFirstBootProbe(sys, runDir).state()).toEqual({
      cloudInitRunning: true,
      unitLoaded: true,
      active: 'inactive',
      jobQueued: true,
      exitStatus: null,
    })
    expect(seen.every((a) => a.at(-1) === 'vps-provision-first-boot.service')).toBe(true)
    writeFileSync(join(runDir, 'result.json'), '{}')
    const failed = fakeSystem(
      'LoadState=loaded\nActiveState=failed\nExecMainStatus=1\nExecMainStartTimestampMonotonic=123456\n',
      '',
      [],
    )
    expect(await systemdFirstBootProbe(failed, runDir).state()).toMatchObject({
      cloudInitRunning: false,
      active: 'failed',
      jobQueued: false,
      exitStatus: 1,
    })
    const gone = fakeSystem('LoadState=not-found\nActiveState=inactive\n', '', [])
    expect((await systemdFirstBootProbe(gone, runDir).state()).unitLoaded).toBe(false)
  })
})

describe('the documented wait command', () => {
  it('is the one docs/cloud-init.md gives, for SSH and for the Terraform remote-exec', () => {
    const doc = readFileSync(new URL('../../docs/cloud-init.md', import.meta.url), 'utf8')
    expect(doc).toContain(`ssh root@SERVER '${FIRST_BOOT_WAIT_COMMAND}'`)
    expect(doc).toContain(`inline = ["${FIRST_BOOT_WAIT_COMMAND}"]`)
    // `;`: cloud-init's exit 2 for warnings must not skip the run's wait.
    expect(FIRST_BOOT_WAIT_COMMAND).toMatch(
      /^cloud-init status --wait >\/dev\/null; vps-provision status --wait /,
    )
  })
})
