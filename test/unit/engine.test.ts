// The runner and rollback in-process on the fake Debian: signals, the lock, drift, later sessions,
// a damaged journal, partial rollback, and plan's promise to change nothing.
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultConfig } from '../../src/config/schema.js'
import { acquireLock } from '../../src/engine/lock.js'
import { statePaths } from '../../src/engine/paths.js'
import { SessionStore } from '../../src/engine/session-store.js'
import { ProvisionError } from '../../src/model/errors.js'
import type { RunEvent } from '../../src/model/events.js'
import { SMALL_PHASES } from '../fixtures/small-phases.js'
import { engine } from '../helpers/engine.js'
import { FakeSystem } from '../support/fake/index.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function setup(onEvent?: (e: RunEvent, abort: AbortController) => void) {
  const root = mkdtempSync(join(tmpdir(), 'vps-engine-'))
  roots.push(root)
  const sys = FakeSystem.debian13()
  const controller = new AbortController()
  const events: RunEvent[] = []
  const deps = {
    sys,
    paths: statePaths(root),
    emit: (e: RunEvent) => {
      events.push(e)
      onEvent?.(e, controller)
    },
    signal: controller.signal,
    phases: SMALL_PHASES,
    interactive: false,
  }
  return { sys, deps, events, root }
}

const cfg = defaultConfig()
const converged = async () => {
  const { sys, deps } = setup()
  await engine.run(deps, cfg, { force: false })
  return sys.snapshot()
}

describe('runner', () => {
  it('stops cleanly on SIGTERM after the current action, and a re-run completes', async () => {
    let dones = 0
    const { sys, deps, events } = setup((e, abort) => {
      if (e.type === 'action' && e.status === 'done' && ++dones === 3) abort.abort('SIGTERM')
    })
    const stopped = await engine.run(deps, cfg, { force: false })
    expect(stopped.exitCode).toBe(143)
    expect(stopped.status).toBe('FAILED')
    expect(events.filter((e) => e.type === 'action' && e.status === 'begin')).toHaveLength(3)
    const resumed = await engine.run({ ...deps, signal: new AbortController().signal }, cfg, { force: false })
    expect(resumed.exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(await converged())
  })

  it('a second invocation while the lock is held exits 75 and writes nothing', async () => {
    const { deps } = setup()
    const lock = await acquireLock(deps.paths, { sessionId: null, command: 'test' })
    expect(lock.ok).toBe(true)
    try {
      const err = await engine.run(deps, cfg, { force: false }).catch((e) => e)
      expect(err).toBeInstanceOf(ProvisionError)
      expect(err.exitCode).toBe(75)
      expect(err.message).toContain(`pid ${process.pid}`)
      expect(readdirSync(deps.paths.sessionsDir)).toEqual([])
    } finally {
      if (lock.ok) await lock.release()
    }
  })

  it('--force re-applies checks but journals nothing on an unchanged machine', async () => {
    const { deps } = setup()
    await engine.run(deps, cfg, { force: false })
    const forced = await engine.run(deps, cfg, { force: true })
    expect(forced.phases.map((p) => p.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED'])
    expect(forced.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
  })
})

describe('checkpoints', () => {
  it('on a miss, each check asks the machine once until an apply; after it, once more', async () => {
    const { sys, deps } = setup()
    await engine.run(deps, cfg, { force: false })
    // The phase's last step drifts: the checkpoint test walks every check, and the run reuses them.
    sys.writeText('/etc/demo/demo.conf', 'greeting = edited by hand\n')
    const before = sys.execLog.length
    const again = await engine.run(deps, cfg, { force: false })
    expect(again.phases.map((p) => [p.name, p.status])).toEqual([
      ['system-prep', 'COMPLETED'],
      ['rdp-config', 'SKIPPED'],
      ['user-creation', 'SKIPPED'],
    ])
    const queries = sys.execLog.slice(before).map((e) => e.argv.join(' '))
    const packagesQuery = queries.filter((q) => q.startsWith('dpkg-query') && q.includes(' curl'))
    expect(packagesQuery).toHaveLength(1)
  })
})

describe('rollback', () => {
  it('refuses drifted files, then --force keeps a 0600 copy and restores', async () => {
    const { sys, deps } = setup()
    const initial = sys.snapshot()
    const run = await engine.run(deps, cfg, { force: false })
    sys.writeText('/etc/demo/demo.conf', 'greeting = edited by hand\n')
    const refused = await engine.rollback(deps, { session: 'latest', to: null, force: false }).catch((e) => e)
    expect(refused.exitCode).toBe(3)
    expect(refused.message).toContain('/etc/demo/demo.conf')
    const forced = await engine.rollback(deps, { session: run.sessionId, to: null, force: true })
    expect(forced.exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
    const drifted = join(deps.paths.backupDir(run.sessionId), 'drifted')
    const [copy] = readdirSync(drifted)
    expect(readFileSync(join(drifted, copy as string), 'utf8')).toBe('greeting = edited by hand\n')
  })

  it('refuses a session a later session built on, until that one is rolled back', async () => {
    const { sys, deps } = setup()
    const initial = sys.snapshot()
    const first = await engine.run(deps, cfg, { force: false })
    await sys.exec(['userdel', '--remove', 'alice'])
    const second = await engine.run(deps, cfg, { force: false })
    expect(second.phases.reduce((n, p) => n + p.actions, 0)).toBeGreaterThan(0)
    const refused = await engine
      .rollback(deps, { session: first.sessionId, to: null, force: false })
      .catch((e) => e)
    expect(refused.exitCode).toBe(3)
    expect(refused.message).toContain(second.sessionId)
    await engine.rollback(deps, { session: second.sessionId, to: null, force: false })
    await engine.rollback(deps, { session: first.sessionId, to: null, force: false })
    expect(sys.snapshot()).toEqual(initial)
  })

  it('"latest" is the newest session with something to undo, so a no-op re-run does not hide the run', async () => {
    const { sys, deps } = setup()
    const initial = sys.snapshot()
    await engine.run(deps, cfg, { force: false })
    const rerun = await engine.run(deps, cfg, { force: false })
    expect(rerun.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
    expect((await engine.rollback(deps, { session: 'latest', to: null, force: false })).exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
    const again = await engine.rollback(deps, { session: 'latest', to: null, force: false })
    expect(again.lines.join('\n')).toContain('Nothing to do')
    // A session that changed nothing is not "already rolled back": say what is true.
    const noop = await engine.rollback(deps, { session: rerun.sessionId, to: null, force: false })
    expect(noop.lines.join('\n')).toContain(`Nothing to do: session ${rerun.sessionId} changed nothing.`)
  })

  it('refuses a journal damaged in the middle, with the reason', async () => {
    const { deps } = setup()
    const run = await engine.run(deps, cfg, { force: false })
    const log = deps.paths.transactionLog(run.sessionId)
    const lines = readFileSync(log, 'utf8').split('\n')
    // The second record: the maintainer-files change that begins inside the first package install.
    lines[1] = (lines[1] as string).replace('"begin"', '"BEGIN"')
    writeFileSync(log, lines.join('\n'))
    const err = await engine
      .rollback(deps, { session: run.sessionId, to: null, force: false })
      .catch((e) => e)
    expect(err.exitCode).toBe(3)
    expect(err.message).toMatch(/damaged \(line 2/)
  })

  it('drops a torn last line with a warning and still rolls back', async () => {
    const { sys, deps, events } = setup()
    const initial = sys.snapshot()
    const run = await engine.run(deps, cfg, { force: false })
    appendFileSync(deps.paths.transactionLog(run.sessionId), '{"v":1,"seq":99,"type":"be')
    const back = await engine.rollback(deps, { session: run.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(events.some((e) => e.type === 'message' && e.level === 'warn' && /torn/.test(e.text))).toBe(true)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('--to stops once that phase is reverted and removes only those checkpoints', async () => {
    const { sys, deps } = setup()
    const run = await engine.run(deps, cfg, { force: false })
    await engine.rollback(deps, { session: run.sessionId, to: 'rdp-config', force: false })
    expect(sys.packageVersion('xrdp')).toBeNull()
    expect(sys.packageVersion('curl')).not.toBeNull()
    expect(existsSync(join(deps.paths.checkpointsDir, 'system-prep.done'))).toBe(true)
    expect(existsSync(join(deps.paths.checkpointsDir, 'rdp-config.done'))).toBe(false)
    const session = await new SessionStore(deps.paths).load(run.sessionId)
    expect(session.status).toBe('COMPLETED')
  })
})

describe('plan', () => {
  it('changes nothing and shows why each step would apply, with diffs for files', async () => {
    const { sys, deps } = setup()
    const before = sys.snapshot()
    const report = await engine.plan(deps, cfg)
    expect(sys.snapshot()).toEqual(before)
    const conf = report.phases.flatMap((p) => p.steps).find((s) => s.step === 'system-prep.conf')
    expect(conf?.done).toBe(false)
    expect(conf?.diff).toContain('+greeting = hello')
    expect(existsSync(deps.paths.sessionsDir)).toBe(false)
  })
})
