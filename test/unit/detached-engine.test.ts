// The real engine and phases on the fake Debian 13, driven through the CLI:
// - as a detached run's worker (`run --worker ID`): its event log never holds the generated
//   password (redacted by value, credentials dropped), though the run generates and sets one;
// - issue 5 case 14's "an invalid sshd drop-in is never installed": the configuration has no free
//   sshd options (only ssh.disableRootLogin / ssh.disablePasswordAuth booleans), so an invalid
//   drop-in cannot be injected through it; here `sshd -t` rejects the candidate instead, and the
//   drop-in must not appear, sshd must not be reloaded, and the journal must hold no action for it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/run-cli.js'
import { saveSessionConfig } from '../../src/cli/session-config.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { eventLogPath, parseEventLine } from '../../src/engine/event-log.js'
import { statePaths } from '../../src/engine/paths.js'
import type { ExecOptions } from '../../src/system/port.js'
import { engine } from '../helpers/engine.js'
import type { FakeSystem } from '../support/fake/index.js'
import { recordCase } from '../support/reliability.js'
import { CURSOR_DEB, workstationMachine } from '../support/workstation-run.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-detached-engine-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const ID = '20261126-100000-wrk001'
const SSHD_DROPIN = '/etc/ssh/sshd_config.d/00-vps-provision.conf'

/** The workstation's fake machine: the IDE keys, the Cursor .deb and the Antigravity tarball. */
const machine = (): FakeSystem => workstationMachine()

function config(root: string, extra = ''): string {
  mkdirSync(root, { recursive: true })
  const file = join(root, 'config.yaml')
  writeFileSync(file, `sources:\n  cursor:\n    url: ${CURSOR_DEB}\n${extra}`, { mode: 0o600 })
  return file
}

const deps = (root: string, sys: FakeSystem) => ({
  engine,
  system: sys,
  paths: statePaths(root),
  env: {},
  getuid: () => 0,
})

describe('the real engine as a detached worker, on the fake Debian 13', () => {
  it('provisions, and the generated password is nowhere in its event log', async () => {
    const root = join(dir, 'worker')
    const sys = machine()
    // What the detaching client stores for its worker (session-config.ts).
    const stored = ConfigSchema.parse({ skip: ['verification'], sources: { cursor: { url: CURSOR_DEB } } })
    await saveSessionConfig(statePaths(root), ID, stored)
    const r = await runCli(['run', '--worker', ID, '--plain'], deps(root, sys))
    expect(r.exitCode, r.stdout.slice(-2000) + r.stderr).toBe(0)
    const creds = sys.fs.text('/root/vps-provision-credentials') ?? ''
    const password = /^password=(.+)$/m.exec(creds)?.[1] ?? ''
    expect(password.length).toBeGreaterThanOrEqual(12)
    const log = readFileSync(eventLogPath(statePaths(root), ID), 'utf8')
    const records = log.trim().split('\n').map(parseEventLine)
    expect(records.every((x) => x !== null)).toBe(true)
    expect(records[0]).toMatchObject({ type: 'session-start', sessionId: ID })
    expect(records.at(-1)).toMatchObject({ type: 'worker-end', exitCode: 0, stoppedBy: null, error: null })
    expect(log).not.toContain(password)
    expect(r.stdout).not.toContain(password)
    expect(log).toContain('"credentials":null')
  }, 120_000)
})

describe('issue 5 case 14: an invalid sshd drop-in is never installed', () => {
  it('sshd -t rejects the candidate: no drop-in, no reload, no journaled action for it', async () => {
    const started = Date.now()
    const root = join(dir, 'sshd')
    const sys = machine()
    const exec = sys.exec.bind(sys)
    const checked: string[] = []
    // sshd -t as it answers for a setting it does not know.
    sys.exec = async (argv: readonly string[], opts?: ExecOptions) => {
      if (argv[0] === 'sshd' && argv[1] === '-t') {
        checked.push(argv.join(' '))
        const file = argv[argv.indexOf('-f') + 1] ?? ''
        return { exitCode: 255, stdout: '', stderr: `${file}: line 2: Bad configuration option: Bogus\n` }
      }
      return exec(argv, opts)
    }
    const r = await runCli(
      ['run', '--plain', '--config', config(root, 'ssh:\n  disablePasswordAuth: true\n')],
      deps(root, sys),
    )
    const lines = r.stdout.split('\n')
    const dropin = sys.fs.text(SSHD_DROPIN)
    const leftovers = sys.fs.list('/etc/ssh/sshd_config.d').filter((n) => n.includes('tmp'))
    const reloads = lines.filter((l) => /reload ssh/.test(l))
    const dropinActions = lines.filter((l) => l.includes(`action`) && l.includes(SSHD_DROPIN))
    const failed = lines.find((l) => l.includes('phase FAILED')) ?? ''
    const passed =
      r.exitCode === 2 &&
      dropin === null &&
      leftovers.length === 0 &&
      reloads.length === 0 &&
      dropinActions.length === 0 &&
      checked.length === 1 &&
      failed.includes('Unable to validate /etc/ssh/sshd_config.d/00-vps-provision.conf')
    recordCase(
      {
        id: 'fault-14.invalid-sshd-dropin',
        area: '14 SSH and firewall',
        case: 'an sshd drop-in that sshd -t rejects',
        injection:
          'the fake Debian 13 answers `sshd -t -f CANDIDATE` with exit 255 "Bad configuration option" (the config has no free sshd options to inject one through)',
        expected:
          'user-creation fails naming the file; no drop-in, no candidate left, no sshd reload, no journaled action for it',
        observed: `exit ${r.exitCode}; ${failed.replace(/^\S+ /, '').slice(0, 200)}; drop-in ${dropin === null ? 'absent' : 'PRESENT'}; candidates left ${leftovers.length}; reloads ${reloads.length}; actions on the drop-in ${dropinActions.length}; sshd -t calls ${checked.length}`,
        backend: 'fake',
        passed,
      },
      { file: 'test/unit/detached-engine.test.ts', durationMs: Date.now() - started },
    )
    expect(r.exitCode).toBe(2)
    expect(failed).toContain('Unable to validate /etc/ssh/sshd_config.d/00-vps-provision.conf')
    expect(checked).toHaveLength(1)
    expect(dropin).toBeNull()
    expect(leftovers).toEqual([])
    expect(reloads).toEqual([])
    expect(dropinActions).toEqual([])
  }, 120_000)
})
