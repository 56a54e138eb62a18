// Docker in the workspaces phase (issue 22 item 3) on the fake Debian 13: the steps a config asks
// for, daemon.json merged rather than replaced, a whole run that converges, a re-run with zero
// actions, rollback back to the starting machine, and the volume rules: ours (both labels) go, a
// volume a person made stays, one of our name that is not ours is refused before any change. The
// real engine in a container or VM: test/e2e/docker-vm.test.ts.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { dockerSteps } from '../../phases/workspaces/docker.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { deriveActions, readJournal } from '../../src/engine/journal.js'
import { executeUndo, type UndoOptions } from '../../src/engine/undo-executor.js'
import { DAEMON_JSON, DaemonJsonError, daemonJsonWithLoopback, dockerVolume } from '../../src/facts/docker.js'
import { Undo } from '../../src/model/undo.js'
import { engine } from '../helpers/engine.js'
import type { FakeSystem } from '../support/fake/index.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

const FACTS = { chroot: false, container: false, systemd: true } as never
const input = (over: object) =>
  ({ cfg: ConfigSchema.parse(over), facts: FACTS, interactive: false, createdUsers: [] }) as never
const DOCKER = { docker: { enabled: true, volumes: ['data', 'cache'] } }

describe('docker steps', () => {
  const ids = (over: object) => dockerSteps(input(over)).map((s) => s.id)

  it('are none unless docker.enabled', () => {
    expect(ids({})).toEqual([])
    expect(ids({ docker: { volumes: ['data'] } })).toEqual([])
  })

  it('make the group before the engine, then daemon.json, the service, each developer, each volume', () => {
    expect(ids({ ...DOCKER, username: 'ana' })).toEqual([
      'docker-group',
      'docker-packages',
      'docker-daemon-json',
      'docker-restart',
      'docker-service',
      'docker-member.ana',
      'docker-volume.data',
      'docker-volume.cache',
    ])
  })

  it("leave daemon.json alone with publishOnLoopback: false (Docker's default, every address)", () => {
    const got = ids({ docker: { enabled: true, publishOnLoopback: false } })
    expect(got.filter((id) => id.includes('daemon-json') || id.includes('restart'))).toEqual([])
  })
})

describe('daemon.json', () => {
  it('is our one key when there is none', () => {
    expect(JSON.parse(daemonJsonWithLoopback(null))).toEqual({ ip: '127.0.0.1' })
  })

  it("keeps a person's keys, in their order, and only changes ip", () => {
    const theirs = '{"log-driver": "journald", "ip": "0.0.0.0", "data-root": "/srv/docker"}'
    const merged = daemonJsonWithLoopback(theirs)
    expect(Object.entries(JSON.parse(merged))).toEqual([
      ['log-driver', 'journald'],
      ['ip', '127.0.0.1'],
      ['data-root', '/srv/docker'],
    ])
  })

  it('is left byte for byte when it already says so', () => {
    const same = '{ "ip":"127.0.0.1",\n  "debug": true }\n'
    expect(daemonJsonWithLoopback(same)).toBe(same)
  })

  it('refuses a file that is not a JSON object instead of replacing it', () => {
    expect(() => daemonJsonWithLoopback('{"ip": ')).toThrow(DaemonJsonError)
    expect(() => daemonJsonWithLoopback('[1]')).toThrow(/not a JSON object/)
  })
})

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

const world = (sys: FakeSystem) => {
  const w = workstationWorld(sys)
  roots.push(w.root)
  return w
}

const labelsOf = async (sys: FakeSystem, name: string) => {
  const v = await dockerVolume(sys, name)
  return v.state === 'present' ? v.labels : v.state
}

describe('docker on the fake Debian 13', () => {
  it('converges, re-runs with no action, and rollback returns the machine to its start', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const w = world(sys)
    const cfg = workstationConfig(DOCKER)
    const first = await engine.run(w.deps, cfg, { force: false })
    expect(first.exitCode).toBe(0)
    expect(sys.packageVersion('docker.io')).not.toBeNull()
    expect(sys.packageVersion('docker-compose')).not.toBeNull()
    expect(JSON.parse(sys.readText(DAEMON_JSON) ?? '{}')).toEqual({ ip: '127.0.0.1' })
    expect((await sys.exec(['getent', 'group', 'docker'])).stdout).toMatch(new RegExp(`:${cfg.username}\\n$`))
    for (const v of ['data', 'cache'])
      expect(await labelsOf(sys, v)).toEqual({
        'vps-provision': '1',
        'vps-provision.session': first.sessionId,
      })
    const created = sys.execLog.filter((e) => e.argv[0] === 'docker' && e.argv[2] === 'create')
    expect(created.map((e) => e.argv)).toEqual(
      ['data', 'cache'].map((v) => [
        ...['docker', 'volume', 'create', '--label', 'vps-provision=1'],
        ...['--label', `vps-provision.session=${first.sessionId}`, v],
      ]),
    )

    // The order rollback relies on (newest first): the group and containerd's directories come back
    // out after the purge, keep-docker-data just before it.
    const docker = deriveActions(readJournal(w.deps.paths.transactionLog(first.sessionId)).records)
      .filter((a) => a.phase === 'workspaces')
      .map((a) => `${a.undo.kind} ${a.target}`)
    expect(docker.slice(0, 3)).toEqual([
      'delete-group group docker',
      'remove-dir /etc/cni (containerd makes it)',
      'remove-dir /etc/cni/net.d (containerd makes it)',
    ])
    const purge = docker.findIndex((d) => d.startsWith('purge-packages'))
    expect(docker[purge]).toMatch(/^purge-packages docker\.io docker-cli docker-compose$/)
    expect(docker.findIndex((d) => d.startsWith('keep-docker-data'))).toBeGreaterThan(purge)

    const again = await engine.run(w.deps, cfg, { force: false })
    expect(again.exitCode).toBe(0)
    expect(again.phases.find((p) => p.name === 'workspaces')?.status).toBe('SKIPPED')
    expect(again.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)

    const back = await engine.rollback(w.deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.packageVersion('docker.io')).toBeNull()
    expect((await sys.exec(['getent', 'group', 'docker'], { allowFailure: true })).exitCode).toBe(2)
    // Debian's purge empties /var/lib/docker (dockerd made it) and leaves the directory itself.
    const after = sys.snapshot()
    expect(after.files['/var/lib/docker']).toMatchObject({ kind: 'dir', mode: 0o710 })
    expect(Object.keys(after.files).filter((f) => f.startsWith('/var/lib/docker/'))).toEqual([])
    delete after.files['/var/lib/docker']
    expect(after).toEqual(initial)
  })

  it('rollback removes our volumes and leaves one a person made, with its data', async () => {
    const sys = workstationMachine()
    const w = world(sys)
    const first = await engine.run(w.deps, workstationConfig(DOCKER), { force: false })
    expect(first.exitCode).toBe(0)
    await sys.exec(['docker', 'volume', 'create', 'theirs'])
    sys.writeText('/var/lib/docker/volumes/theirs/_data/notes.txt', 'keep me\n')
    const back = await engine.rollback(w.deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.readText('/var/lib/docker/volumes/theirs/_data/notes.txt')).toBe('keep me\n')
    expect(sys.readText('/var/lib/docker/volumes/theirs/labels.json')).toBe('{}')
    const kept = w.events.find((e) => JSON.stringify(e).includes('kept /var/lib/docker'))
    expect(JSON.stringify(kept)).toContain('it holds volume theirs')
    expect(sys.readText('/var/lib/docker/volumes/data/labels.json')).toBeNull()
    expect(sys.readText('/var/lib/docker/volumes/cache/labels.json')).toBeNull()
    expect(sys.packageVersion('docker.io')).toBeNull()
  })

  it("plan shows daemon.json's diff, and a person's daemon.json keeps its keys and comes back on rollback", async () => {
    const sys = workstationMachine()
    await sys.exec(['apt-get', 'install', '-y', 'docker.io', 'docker-cli'])
    const theirs = '{\n  "log-driver": "journald"\n}\n'
    sys.writeText(DAEMON_JSON, theirs, { mode: 0o600 })
    const w = world(sys)
    const cfg = workstationConfig(DOCKER)
    const plan = await engine.plan(w.deps, cfg)
    const step = plan.phases.flatMap((p) => p.steps).find((s) => s.step === 'workspaces.docker-daemon-json')
    expect(step?.done).toBe(false)
    expect(step?.diff).toContain('+  "ip": "127.0.0.1"')
    expect(step?.diff).toContain('"log-driver": "journald"')
    const first = await engine.run(w.deps, cfg, { force: false })
    expect(first.exitCode).toBe(0)
    expect(JSON.parse(sys.readText(DAEMON_JSON) ?? '')).toEqual({ 'log-driver': 'journald', ip: '127.0.0.1' })
    expect((await sys.stat(DAEMON_JSON))?.mode).toBe(0o600)
    // docker was running: it restarted once to read the file.
    expect(sys.execLog.filter((e) => e.argv.join(' ') === 'systemctl restart docker')).toHaveLength(1)
    const back = await engine.rollback(w.deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.readText(DAEMON_JSON)).toBe(theirs)
    // The engine was there before: rollback leaves it installed.
    expect(sys.packageVersion('docker.io')).not.toBeNull()
  })

  it('puts every developer in the docker group, and user remove takes one back out', async () => {
    const sys = workstationMachine()
    const w = world(sys)
    const cfg = workstationConfig({ ...DOCKER, users: [{ name: 'alice' }, { name: 'bob', sudo: false }] })
    const first = await engine.run(w.deps, cfg, { force: false })
    expect(first.exitCode, first.lines.join('\n')).toBe(0)
    const members = async () => (await sys.exec(['getent', 'group', 'docker'])).stdout.trim().split(':')[3]
    expect(await members()).toBe('alice,bob')
    const removed = await engine.removeUser(w.deps, { name: 'bob', keepHome: false, force: false })
    expect(removed.exitCode, removed.lines.join('\n')).toBe(0)
    expect(await members()).toBe('alice')
    // The engine and our volumes are the team's, not bob's.
    expect(await labelsOf(sys, 'data')).toMatchObject({ 'vps-provision': '1' })
  })

  it('stops at a daemon.json that is not JSON, saying so, and leaves the file as it was', async () => {
    const sys = workstationMachine()
    await sys.exec(['apt-get', 'install', '-y', 'docker.io', 'docker-cli'])
    sys.writeText(DAEMON_JSON, '{"log-driver": "journald",}\n')
    const w = world(sys)
    const run = await engine.run(w.deps, workstationConfig(DOCKER), { force: false })
    expect(run.exitCode).not.toBe(0)
    const text = w.events.map((e) => JSON.stringify(e)).join('\n')
    expect(text).toContain(
      'Unable to merge \\"ip\\": \\"127.0.0.1\\" into /etc/docker/daemon.json: it is not valid JSON',
    )
    expect(sys.readText(DAEMON_JSON)).toBe('{"log-driver": "journald",}\n')
  })

  it('refuses, in preflight and before any change, a configured volume that a person made', async () => {
    const sys = workstationMachine()
    await sys.exec(['apt-get', 'install', '-y', 'docker.io', 'docker-cli'])
    await sys.exec(['docker', 'volume', 'create', 'data'])
    const before = sys.snapshot()
    const w = world(sys)
    const run = await engine.run(w.deps, workstationConfig(DOCKER), { force: false })
    expect(run.exitCode).toBe(1)
    const text = w.events.map((e) => JSON.stringify(e)).join('\n')
    expect(text).toContain('a Docker volume data exists that vps-provision did not make')
    expect(text).toContain('does not adopt a volume it did not make')
    expect(await labelsOf(sys, 'data')).toEqual({})
    expect(sys.snapshot()).toEqual(before)
  })
})

describe('keep-docker-data', () => {
  const SESSION = '20261206-230000-abcdef'
  const undo = Undo.parse({ kind: 'keep-docker-data', session: SESSION })
  const opts = {
    backupDir: '/b',
    readBackup: async () => null,
    written: null,
    force: false,
  } as never as UndoOptions
  const NUKE = '/usr/share/docker.io/contrib/nuke-graph-directory.sh'

  it("lets Debian's purge empty /var/lib/docker when only this session's volumes were there", async () => {
    const sys = workstationMachine()
    await sys.exec(['apt-get', 'install', '-y', 'docker.io', 'docker-cli'])
    const ours = ['--label', 'vps-provision=1', '--label', `vps-provision.session=${SESSION}`]
    await sys.exec(['docker', 'volume', 'create', ...ours, 'data'])
    expect((await executeUndo(sys, undo, opts)).outcome).toBe('skipped')
    expect((await sys.stat(NUKE))?.mode).toBe(0o755)
    await sys.exec(['apt-get', 'purge', '-y', 'docker.io'])
    expect(sys.readText('/var/lib/docker/volumes/data/labels.json')).toBeNull()
  })

  it("keeps a person's volume through the purge, and is a no-op once docker.io is gone", async () => {
    const sys = workstationMachine()
    await sys.exec(['apt-get', 'install', '-y', 'docker.io', 'docker-cli'])
    await sys.exec(['docker', 'volume', 'create', 'theirs'])
    expect(await executeUndo(sys, undo, opts)).toEqual({
      outcome: 'undone',
      detail: "kept /var/lib/docker for after docker.io's purge: it holds volume theirs",
    })
    await sys.exec(['apt-get', 'purge', '-y', 'docker.io'])
    expect(sys.readText('/var/lib/docker/volumes/theirs/labels.json')).toBe('{}')
    expect((await executeUndo(sys, undo, opts)).outcome).toBe('skipped')
  })

  it('keeps /var/lib/docker when the daemon does not answer (it cannot tell what is there)', async () => {
    const sys = workstationMachine()
    await sys.exec(['apt-get', 'install', '-y', 'docker.io', 'docker-cli'])
    await sys.exec(['systemctl', 'stop', 'docker'])
    const r = await executeUndo(sys, undo, opts)
    expect(r.detail).toMatch(/docker did not answer/)
    expect((await sys.stat(NUKE))?.mode).toBe(0o644)
  })
})

describe('remove-docker-volume', () => {
  const SESSION = '20261206-230000-abcdef'
  const undo = Undo.parse({ kind: 'remove-docker-volume', volume: 'data', session: SESSION })
  const opts = {
    backupDir: '/b',
    readBackup: async () => null,
    written: null,
    force: false,
  } as never as UndoOptions
  const machine = async () => {
    const sys = workstationMachine()
    await sys.exec(['apt-get', 'install', '-y', 'docker.io', 'docker-cli'])
    return sys
  }

  it('removes the volume only while it carries our label and this session', async () => {
    const sys = await machine()
    await sys.exec([
      'docker',
      'volume',
      'create',
      '--label',
      'vps-provision=1',
      '--label',
      `vps-provision.session=${SESSION}`,
      'data',
    ])
    expect(await executeUndo(sys, undo, opts)).toEqual({
      outcome: 'undone',
      detail: 'removed Docker volume data',
    })
    expect(await labelsOf(sys, 'data')).toBe('absent')
    expect((await executeUndo(sys, undo, opts)).outcome).toBe('skipped')
  })

  it.each([
    ['a person made it', []],
    [
      'another session made it',
      ['--label', 'vps-provision=1', '--label', 'vps-provision.session=20261206-220000-zzzzzz'],
    ],
  ])('leaves it when %s', async (_, labels) => {
    const sys = await machine()
    await sys.exec(['docker', 'volume', 'create', ...labels, 'data'])
    const before = sys.snapshot()
    const r = await executeUndo(sys, undo, opts)
    expect(r).toEqual({
      outcome: 'skipped',
      detail: "volume data is not labelled as this session's; left alone",
    })
    expect(sys.snapshot()).toEqual(before)
  })

  it('stops rollback, saying why, while the daemon does not answer', async () => {
    const sys = await machine()
    await sys.exec(['systemctl', 'stop', 'docker'])
    await expect(executeUndo(sys, undo, opts)).rejects.toThrow(
      /Unable to remove Docker volume data: docker could not say/,
    )
  })
})
