// Issue 19: the real engine and phases on the fake Debian 13, driven through the CLI on a temp state
// root, for the two ways a run is refused before it changes anything.
// - A configuration the run would always refuse, whatever the machine (a reserved username), is a
//   configuration error: exit 5, one `Unable to …` line and a hint on stderr, no file written.
// - A machine preflight refuses (too little memory) exits 1 with its reason on stderr, and says
//   exactly what it kept: the session record and its empty journal, nothing else.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/run-cli.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'
import { engine } from '../helpers/engine.js'
import { FakeSystem } from '../support/fake/index.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-refused-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function stateRoot(): string {
  return mkdtempSync(join(dir, 'root-'))
}

/** Every file and directory under `root`, relative to it, sorted. */
function written(root: string, under = root): string[] {
  return readdirSync(under)
    .flatMap((name) => {
      const path = join(under, name)
      const rel = relative(root, path)
      return statSync(path).isDirectory() ? [`${rel}/`, ...written(root, path)] : [rel]
    })
    .sort()
}

function cli(argv: string[], sys: FakeSystem, root: string, env: Record<string, string> = {}) {
  return runCli(argv, {
    engine,
    system: sys,
    paths: statePaths(root),
    env,
    getuid: () => 0,
    defaultConfigFile: join(root, 'absent.yaml'),
  })
}

describe('a reserved username is a configuration error, before anything is written', () => {
  const file = join(dir, 'root-user.yaml')
  writeFileSync(file, 'username: root\n', { mode: 0o600 })
  it.each([
    ['run', ['run', '--username', 'root'], {}, '--username'],
    ['plan', ['plan', '--username', 'xrdp'], {}, '--username'],
    ['verify', ['verify', '--username', 'sudo'], {}, '--username'],
    ['run, from the file', ['run', '--config', file], {}, 'root-user.yaml:1:11'],
    [
      'cloud-init, from the file',
      ['cloud-init', '--config', file, '--from-bundle', 'https://example.test/vps-provision.mjs'],
      {},
      'root-user.yaml:1:11',
    ],
    ['run, from the environment', ['run', '--plain'], { VPS_PROVISION_USERNAME: 'daemon' }, 'USERNAME'],
  ])('%s: exit 5, one line and a hint on stderr, nothing on stdout', async (_, argv, env, origin) => {
    const root = stateRoot()
    const sys = FakeSystem.debian13()
    const before = sys.snapshot()
    const r = await cli(argv, sys, root, env)
    expect(r.exitCode, r.stdout + r.stderr).toBe(EXIT.usage)
    const [reason, hint, ...rest] = r.stderr.trimEnd().split('\n')
    expect(reason).toMatch(/^Unable to use the configuration: username: expected a name that is not reserved/)
    expect(reason).toContain(origin)
    expect(hint).toMatch(/^hint: /)
    expect(rest).toEqual([])
    expect(r.stdout).toBe('')
    // No lock, no session, no journal: not even the state directories.
    expect(written(root)).toEqual([])
    expect(sys.snapshot()).toEqual(before)
  })

  it('--json: the error is the one JSON object on stdout, and nothing is written', async () => {
    const root = stateRoot()
    const r = await cli(['run', '--json', '--username', 'root'], FakeSystem.debian13(), root)
    expect(r.exitCode).toBe(EXIT.usage)
    expect(JSON.parse(r.stdout)).toMatchObject({
      exitCode: EXIT.usage,
      error: expect.stringMatching(/^Unable to use the configuration: username: .*reserved/),
    })
    expect(r.stderr).toBe('')
    expect(written(root)).toEqual([])
  })
})

/** A fresh trixie with 1 GB of RAM: preflight refuses it for the machine's sake alone. */
function smallMachine(): FakeSystem {
  const sys = FakeSystem.debian13()
  sys.writeText('/proc/meminfo', 'MemTotal:        1004000 kB\nMemFree:          800000 kB\n')
  return sys
}

describe('a machine preflight refuses', () => {
  it('exits 1 with the reason on stderr, and names exactly the records it kept', async () => {
    const root = stateRoot()
    const sys = smallMachine()
    const before = sys.snapshot()
    const r = await cli(['run', '--plain'], sys, root)
    expect(r.exitCode, r.stdout + r.stderr).toBe(EXIT.preflight)
    const paths = statePaths(root)
    const id = /session (\d{8}-\d{6}-[a-z0-9]{6}) started/.exec(r.stdout)?.[1] ?? ''
    // The report (the progress log, the table) is on stdout; the error and what to do, on stderr.
    expect(r.stdout).toMatch(/^Session \S+: FAILED in \S+ \(exit 1\)$/m)
    expect(r.stdout).not.toMatch(/^(Failed|What to do|Nothing|Kept|Fix)\b/m)
    const err = r.stderr.split('\n')
    expect(err[0]).toMatch(/^Failed: preflight: Unable to pass preflight: 1 of 15 checks failed: Memory: /)
    expect(err).toContain('  - Memory: Resize the VPS to at least 2 GB of RAM')
    expect(err).toContain('Nothing on the machine was changed: preflight only looks at it.')
    expect(err).toContain(
      `Kept for \`vps-provision log ${id}\`: the session record ${paths.sessionFile(id)} and its empty journal ${paths.transactionLog(id)}.`,
    )
    expect(r.stderr).not.toMatch(/Resume:|Undo:|rollback/)
    // What it says is what there is: the machine as it was, and only those two records (with the
    // lock file and the state directories they live in).
    expect(sys.snapshot()).toEqual(before)
    const rel = (p: string) => relative(root, p)
    expect(written(root).filter((p) => !p.endsWith('/'))).toEqual(
      [rel(paths.lockFile), rel(paths.sessionFile(id)), rel(paths.transactionLog(id))].sort(),
    )
    expect(readFileSync(paths.transactionLog(id), 'utf8')).toBe('')
    expect(readFileSync(paths.lockFile, 'utf8')).toBe('')
    // The kept record is what `vps-provision log` reads.
    const log = await cli(['log', id], sys, root)
    expect(log.exitCode, log.stderr).toBe(0)
    expect(log.stdout).toContain('No recorded actions.')
  })

  it('--json: the summary object is the last line on stdout, and says the same', async () => {
    const root = stateRoot()
    const r = await cli(['run', '--json'], smallMachine(), root)
    expect(r.exitCode).toBe(EXIT.preflight)
    const last = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) ?? '')
    expect(last).toMatchObject({ exitCode: EXIT.preflight, status: 'FAILED' })
    expect(last.lines[0]).toMatch(/^Failed: preflight: Unable to pass preflight: /)
    expect(last.lines).toContain('Nothing on the machine was changed: preflight only looks at it.')
    expect(last.lines.some((l: string) => l.startsWith('Kept for `vps-provision log '))).toBe(true)
    expect(r.stderr).toBe('')
  })
})
