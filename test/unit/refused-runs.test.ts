// Issue 19: the real engine and phases on the fake Debian 13, driven through the CLI on a temp state
// root: a configuration the run would always refuse, whatever the machine (a reserved username),
// is a configuration error: exit 5, one `Unable to …` line and a hint on stderr, no file written.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
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
