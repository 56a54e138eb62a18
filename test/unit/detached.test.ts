// Detached runs without systemd: a fake Supervisor whose "unit" is the worker's runCli in this
// process, so the client and the worker exchange everything through the real event log on disk,
// exactly as they do across a systemd unit. The real systemd path is proven by
// test/e2e/detached.test.ts over SSH in a booted container.
import { EventEmitter } from 'node:events'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CliDeps } from '../../src/cli/deps.js'
import {
  type DetachFlags,
  foregroundReason,
  type Supervisor,
  sessionOfUnit,
  unitName,
  workerArgv,
  workerEnv,
} from '../../src/cli/detached.js'
import { type CliResult, runCli } from '../../src/cli/run-cli.js'
import { sessionConfigPath } from '../../src/cli/session-config.js'
import { createInterrupts, wireSignals } from '../../src/cli/signals.js'
import type { Config } from '../../src/config/schema.js'
import type { Engine, EngineDeps } from '../../src/engine/api.js'
import { followEventLog } from '../../src/engine/event-follow.js'
import { EventLog, eventLogPath, parseEventLine } from '../../src/engine/event-log.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT, ProvisionError } from '../../src/model/errors.js'
import type { RunEvent, Summary } from '../../src/model/events.js'
import type { System } from '../../src/system/port.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-detached-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshRoot = () => join(dir, `root-${n++}`)
const TS = '2026-11-26T10:00:00.000Z'
const SELF = ['/usr/bin/node', '/usr/local/bin/vps-provision']
const SECRET = 'Sup3r-s3cret"pa$$'

const summaryOf = (sessionId: string, exitCode: number): Summary => ({
  sessionId,
  status: exitCode === 0 ? 'COMPLETED' : 'FAILED',
  exitCode,
  durationSeconds: 3,
  phases: [
    { name: 'preflight', status: exitCode === 0 ? 'COMPLETED' : 'FAILED', durationSeconds: 1, actions: 0 },
  ],
  lines: [
    'RDP:      203.0.113.7:3389',
    ...(exitCode === 0 ? [] : ['Failed: preflight: Stopped by SIGTERM', 'Resume: vps-provision run']),
  ],
  credentials: { username: 'devuser', password: SECRET },
})

/** An engine whose run waits until released (exit 0) or stopped by its signal (exit 143). */
function gatedEngine(fail?: ProvisionError) {
  let release: () => void = () => {}
  const gate = new Promise<void>((r) => {
    release = r
  })
  const runs: { opts: unknown; deps: EngineDeps; config: Config }[] = []
  const engine = {
    async run(deps: EngineDeps, config: Config, opts: { sessionId?: string }) {
      runs.push({ opts, deps, config })
      if (fail) throw fail
      const id = opts.sessionId ?? '20261126-100000-inproc'
      deps.emit({
        type: 'session-start',
        ts: TS,
        command: 'run',
        sessionId: id,
        phases: [{ name: 'preflight', title: 'Preflight checks', weight: 1 }],
      })
      deps.emit({ type: 'phase-start', ts: TS, phase: 'preflight', title: 'Preflight checks', steps: 1 })
      deps.onSecret?.(SECRET)
      // A step that carelessly prints the secret: the event log must still not hold it.
      deps.emit({ type: 'message', ts: TS, level: 'info', text: `password is ${SECRET}` })
      await Promise.race([gate, new Promise((r) => deps.signal.addEventListener('abort', r, { once: true }))])
      const code = deps.signal.aborted ? 143 : 0
      deps.emit({
        type: 'phase-end',
        ts: TS,
        phase: 'preflight',
        status: code === 0 ? 'COMPLETED' : 'FAILED',
        durationMs: 1000,
        actions: 0,
      })
      const s = summaryOf(id, code)
      deps.emit({ type: 'session-end', ts: TS, summary: s })
      return s
    },
    async status() {
      throw new Error('no sessions in this test')
    },
  }
  return { engine: engine as unknown as Engine, release: () => release(), runs }
}

interface Unit {
  argv: readonly string[]
  env: Readonly<Record<string, string>>
  controller: AbortController
  alive: boolean
  result: Promise<CliResult>
}

/** systemd stand-in: start() runs the worker's argv through runCli in this process. */
function fakeSupervisor(
  root: string,
  engine: Engine,
  opts: { facts?: { systemd: boolean; chroot: boolean } } = {},
) {
  const units = new Map<string, Unit>()
  const sup: Supervisor = {
    facts: async () => opts.facts ?? { systemd: true, chroot: false },
    async start(unit) {
      expect(unit.argv.slice(0, SELF.length)).toEqual(SELF)
      const controller = new AbortController()
      const u: Unit = {
        argv: unit.argv,
        env: unit.env,
        controller,
        alive: true,
        result: Promise.resolve() as never,
      }
      u.result = runCli(unit.argv.slice(SELF.length), {
        engine,
        system: { name: 'unused' } as unknown as System,
        paths: statePaths(root),
        env: unit.env,
        getuid: () => 0,
        signal: controller.signal,
        defaultConfigFile: join(root, 'absent.yaml'),
      }).finally(() => {
        u.alive = false
      })
      units.set(unit.name, u)
    },
    alive: async (name) => units.get(name)?.alive ?? false,
    running: async () =>
      [...units.entries()]
        .filter(([, u]) => u.alive)
        .map(([name]) => sessionOfUnit(name) as string)
        .sort(),
    stop: async (name) => units.get(name)?.controller.abort('SIGTERM'),
    journalTail: async () => ['node[42]: the last words of the worker'],
  }
  return { sup, units }
}

function client(root: string, sup: Supervisor, engine: Engine, over: Partial<CliDeps> = {}) {
  const proc = new EventEmitter()
  const controller = new AbortController()
  const interrupts = createInterrupts()
  const said: string[] = []
  wireSignals(proc, controller, (l) => said.push(l), interrupts)
  const deps: CliDeps = {
    engine,
    system: { name: 'unused' } as unknown as System,
    paths: statePaths(root),
    env: { VPS_PROVISION_USERNAME: 'devuser', PATH: '/evil' },
    getuid: () => 0,
    signal: controller.signal,
    defaultConfigFile: join(root, 'absent.yaml'),
    supervisor: sup,
    selfCommand: SELF,
    interrupts,
    detachGraceMs: 300,
    ...over,
  }
  return { deps, proc, said }
}

const waitUntil = async (what: string, ok: () => boolean | Promise<boolean>, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const onlyUnit = (units: Map<string, Unit>) => {
  const [entry] = [...units.entries()]
  if (!entry) throw new Error('no unit started')
  return { name: entry[0], id: sessionOfUnit(entry[0]) as string, unit: entry[1] }
}

const logHas = (root: string, id: string, type: string) => () => {
  try {
    return readFileSync(eventLogPath(statePaths(root), id), 'utf8').includes(`"type":"${type}"`)
  } catch {
    return false
  }
}

describe('the decision to detach', () => {
  const sd = { systemd: true, chroot: false }
  it.each([
    [{}, {}, sd, null],
    [{ foreground: true }, {}, sd, '--foreground'],
    [{}, { VPS_PROVISION_FOREGROUND: '1' }, sd, 'VPS_PROVISION_FOREGROUND'],
    [{}, { VPS_PROVISION_FOREGROUND: '0' }, sd, null],
    [{ worker: '20261126-100000-abc123' }, {}, sd, 'this is the worker'],
    [
      {},
      { INVOCATION_ID: '7470d7509b72' },
      sd,
      'already running inside a systemd unit (INVOCATION_ID is set)',
    ],
    [{}, {}, { systemd: false, chroot: true }, 'a chroot'],
    [{}, {}, { systemd: false, chroot: false }, 'systemd is not PID 1'],
  ] as [DetachFlags, Record<string, string>, typeof sd, string | null][])(
    'flags %j, env %j, facts %j -> %s',
    (flags, env, facts, reason) => {
      expect(foregroundReason(flags, env, facts)).toBe(reason)
    },
  )

  it('unit names come only from valid session ids', () => {
    expect(unitName('20261126-100000-abc123')).toBe('vps-provision-20261126-100000-abc123.service')
    for (const bad of ['../x', '20261126-100000-abc123.service', 'a b', '', '20261126-100000-ABC123'])
      expect(() => unitName(bad)).toThrow(/is not a session id/)
    expect(sessionOfUnit('vps-provision-20261126-100000-abc123.service')).toBe('20261126-100000-abc123')
    expect(sessionOfUnit('vps-provision-x.service')).toBeNull()
  })

  it("the worker's argv names its session (and --force), never a setting", () => {
    const id = '20261126-100000-abc123'
    expect(workerArgv(SELF, id, { force: true })).toEqual([
      ...SELF,
      'run',
      '--worker',
      id,
      '--plain',
      '--force',
    ])
    expect(workerArgv(SELF, id, {})).toEqual([...SELF, 'run', '--worker', id, '--plain'])
    expect(() => workerArgv(SELF, '../../etc', {})).toThrow(/is not a session id/)
  })

  it('only VPS_PROVISION_* (and NO_COLOR) reach the worker', () => {
    expect(
      workerEnv({
        VPS_PROVISION_IDES: 'vscode',
        VPS_PROVISION_FOREGROUND: '0',
        PATH: '/evil',
        LD_PRELOAD: 'x.so',
        NO_COLOR: '1',
      }),
    ).toEqual({ VPS_PROVISION_IDES: 'vscode', NO_COLOR: '1' })
  })
})

describe('the event log', () => {
  it('is created 0600 and exclusively: an existing file or a planted symlink is refused', () => {
    const root = freshRoot()
    const paths = statePaths(root)
    const log0 = join(dir, `plain-${n++}.ndjson`)
    const log = EventLog.create(log0)
    log.close()
    expect(statSync(log0).mode & 0o777).toBe(0o600)
    expect(() => EventLog.create(log0)).toThrow(/already exists/)
    const planted = join(dir, `planted-${n++}.ndjson`)
    symlinkSync('/etc/passwd', planted)
    expect(() => EventLog.create(planted)).toThrow(/already exists/)
    expect(() => eventLogPath(paths, '../../etc/shadow')).toThrow(/is not a session id/)
  })

  it('redacts secrets by value in every string and never keeps credentials', () => {
    const path = join(dir, `redact-${n++}.ndjson`)
    const log = EventLog.create(path)
    log.addSecret(SECRET)
    log.append({ type: 'message', ts: TS, level: 'warn', text: `oops ${SECRET} leaked` })
    log.append({ type: 'session-end', ts: TS, summary: summaryOf('20261126-100000-abc123', 0) })
    log.close()
    const text = readFileSync(path, 'utf8')
    expect(text).not.toContain('Sup3r-s3cret')
    expect(text).toContain('oops [REDACTED] leaked')
    const end = parseEventLine(text.trim().split('\n')[1] as string)
    expect(end).toMatchObject({ type: 'session-end', summary: { credentials: null } })
  })

  it('the follower replays, follows, keeps a half-written line for later and ends at worker-end', async () => {
    const path = join(dir, `follow-${n++}.ndjson`)
    const seen: RunEvent[] = []
    const skipped: string[] = []
    let alive = true
    const following = followEventLog(path, {
      alive: async () => alive,
      onEvent: (e) => seen.push(e),
      onSkipped: (l) => skipped.push(l),
      pollMs: 10,
      aliveEveryMs: 20,
    })
    await new Promise((r) => setTimeout(r, 50))
    const log = EventLog.create(path)
    log.append({ type: 'message', ts: TS, level: 'info', text: 'one' })
    await waitUntil('the first event', () => seen.length === 1)
    // A line in two writes: nothing is delivered until its newline arrives.
    const half = JSON.stringify({ type: 'message', ts: TS, level: 'info', text: 'two é' })
    writeFileSync(path, half.slice(0, 30), { flag: 'a' })
    await new Promise((r) => setTimeout(r, 60))
    expect(seen).toHaveLength(1)
    writeFileSync(path, `${half.slice(30)}\nnot json\n`, { flag: 'a' })
    log.append({ type: 'worker-end', ts: TS, exitCode: 0, stoppedBy: null, error: null })
    log.close()
    const end = await following
    alive = false
    expect(end).toMatchObject({ kind: 'ended', end: { exitCode: 0 } })
    expect(seen.map((e) => (e.type === 'message' ? e.text : e.type))).toEqual(['one', 'two é'])
    expect(skipped).toEqual(['not json'])
  })

  it('a worker gone without worker-end is "vanished"; an abort is "detached"', async () => {
    const path = join(dir, `vanish-${n++}.ndjson`)
    const log = EventLog.create(path)
    log.append({ type: 'message', ts: TS, level: 'info', text: 'one' })
    log.close()
    writeFileSync(path, '{"type":"message","ts":"x","le', { flag: 'a' })
    const skipped: string[] = []
    const gone = await followEventLog(path, {
      alive: async () => false,
      onEvent: () => {},
      onSkipped: (l) => skipped.push(l),
      pollMs: 5,
      aliveEveryMs: 10,
    })
    expect(gone).toEqual({ kind: 'vanished', started: true })
    expect(skipped).toHaveLength(1)
    const never = await followEventLog(join(dir, 'absent.ndjson'), {
      alive: async () => false,
      onEvent: () => {},
      pollMs: 5,
      aliveEveryMs: 10,
    })
    expect(never).toEqual({ kind: 'vanished', started: false })
    const controller = new AbortController()
    const following = followEventLog(path, {
      alive: async () => true,
      onEvent: () => {},
      signal: controller.signal,
    })
    controller.abort('SIGINT')
    expect(await following).toEqual({ kind: 'detached' })
  })
})

describe('a detached run, client and worker', () => {
  it("renders the worker's events, exits with its code and summary; the log holds no secret", async () => {
    const root = freshRoot()
    const { engine, release, runs } = gatedEngine()
    const { sup, units } = fakeSupervisor(root, engine)
    const { deps } = client(root, sup, engine)
    const running = runCli(['run', '--yes', '--config', 'conf.yaml', '--plain'], {
      ...deps,
      defaultConfigFile: undefined,
    }).catch((e) => e)
    // The configuration is checked by the client first: the file must exist.
    const early = await running
    expect(early.exitCode).toBe(EXIT.usage)
    expect(units.size).toBe(0)
    mkdirSync(root, { recursive: true })
    writeFileSync(join(root, 'conf.yaml'), 'username: devuser\n', { mode: 0o600 })
    const p = runCli(['run', '--yes', '--config', join(root, 'conf.yaml'), '--plain'], deps)
    await waitUntil('the worker to start', () => units.size === 1)
    const { id, unit } = onlyUnit(units)
    expect(unit.argv).toEqual([...SELF, 'run', '--worker', id, '--plain'])
    expect(unit.env).toEqual({ VPS_PROVISION_USERNAME: 'devuser' })
    await waitUntil('the worker to begin', logHas(root, id, 'phase-start'))
    release()
    const r = await p
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toContain(`Running as the systemd unit vps-provision-${id}.service`)
    expect(r.stdout).toContain(`[session] run session ${id} started: preflight`)
    expect(r.stdout).toContain(`Session ${id}: COMPLETED`)
    expect(r.stdout).toContain('RDP:      203.0.113.7:3389')
    // The worker ran as the engine's run with the client's session id, non-interactive.
    expect(runs[0]?.opts).toMatchObject({ sessionId: id })
    expect(runs[0]?.deps.interactive).toBe(false)
    const log = readFileSync(eventLogPath(statePaths(root), id), 'utf8')
    expect(log).not.toContain('Sup3r-s3cret')
    expect(log).toContain('password is [REDACTED]')
    expect(parseEventLine(log.trim().split('\n').at(-1) as string)).toMatchObject({
      type: 'worker-end',
      exitCode: 0,
      stoppedBy: null,
      error: null,
    })
    expect((await unit.result).exitCode).toBe(0)
  })

  it('hands the worker the configuration it validated, in a root-only file of the session', async () => {
    const root = freshRoot()
    const { engine, release, runs } = gatedEngine()
    const { sup, units } = fakeSupervisor(root, engine)
    const { deps } = client(root, sup, engine, { env: { VPS_PROVISION_USERNAME: 'alice' } })
    mkdirSync(root, { recursive: true })
    writeFileSync(join(root, 'conf.yaml'), 'rdp:\n  firewall: tunnel\nupgrade: true\n', { mode: 0o600 })
    const flags = [
      '--config',
      join(root, 'conf.yaml'),
      '--rdp-port',
      '3390',
      '--ides',
      'vscode',
      '--no-upgrade',
    ]
    const p = runCli(['run', ...flags, '--force', '--plain'], deps)
    await waitUntil('the worker to start', () => units.size === 1)
    const { id, unit } = onlyUnit(units)
    expect(unit.argv).toEqual([...SELF, 'run', '--worker', id, '--plain', '--force'])
    const file = sessionConfigPath(statePaths(root), id)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const stored = JSON.parse(readFileSync(file, 'utf8'))
    expect(stored).toMatchObject({ username: 'alice', ides: ['vscode'], upgrade: false, rdp: { port: 3390 } })
    expect(stored.rdp.firewall).toBe('tunnel')
    await waitUntil('the worker to begin', logHas(root, id, 'phase-start'))
    release()
    expect((await p).exitCode).toBe(0)
    expect(runs[0]?.config).toEqual(stored)
    expect(runs[0]?.opts).toMatchObject({ force: true, sessionId: id })
  })

  it('a worker without its stored configuration says so to its client; a failed start leaves none', async () => {
    const root = freshRoot()
    const { engine, runs } = gatedEngine()
    const id = '20261126-100000-nocfg1'
    const r = await runCli(
      ['run', '--worker', id, '--plain'],
      client(root, fakeSupervisor(root, engine).sup, engine).deps,
    )
    expect(r.exitCode).toBe(EXIT.usage)
    expect(runs).toHaveLength(0)
    const last = readFileSync(eventLogPath(statePaths(root), id), 'utf8')
      .trim()
      .split('\n')
      .at(-1) as string
    expect(parseEventLine(last)).toMatchObject({
      type: 'worker-end',
      exitCode: EXIT.usage,
      error: {
        message: expect.stringMatching(
          /^Unable to read the configuration of session 20261126-100000-nocfg1: /,
        ),
      },
    })
    const broken: Supervisor = {
      ...fakeSupervisor(root, engine).sup,
      start: async () => {
        throw new Error('Failed to connect to bus')
      },
    }
    expect((await runCli(['run'], client(root, broken, engine).deps)).exitCode).toBe(EXIT.provisioning)
    expect(readdirSync(statePaths(root).sessionsDir).filter((f) => f.startsWith('config-'))).toEqual([])
  })

  it('--foreground (or no systemd) runs in this process', async () => {
    for (const [argv, facts] of [
      [['run', '--foreground'], { systemd: true, chroot: false }],
      [['run'], { systemd: false, chroot: true }],
    ] as const) {
      const root = freshRoot()
      const { engine, release, runs } = gatedEngine()
      const { sup, units } = fakeSupervisor(root, engine, { facts })
      const { deps } = client(root, sup, engine)
      release()
      const r = await runCli([...argv], deps)
      expect(r.exitCode).toBe(0)
      expect(units.size).toBe(0)
      expect(runs).toHaveLength(1)
      expect(r.stderr).not.toContain('systemd unit')
    }
  })

  it('Ctrl-C detaches (the run goes on, exit 130); status --follow re-attaches to the end', async () => {
    const root = freshRoot()
    const { engine, release } = gatedEngine()
    const { sup, units } = fakeSupervisor(root, engine)
    const { deps, proc, said } = client(root, sup, engine, { detachGraceMs: 50 })
    const p = runCli(['run', '--plain'], deps)
    await waitUntil('the worker to start', () => units.size === 1)
    const { id, unit } = onlyUnit(units)
    await waitUntil('the worker to begin', logHas(root, id, 'phase-start'))
    proc.emit('SIGINT')
    const r = await p
    expect(r.exitCode).toBe(130)
    expect(said).toEqual([]) // no "finishing the current action": nothing is being stopped
    expect(r.stderr).toContain(`Detached: session ${id} goes on in the background`)
    expect(r.stderr).toContain(`Re-attach: vps-provision status --follow ${id}`)
    expect(r.stderr).toContain(`Stop:      vps-provision stop ${id}`)
    expect(r.stderr).not.toContain('Stopped by')
    expect(unit.alive).toBe(true)

    // `latest` is the live unit only while the worker runs: let the follower pick it before the
    // worker may end (a fixed sleep lost that race on a loaded machine).
    let picked = false
    const watched: Supervisor = { ...sup, running: async () => sup.running().finally(() => (picked = true)) }
    const again = client(root, watched, engine)
    const follow = runCli(['status', '--follow', 'latest', '--json'], again.deps)
    await waitUntil('the follower to pick the running session', () => picked)
    release()
    const f = await follow
    expect(f.exitCode).toBe(0)
    const lines = f.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines[0]).toMatchObject({ type: 'session-start', sessionId: id })
    expect(lines.at(-1)).toMatchObject({ sessionId: id, status: 'COMPLETED', exitCode: 0, credentials: null })
    expect(f.stdout).not.toContain('Sup3r-s3cret')
  })

  it('a reader that went away without a terminal (SSH drop: EPIPE, no SIGHUP) detaches the client', async () => {
    const root = freshRoot()
    const { engine, release } = gatedEngine()
    const { sup, units } = fakeSupervisor(root, engine)
    const written: string[] = []
    const stdout = Object.assign(new EventEmitter(), { write: (t: string) => written.push(t) })
    const { deps } = client(root, sup, engine, { stdout })
    const p = runCli(['run', '--plain'], deps)
    await waitUntil('the worker to start', () => units.size === 1)
    const { id, unit } = onlyUnit(units)
    await waitUntil('the worker to begin', logHas(root, id, 'phase-start'))
    await waitUntil('progress on stdout', () => written.join('').includes('preflight'))
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
    const r = await p
    expect(r.exitCode).toBe(129)
    expect(r.stderr).toContain(`Detached: session ${id} goes on in the background`)
    expect(unit.alive).toBe(true)
    expect(stdout.listenerCount('error')).toBe(0)
    release()
    expect((await unit.result).exitCode).toBe(0)
  })

  it('a second Ctrl-C without a terminal stops the run: 143, recorded, said as a stopped run', async () => {
    const root = freshRoot()
    const { engine } = gatedEngine()
    const { sup, units } = fakeSupervisor(root, engine)
    const { deps, proc } = client(root, sup, engine, { detachGraceMs: 2000 })
    const p = runCli(['run', '--plain'], deps)
    await waitUntil('the worker to start', () => units.size === 1)
    const { id, unit } = onlyUnit(units)
    await waitUntil('the worker to begin', logHas(root, id, 'phase-start'))
    proc.emit('SIGINT')
    await new Promise((r) => setTimeout(r, 50))
    proc.emit('SIGINT')
    const r = await p
    expect(r.exitCode).toBe(143)
    expect(r.stderr).toContain(`Stopping session ${id}`)
    expect(r.stderr).toContain('Stopped by SIGTERM: the action in progress was finished and recorded.')
    expect(r.stdout).toContain(`Session ${id}: FAILED`)
    // The worker's error, from its summary, is the client's error: on stderr, not in the report.
    expect(r.stderr).toContain('Failed: preflight: Stopped by SIGTERM\nResume: vps-provision run\n')
    expect(r.stdout).not.toContain('Failed: preflight')
    expect((await unit.result).exitCode).toBe(143)
    const last = readFileSync(eventLogPath(statePaths(root), id), 'utf8')
      .trim()
      .split('\n')
      .at(-1) as string
    expect(parseEventLine(last)).toMatchObject({ type: 'worker-end', exitCode: 143, stoppedBy: 'SIGTERM' })
  })

  it('on a terminal the second Ctrl-C asks first; "no" leaves the run going', async () => {
    const root = freshRoot()
    const { engine, release } = gatedEngine()
    const { sup, units } = fakeSupervisor(root, engine)
    const asked: string[] = []
    const tty = { isTTY: true, columns: 100, write: () => true }
    const { deps, proc } = client(root, sup, engine, {
      detachGraceMs: 2000,
      stdinIsTTY: true,
      stdout: tty,
      stderr: { write: (s: string) => asked.push(s) > 0 },
      confirm: async (q) => {
        asked.push(q)
        return false
      },
    })
    const p = runCli(['run', '--plain'], deps)
    await waitUntil('the worker to start', () => units.size === 1)
    const { id, unit } = onlyUnit(units)
    await waitUntil('the worker to begin', logHas(root, id, 'phase-start'))
    proc.emit('SIGINT')
    await new Promise((r) => setTimeout(r, 50))
    proc.emit('SIGINT')
    const r = await p
    expect(r.exitCode).toBe(130)
    expect(asked).toContain(`Stop session ${id} now (at the next safe point)?`)
    expect(asked.join('')).toContain(`Not stopped: session ${id} goes on in the background.`)
    expect(unit.alive).toBe(true)
    release()
    expect((await unit.result).exitCode).toBe(0)
  })

  it('`stop latest` stops the running worker at its next safe point and waits for the record', async () => {
    const root = freshRoot()
    const { engine } = gatedEngine()
    const { sup, units } = fakeSupervisor(root, engine)
    const attached = runCli(['run', '--plain'], client(root, sup, engine).deps)
    await waitUntil('the worker to start', () => units.size === 1)
    const { id } = onlyUnit(units)
    await waitUntil('the worker to begin', logHas(root, id, 'phase-start'))
    const stop = await runCli(['stop', 'latest'], client(root, sup, engine).deps)
    expect(stop.exitCode).toBe(0)
    expect(stop.stdout).toContain(
      `Session ${id} stopped (worker exit 143): every finished action is recorded.`,
    )
    const a = await attached
    expect(a.exitCode).toBe(143)
    expect(a.stderr).toContain('Stopped by SIGTERM')
    const none = await runCli(['stop'], client(root, sup, engine).deps)
    expect(none.exitCode).toBe(0)
    expect(none.stdout).toContain('Nothing to stop: no run is running in the background.')
    const bad = await runCli(['stop', '../../etc'], client(root, sup, engine).deps)
    expect(bad.exitCode).toBe(EXIT.usage)
    const notRoot = await runCli(['stop'], client(root, sup, engine, { getuid: () => 1000 }).deps)
    expect(notRoot.exitCode).toBe(EXIT.notRoot)
  })

  it("the worker's error (lock busy) reaches the client with its exit code and hint", async () => {
    const root = freshRoot()
    const busy = new ProvisionError(
      'Unable to lock /var/vps-provision: held by pid 7',
      EXIT.locked,
      'Wait for it',
    )
    const { engine } = gatedEngine(busy)
    const { sup } = fakeSupervisor(root, engine)
    const r = await runCli(['run'], client(root, sup, engine).deps)
    expect(r.exitCode).toBe(EXIT.locked)
    expect(r.stderr).toContain('Unable to lock /var/vps-provision: held by pid 7')
    expect(r.stderr).toContain(
      'hint: Wait for it; to watch the run in progress: vps-provision status --follow latest',
    )
  })

  it('status --follow of a session that ran in the foreground shows its status instead', async () => {
    const root = freshRoot()
    const { engine } = gatedEngine()
    const { sup } = fakeSupervisor(root, engine)
    const id = '20261126-100000-fg0001'
    const withStatus = {
      ...engine,
      status: async () => ({
        session_id: id,
        command: 'run',
        start_time: TS,
        end_time: TS,
        status: 'COMPLETED',
        phases: [],
        error_details: null,
        duration_seconds: 61,
        vps_info: null,
        developer_user: null,
        rdp_certificate: null,
        ide_installations: [],
      }),
    } as unknown as Engine
    const r = await runCli(['status', '--follow', id], client(root, sup, withStatus).deps)
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain(`Session ${id} (run): COMPLETED`)
    expect(r.stderr).toContain(`Session ${id} has no event log to follow (it ran in the foreground)`)
    const bad = await runCli(['status', '--follow', '../x'], client(root, sup, withStatus).deps)
    expect(bad.exitCode).toBe(EXIT.usage)
  })

  it('a worker that dies without a record: the client says so and shows its journal', async () => {
    const root = freshRoot()
    const { engine } = gatedEngine()
    const { sup } = fakeSupervisor(root, engine)
    const dead: Supervisor = { ...sup, start: async () => {}, alive: async () => false }
    const r = await runCli(['run'], client(root, dead, engine).deps)
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stderr).toMatch(
      /Unable to follow session \S+: its worker vps-provision-\S+\.service ended without recording how/,
    )
    expect(r.stderr).toContain('node[42]: the last words of the worker')
    expect(r.stderr).toMatch(/hint: Its log: journalctl -u vps-provision-/)
  })

  it('a unit that cannot start: one line and the --foreground hint', async () => {
    const root = freshRoot()
    const { engine } = gatedEngine()
    const { sup } = fakeSupervisor(root, engine)
    const broken: Supervisor = {
      ...sup,
      start: async () => {
        throw new Error('`systemd-run ...` exited 1: Failed to connect to bus')
      },
    }
    const r = await runCli(['run'], client(root, broken, engine).deps)
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stderr).toMatch(
      /^Unable to start the run as the systemd unit vps-provision-\S+\.service: `systemd-run/,
    )
    expect(r.stderr).toContain('hint: Run it in this terminal instead: vps-provision run --foreground')
    expect(r.stderr).not.toContain('    at ')
  })
})
