// Crash tests: a child process runs the small phase set against a fake Debian persisted to disk and
// is killed with SIGKILL at each named failpoint. Then `run` must reach exactly the state of an
// uninterrupted run, and rolling back every session must reach exactly the initial state.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statePaths } from '../../src/engine/paths.js'
import { SessionStore } from '../../src/engine/session-store.js'
import { FakeSystem, type PackageDef } from '../support/fake/index.js'
import { AVAILABLE } from '../support/fake/universe.js'

const work = mkdtempSync(join(tmpdir(), 'vps-crash-'))
const bundle = join(work, 'engine-child.mjs')

beforeAll(async () => {
  // One bundle: each of the many child processes then starts in ~100 ms.
  await build({
    entryPoints: [join(import.meta.dirname, '../fixtures/engine-child.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    define: { __VPS_PROVISION_TEMPLATES__: '{}' },
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  })
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

let counter = 0
function machine() {
  const dir = join(work, `m${++counter}`)
  const state = join(dir, 'fake.json')
  const root = join(dir, 'root')
  spawnSync('mkdir', ['-p', root])
  writeFileSync(state, JSON.stringify(FakeSystem.debian13().toJSON()))
  return { state, root }
}

function child(args: string[], failpoint?: string) {
  const env = { ...process.env, VPS_PROVISION_FAILPOINT: failpoint ?? '' }
  const r = spawnSync(process.execPath, [bundle, ...args], { env, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

const snapshot = (state: string) => FakeSystem.load(state).snapshot()

async function rollbackAll(m: { state: string; root: string }) {
  const ids = (await new SessionStore(statePaths(m.root)).list()).map((s) => s.session_id).reverse()
  for (const id of ids) {
    const r = child(['rollback', m.state, m.root, id])
    expect(r.status, r.stderr).toBe(0)
  }
}

const initial = FakeSystem.debian13().snapshot()
let converged: unknown
let actionCount = 0

describe('crash safety on the fake Debian', () => {
  beforeAll(() => {
    const m = machine()
    const r = child(['run', m.state, m.root])
    expect(r.status, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    actionCount = summary.phases.reduce((n: number, p: { actions: number }) => n + p.actions, 0)
    converged = snapshot(m.state)
  })

  it('an uninterrupted run changes the machine and journals actions', () => {
    expect(actionCount).toBeGreaterThan(8)
    expect(converged).not.toEqual(initial)
  })

  const actionPoints = [
    'action.before-begin',
    'action.after-begin',
    'action.after-change',
    'action.after-done',
  ]
  const checkpointPoints = ['checkpoint.before-rename', 'checkpoint.after-rename']
  const cases = [
    ...actionPoints.flatMap((p) => [1, 4, 8].map((n) => `${p}@${n}`)),
    ...checkpointPoints.flatMap((p) => [1, 2, 3].map((n) => `${p}@${n}`)),
  ]

  it.each(cases)('SIGKILL at %s: resume converges, rollback restores the initial machine', async (fp) => {
    const m = machine()
    const crashed = child(['run', m.state, m.root], fp)
    expect(crashed.signal, `expected a kill at ${fp}`).toBe('SIGKILL')

    const resumed = child(['run', m.state, m.root])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(snapshot(m.state)).toEqual(converged)

    const again = JSON.parse(child(['run', m.state, m.root]).stdout)
    expect(again.phases.every((p: { status: string }) => p.status === 'SKIPPED')).toBe(true)

    await rollbackAll(m)
    expect(snapshot(m.state)).toEqual(initial)
  })

  it.each(['undo.before-undone@1', 'undo.after-undone@1', 'undo.before-undone@5', 'undo.after-undone@7'])(
    'SIGKILL at %s: rollback resumes, and a third rollback is a no-op',
    (fp) => {
      const m = machine()
      expect(child(['run', m.state, m.root]).status).toBe(0)
      expect(child(['rollback', m.state, m.root], fp).signal).toBe('SIGKILL')
      const resumed = child(['rollback', m.state, m.root])
      expect(resumed.status, resumed.stderr).toBe(0)
      expect(snapshot(m.state)).toEqual(initial)
      const third = child(['rollback', m.state, m.root])
      expect(third.status).toBe(0)
      expect(third.stdout).toContain('Nothing to do')
      expect(snapshot(m.state)).toEqual(initial)
    },
  )
})

describe('killed right after dpkg ran a postinst that writes outside its package', () => {
  const SOURCE = '/etc/apt/sources.list.d/curl-vendor.list'
  const KEYRING = '/usr/share/keyrings/curl-vendor.gpg'
  const MINE = '/etc/cron.d/backup'

  /** The small phases' curl, with a postinst that adds an apt source and its keyring. */
  function vendorMachine() {
    const m = machine()
    const sys = FakeSystem.load(m.state)
    sys.addPackage('curl', {
      ...(AVAILABLE.curl as PackageDef),
      postinst: {
        writes: {
          [SOURCE]:
            'deb [signed-by=/usr/share/keyrings/curl-vendor.gpg] https://vendor.example/apt stable main\n',
          [KEYRING]: '\u0099vendor key\n',
        },
      },
    })
    return { ...m, initial: sys.snapshot() }
  }

  /** The first after-change is the maintainer-files change's: dpkg ran, `done` never came. */
  function crashInDpkg(m: { state: string; root: string }) {
    const crashed = child(['run', m.state, m.root], 'action.after-change@1')
    expect(crashed.signal).toBe('SIGKILL')
    expect(FakeSystem.load(m.state).readText(SOURCE)).toContain('vendor.example')
  }

  it('rollback straight after removes nothing it cannot date, and nothing made since', async () => {
    const m = vendorMachine()
    crashInDpkg(m)
    FakeSystem.load(m.state).writeText(MINE, '0 1 * * * root /usr/local/bin/backup\n')
    await rollbackAll(m)
    const sys = FakeSystem.load(m.state)
    expect(sys.packageVersion('curl')).toBeNull()
    expect(sys.readText(MINE)).toContain('backup')
    // No record says when the killed run ended: the scripts' files stay, named by the rollback.
    expect(sys.readText(SOURCE)).toContain('vendor.example')
  })

  it('after a resumed run, rollback removes what predates it and keeps what came later', async () => {
    const m = vendorMachine()
    crashInDpkg(m)
    const resumed = child(['run', m.state, m.root])
    expect(resumed.status, resumed.stderr).toBe(0)
    FakeSystem.load(m.state).writeText(MINE, '0 1 * * * root /usr/local/bin/backup\n')
    await rollbackAll(m)
    const sys = FakeSystem.load(m.state)
    expect(sys.readText(MINE)).toContain('backup')
    expect(sys.fs.lget(SOURCE)).toBeUndefined()
    expect(sys.fs.lget(KEYRING)).toBeUndefined()
    // Besides what the person made (the file, and the directory writeText made for it): the start.
    await sys.removeFile(MINE)
    await sys.rmdir('/etc/cron.d')
    expect(sys.snapshot()).toEqual(m.initial)
  })
})
