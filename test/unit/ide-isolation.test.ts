// Each IDE on its own (issue 20): a vendor that fails (a repository apt refuses, a key or download
// that is not there, a source that does not answer in preflight) fails its IDE alone. The others
// install, the failed one's changes are undone (so apt-get update stays clean), the run exits 7
// with a line that retries just it, and a re-run once the vendor is back installs only that IDE.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/model/errors.js'
import { engine } from '../helpers/engine.js'
import { FakeSystem } from '../support/fake/index.js'
import {
  ANTIGRAVITY_TARBALL,
  VSCODE_KEY,
  workstationConfig,
  workstationMachine,
  workstationWorld,
} from '../support/workstation-run.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function world(sys = workstationMachine()) {
  const w = workstationWorld(sys)
  roots.push(w.root)
  return w
}

/** What `apt-get update` of the whole machine says now: it must stay clean after a failed IDE. */
async function aptUpdate(sys: FakeSystem) {
  return sys.exec(['apt-get', 'update'], { allowFailure: true })
}

const unsignedVscode = (argv: readonly string[]) =>
  argv.includes('Dir::Etc::SourceList=/etc/apt/sources.list.d/vscode.sources')
    ? {
        exitCode: 100,
        stdout: 'Err:1 https://packages.microsoft.com/repos/code stable InRelease\n',
        stderr:
          "E: The repository 'https://packages.microsoft.com/repos/code stable InRelease' is not signed.\n",
      }
    : null

describe('each IDE on its own', () => {
  it('an apt repository that apt refuses fails VS Code alone; a re-run installs only VS Code', async () => {
    const w = world()
    const heal = w.sys.failOn(unsignedVscode)
    const first = await engine.run(w.deps, workstationConfig(), { force: false })
    expect(first.exitCode).toBe(EXIT.partial)
    expect(first.status).toBe('COMPLETED')
    const text = first.lines.join('\n')
    expect(text).toMatch(
      /^Failed: vscode \(ide-installations, step ide-installations\.vscode-update\): .*is not signed/m,
    )
    expect(text).toContain('Retry just vscode: vps-provision run --only ide-installations --ides vscode')
    expect(text).toMatch(/^CURSOR +1\.7\.0$/m)
    // Undone: no source, no keyring, no package; the machine's own update is clean.
    expect(w.sys.fs.exists('/etc/apt/sources.list.d/vscode.sources')).toBe(false)
    expect(w.sys.fs.exists('/usr/share/keyrings/microsoft.gpg')).toBe(false)
    expect(w.sys.state.installed.has('code')).toBe(false)
    expect((await aptUpdate(w.sys)).exitCode).toBe(0)
    // Verification did not fail on the IDE that was left out.
    expect(first.phases.find((p) => p.name === 'verification')?.status).toBe('COMPLETED')

    heal()
    const again = await engine.run(w.deps, workstationConfig(), { force: false })
    expect(again.exitCode).toBe(0)
    const changed = again.phases.filter((p) => p.actions > 0).map((p) => p.name)
    expect(changed).toEqual(['ide-installations'])
    expect(w.sys.state.installed.has('code')).toBe(true)
    const third = await engine.run(w.deps, workstationConfig(), { force: false })
    expect(third.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
  })

  it('a signing key that is not there fails VS Code alone, and rollback returns to the start', async () => {
    const sys = workstationMachine()
    sys.web.delete(VSCODE_KEY)
    const w = world(sys)
    const before = w.sys.snapshot()
    const run = await engine.run(w.deps, workstationConfig(), { force: false })
    expect(run.exitCode).toBe(EXIT.partial)
    expect(run.lines.join('\n')).toMatch(/^Failed: vscode .*vscode-source/m)
    expect(w.sys.state.installed.has('cursor')).toBe(true)
    const back = await engine.rollback(w.deps, { session: run.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(w.sys.snapshot().files).toEqual(before.files)
  })

  it('a download that is not there fails Antigravity alone, before it unpacks anything', async () => {
    const sys = workstationMachine()
    sys.web.delete(ANTIGRAVITY_TARBALL)
    const w = world(sys)
    const run = await engine.run(w.deps, workstationConfig(), { force: false })
    expect(run.exitCode).toBe(EXIT.partial)
    expect(run.lines.join('\n')).toMatch(/^Failed: antigravity .*antigravity-download.*404/m)
    expect(w.sys.fs.exists('/opt/antigravity')).toBe(false)
    expect(w.sys.state.installed.has('code')).toBe(true)
  })

  it('a tarball pinned to another sha256 is refused, deleted, and Antigravity is left out', async () => {
    const w = world()
    const cfg = workstationConfig({
      sources: {
        cursor: { url: 'https://example.test/cursor.deb' },
        antigravity: { tarball: { sha256: 'a'.repeat(64) } },
      },
    })
    const run = await engine.run(w.deps, cfg, { force: false })
    expect(run.exitCode).toBe(EXIT.partial)
    expect(run.lines.join('\n')).toMatch(/^Failed: antigravity .*sha256 is [0-9a-f]{64}, expected a{64}/m)
    expect(w.sys.fs.below('/var/cache/vps-provision/downloads').some((p) => p.includes('antigravity'))).toBe(
      false,
    )
  })

  it('a source that does not answer in preflight leaves its IDE out before any change', async () => {
    const sys = workstationMachine()
    const dead = 'https://example.test/cursor.deb'
    sys.probes.set(dead, { status: null, date: null, error: 'ECONNREFUSED' })
    const w = world(sys)
    const run = await engine.run(w.deps, workstationConfig(), { force: false })
    expect(run.exitCode).toBe(EXIT.partial)
    const text = run.lines.join('\n')
    expect(text).toContain(
      `Failed: cursor (preflight, step preflight.source-cursor-2): cursor download reachable: ${dead}: ECONNREFUSED`,
    )
    expect(text).toContain('cursor was left out before any change')
    // Nothing of Cursor was asked for: no debconf answer, no download, no package.
    const touched = (e: { argv: readonly string[] }) =>
      !['runuser', 'dpkg-query', 'desktop-file-validate'].includes(e.argv[0] ?? '') &&
      e.argv.join(' ').includes('cursor')
    expect(w.sys.execLog.filter(touched).map((e) => e.argv.join(' '))).toEqual([])
    expect(w.sys.fs.below('/var/cache/vps-provision/downloads').filter((p) => p.includes('cursor'))).toEqual(
      [],
    )
    expect(w.sys.state.installed.has('code')).toBe(true)
    // --skip-probe (or sources.cursor.probe: false) asks nothing and tries it.
    const skipped = await engine.run(w.deps, workstationConfig({ skipProbe: true }), { force: false })
    expect(skipped.exitCode).toBe(0)
    expect(w.sys.state.installed.has('cursor')).toBe(true)
  })
})

describe('arm64', () => {
  it('plans the arm64 builds of every IDE, and refuses by name a source without one', async () => {
    const sys = FakeSystem.debian13({ arch: 'arm64' })
    const w = world(sys)
    const plan = await engine.plan(w.deps, workstationConfig({ sources: {} }))
    const steps = plan.phases.flatMap((p) => p.steps)
    const titles = steps.map((s) => s.title).join('\n')
    expect(titles).toContain('https://api2.cursor.sh/updates/download/golden/linux-arm64-deb/cursor/latest')
    expect(titles).toContain('/linux-arm/Antigravity%20IDE.tar.gz')
    expect(titles).not.toMatch(/linux-x64/)
    expect(steps.find((s) => s.step === 'preflight.arch')?.done).toBe(true)

    const noArm = workstationConfig({ sources: { cursor: { url: { amd64: 'https://example.test/c.deb' } } } })
    const refused = await engine.run(w.deps, noArm, { force: false })
    expect(refused.exitCode).toBe(EXIT.preflight)
    expect(refused.lines.join('\n')).toContain(
      'CPU architecture: arm64: no arm64 build of cursor in its configured source',
    )
  })

  it('writes the machine architecture into the apt source', async () => {
    const sys = FakeSystem.debian13({ arch: 'arm64' })
    const w = world(sys)
    sys.web.set(VSCODE_KEY, Buffer.from('binary-key-vscode'))
    await engine.run(w.deps, workstationConfig({ ides: ['vscode'], sources: {} }), { force: false })
    expect(sys.readText('/etc/apt/sources.list.d/vscode.sources')).toContain('Architectures: arm64')
  })
})

describe('version pins', () => {
  it('installs package=version and records the installed version', async () => {
    const w = world()
    const cfg = workstationConfig({
      ides: ['vscode'],
      sources: { vscode: { version: '1.104.2-1758623190' } },
    })
    const run = await engine.run(w.deps, cfg, { force: false })
    const installs = w.sys.execLog.filter((e) => e.argv.includes('install') && e.argv[0] === 'apt-get')
    expect(installs.some((e) => e.argv.includes('code=1.104.2-1758623190'))).toBe(true)
    expect(run.exitCode).toBe(0)
    const session = await engine.status(w.deps.paths, run.sessionId)
    expect(session.ide_installations.find((i) => i.ide_name === 'VSCODE')?.version).toBe('1.104.2')
  })
})
