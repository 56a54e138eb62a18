// The phase contract on the fake Debian, for every real phase in order: a run converges, a second
// run journals zero actions (every phase SKIPPED), and rolling the session back returns the machine
// to exactly its initial state.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_PHASES } from '../../phases/index.js'
import type { Config } from '../../src/config/schema.js'
import type { RunEvent } from '../../src/model/events.js'
import { engine } from '../helpers/engine.js'
import type { FakeSystem } from '../support/fake/index.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function deps(sys: FakeSystem, events: RunEvent[] = []) {
  const world = workstationWorld(sys, events)
  roots.push(world.root)
  return world.deps
}

const config = workstationConfig

describe('every phase on the fake Debian 13', () => {
  it('converges, re-runs with zero actions, and rolls back to the initial machine', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const events: RunEvent[] = []
    const d = deps(sys, events)
    const cfg = config()

    const first = await engine.run(d, cfg, { force: false })
    const failure = events.find((e) => e.type === 'phase-end' && e.status === 'FAILED')
    expect(failure, JSON.stringify(failure)).toBeUndefined()
    expect(first.exitCode).toBe(0)
    expect(first.phases.map((p) => p.status)).toEqual(ALL_PHASES.map(() => 'COMPLETED'))
    const converged = sys.snapshot()
    expect(sys.service('xrdp.service')?.active ?? sys.service('xrdp')?.active).toBeTruthy()
    // The summary's IDE table: every version starts in the same column, ANTIGRAVITY's included.
    const ideLines = first.lines.filter((l) => /^(VSCODE|CURSOR|ANTIGRAVITY) /.test(l))
    expect(ideLines).toHaveLength(3)
    expect(new Set(ideLines.map((l) => l.search(/ \S+$/))).size).toBe(1)

    const second = await engine.run(d, cfg, { force: false })
    expect(second.exitCode).toBe(0)
    expect(second.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
    for (const p of second.phases) {
      expect([p.name, p.status]).toEqual([
        p.name,
        ['preflight', 'verification'].includes(p.name) ? 'COMPLETED' : 'SKIPPED',
      ])
    }
    expect(sys.snapshot()).toEqual(converged)

    const back = await engine.rollback(d, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('keeps the generated password out of the journal, the session file and the events', async () => {
    const sys = workstationMachine()
    const events: RunEvent[] = []
    const d = deps(sys, events)
    const summary = await engine.run(d, config(), { force: false })
    expect(summary.exitCode).toBe(0)
    const creds = sys.readText('/root/vps-provision-credentials') ?? ''
    const password = /^password=(.+)$/m.exec(creds)?.[1]
    expect(password).toMatch(/^.{20}$/)
    const { readFileSync, readdirSync } = await import('node:fs')
    const everything = [
      JSON.stringify(events),
      ...readdirSync(d.paths.logDir).map((f) => readFileSync(join(d.paths.logDir, f), 'utf8')),
      ...readdirSync(d.paths.sessionsDir).map((f) => readFileSync(join(d.paths.sessionsDir, f), 'utf8')),
    ].join('\n')
    expect(everything).not.toContain(password as string)
    expect((await sys.stat('/root/vps-provision-credentials'))?.mode).toBe(0o600)
  })

  it('refuses a machine that is not Debian 13 before any change (exit 1)', async () => {
    const sys = workstationMachine()
    sys.writeText(
      '/usr/lib/os-release',
      'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    )
    const initial = sys.snapshot()
    const summary = await engine.run(deps(sys), config(), { force: false })
    expect(summary.exitCode).toBe(1)
    expect(summary.lines.join('\n')).toMatch(/VERSION_ID=12.*required: ID=debian, VERSION_ID=13/)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('the desktop rewriting its settings at the first login keeps the re-run skipped and the rollback clean', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const d = deps(sys)
    const cfg = config()
    const first = await engine.run(d, cfg, { force: false })
    expect(first.exitCode).toBe(0)
    // What XFCE and the editors do at their first start: xfconfd rewrites its channel files with
    // every default, VS Code adds a crash-reporter id to argv.json; as the user, with their umask.
    const home = '/home/devuser'
    const xfwm4 = `${home}/.config/xfce4/xfconf/xfce-perchannel-xml/xfwm4.xml`
    const st = await sys.stat(xfwm4)
    const owner = { mode: 0o664, uid: st?.uid ?? 1000, gid: st?.gid ?? 1000 }
    sys.writeText(xfwm4, '<?xml version="1.1" encoding="UTF-8"?>\n<channel name="xfwm4"/>\n', owner)
    sys.writeText(`${home}/.vscode/argv.json`, '{ "crash-reporter-id": "x" }\n', owner)
    const again = await engine.run(d, cfg, { force: false })
    expect(again.exitCode).toBe(0)
    expect(again.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
    expect(again.phases.find((p) => p.name === 'user-creation')?.status).toBe('SKIPPED')
    expect(sys.readText(xfwm4)).toContain('version="1.1"')
    // Those files go with the home that rollback deletes: no drift to refuse over.
    const back = await engine.rollback(d, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('a manual change to a managed file sends its phase back to work and restores our state', async () => {
    const sys = workstationMachine()
    const d = deps(sys)
    const cfg = config()
    expect((await engine.run(d, cfg, { force: false })).exitCode).toBe(0)
    const ini = sys.readText('/etc/xrdp/xrdp.ini') as string
    sys.writeText('/etc/xrdp/xrdp.ini', ini.replace('security_layer=tls', 'security_layer=rdp'))
    const again = await engine.run(d, cfg, { force: false })
    expect(again.exitCode).toBe(0)
    expect(again.phases.find((p) => p.name === 'rdp-config')?.status).toBe('COMPLETED')
    expect(sys.readText('/etc/xrdp/xrdp.ini')).toContain('security_layer=tls')
  })

  it('journals each IDE change under its own step, whatever the config, and overlaps the download with apt', async () => {
    const stepsJournaled = async (cfg: Config) => {
      const events: RunEvent[] = []
      const d = deps(workstationMachine(), events)
      const run = await engine.run(d, cfg, { force: false })
      expect(run.exitCode).toBe(0)
      const log = readFileSync(d.paths.transactionLog(run.sessionId), 'utf8')
      const steps = log.split('\n').flatMap((l) => (l ? [JSON.parse(l).step as string | undefined] : []))
      return { events, steps: new Set(steps.filter((s) => s?.startsWith('ide-installations.'))) }
    }
    const all = await stepsJournaled(config())
    expect(all.steps).toContain('ide-installations.cursor-download')
    expect(all.steps).toContain('ide-installations.vscode-package')
    expect(all.steps).toContain('ide-installations.antigravity-unpack')
    expect(all.steps).not.toContain('ide-installations.fetch')
    const at = (type: string, step: string) =>
      all.events.findIndex((e) => e.type === type && 'step' in e && e.step === step)
    expect(at('step-start', 'ide-installations.cursor-download')).toBeLessThan(
      at('step-end', 'ide-installations.vscode-package'),
    )
    const cursorOnly = await stepsJournaled(config({ ides: ['cursor'] }))
    expect(cursorOnly.steps).toContain('ide-installations.cursor-download')
  })

  it('verification lists every failed check, each with what to do, and exits 4', async () => {
    const sys = workstationMachine()
    const d = deps(sys)
    expect((await engine.run(d, config(), { force: false })).exitCode).toBe(0)
    await sys.exec(['systemctl', 'stop', 'xrdp-sesman'])
    await sys.exec(['gpasswd', '--delete', 'devuser', 'video'])
    const summary = await engine.run(d, config({ only: ['verification'] }), { force: false })
    expect(summary.exitCode).toBe(4)
    const text = summary.lines.join('\n')
    expect(text).toMatch(
      /Unable to pass verification: 2 of \d+ checks failed: xrdp-sesman is running: xrdp-sesman is inactive; User devuser with groups .*: missing groups: video/,
    )
    expect(text).toContain('  - xrdp-sesman is running: systemctl status xrdp-sesman')
  })
})
