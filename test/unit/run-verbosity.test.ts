// run --verbose and --quiet, end to end through the CLI: the real engine and phases on the fake
// Debian 13, in a temp state root, with stdout a terminal or not.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Chalk } from 'chalk'
import { afterAll, describe, expect, it } from 'vitest'
import { bashCompletion, manPage } from '../../scripts/debian/assets.js'
import type { CliDeps } from '../../src/cli/deps.js'
import { runCli } from '../../src/cli/run-cli.js'
import type { Engine } from '../../src/engine/api.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'
import type { RunEvent } from '../../src/model/events.js'
import { makeOut } from '../../src/render/text.js'
import { ttyRenderer } from '../../src/render/tty.js'
import { engine as realEngine } from '../helpers/engine.js'
import { stream } from '../helpers/stream.js'
import type { FakeSystem } from '../support/fake/index.js'
import { workstationMachine } from '../support/workstation-run.js'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

interface Setup {
  sys?: FakeSystem
  engine?: Engine
  tty?: boolean
}

/** One `vps-provision ARGV` as root on a fresh fake machine, in its own state root. */
async function run(argv: string[], setup: Setup = {}) {
  const root = mkdtempSync(join(tmpdir(), 'vps-verbosity-'))
  dirs.push(root)
  const stdout = stream(setup.tty ?? false)
  const stderr = stream(setup.tty ?? false)
  const deps: CliDeps = {
    engine: setup.engine ?? realEngine,
    system: setup.sys ?? workstationMachine(),
    paths: statePaths(root),
    env: {},
    getuid: () => 0,
    defaultConfigFile: join(root, 'absent.yaml'),
    stdout,
    stderr,
  }
  const r = await runCli(argv, deps)
  return { ...r, stdout: stdout.text(), stderr: stderr.text(), root }
}

// system-prep installs packages with apt, whose lines ("Setting up ufw ...") are the raw output.
const SYSTEM_PREP = ['run', '--only', 'system-prep']
const RAW = /^.*Setting up ufw .*$/m

describe('run --verbose', () => {
  it('on a terminal shows every apt/dpkg line, each once', async () => {
    const r = await run([...SYSTEM_PREP, '--verbose'], { tty: true })
    expect(r.exitCode).toBe(EXIT.ok)
    const raw = r.stdout.split('\n').filter((l) => /Setting up \S+ \(/.test(l))
    expect(raw.length).toBeGreaterThan(3)
    expect(new Set(raw).size).toBe(raw.length)
    expect(r.stdout).toMatch(RAW)
  })

  it('with --plain the lines are the same as without it: plain shows every event already', async () => {
    const verbose = await run([...SYSTEM_PREP, '--plain', '--verbose'])
    const plain = await run([...SYSTEM_PREP, '--plain'])
    const shape = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.includes(' | '))
        .map((l) => l.slice(l.indexOf(' | ')))
    expect(shape(verbose.stdout)).toEqual(shape(plain.stdout))
    expect(shape(verbose.stdout).some((l) => /Setting up ufw/.test(l))).toBe(true)
  })

  it('leaves --json as it is: the same kinds of events, the summary last', async () => {
    const kinds = (text: string) =>
      text
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { type?: string }).type ?? 'summary')
    const verbose = await run([...SYSTEM_PREP, '--json', '--verbose'])
    const json = await run([...SYSTEM_PREP, '--json'])
    expect(kinds(verbose.stdout)).toEqual(kinds(json.stdout))
    expect(kinds(json.stdout).at(-1)).toBe('summary')
  })
})

describe('run --quiet', () => {
  it('prints nothing at all on success, on a terminal or not', async () => {
    for (const tty of [true, false]) {
      const r = await run([...SYSTEM_PREP, '--quiet'], { tty })
      expect(r.exitCode).toBe(EXIT.ok)
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe('')
    }
  })

  it('a failed run prints only its error, on stderr, with what to do', async () => {
    const sys = workstationMachine()
    sys.failOn((argv) =>
      argv[0] === 'apt-get' && argv.includes('install') && !argv.includes('-s')
        ? { exitCode: 100, stdout: '', stderr: 'E: Sub-process /usr/bin/dpkg returned an error code (1)' }
        : null,
    )
    const r = await run([...SYSTEM_PREP, '--quiet'], { sys, tty: true })
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^Failed: .*Unable to /)
    expect(r.stderr).toContain('Resume: vps-provision run')
    expect(r.stderr).not.toMatch(/Setting up|step |phase /)
  })

  it('an error before the run is its one `Unable to` line and hint on stderr', async () => {
    const r = await run([...SYSTEM_PREP, '--quiet', '--config', '/nonexistent/config.yaml'])
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^Unable to .*\nhint: /)
  })

  it('files a generated password instead of showing it: nobody sees a summary', async () => {
    let interactive: boolean | null = null
    const engine: Engine = {
      ...realEngine,
      async run(deps) {
        interactive = deps.interactive
        return {
          sessionId: '-',
          status: 'COMPLETED',
          exitCode: 0,
          durationSeconds: 1,
          phases: [],
          lines: [],
          credentials: null,
        }
      },
    }
    await run(['run', '--quiet'], { engine, tty: true })
    expect(interactive).toBe(false)
    await run(['run'], { engine, tty: true })
    expect(interactive).toBe(true)
  })

  it('with --json the NDJSON stream is unchanged', async () => {
    const r = await run([...SYSTEM_PREP, '--json', '--quiet'])
    expect(r.exitCode).toBe(EXIT.ok)
    const last = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) ?? '{}') as { exitCode?: number }
    expect(last.exitCode).toBe(0)
    expect(r.stdout.split('\n').length).toBeGreaterThan(10)
  })
})

describe('--verbose with --quiet', () => {
  it('is a usage error (exit 5) before anything runs or is written', async () => {
    let ran = false
    const engine: Engine = {
      ...realEngine,
      run: async () => {
        ran = true
        throw new Error('must not run')
      },
    }
    for (const argv of [
      ['run', '--verbose', '--quiet'],
      ['run', '--quiet', '--verbose', '--json'],
    ]) {
      const r = await run(argv, { engine })
      expect(r.exitCode).toBe(EXIT.usage)
      const said = argv.includes('--json') ? r.stdout : r.stderr
      expect(said).toMatch(/option '--(verbose|quiet)' cannot be used with option '--(quiet|verbose)'/)
      expect(readdirSync(r.root)).toEqual([])
    }
    expect(ran).toBe(false)
  })
})

describe('the terminal view under --verbose', () => {
  const ts = '2026-11-26T10:00:00.000Z'
  const events: RunEvent[] = [
    {
      type: 'session-start',
      ts,
      command: 'run',
      sessionId: '20261126-100000-abc123',
      phases: [{ name: 'system-prep', title: 'System preparation', weight: 1 }],
    },
    { type: 'phase-start', ts, phase: 'system-prep', title: 'System preparation', steps: 1 },
    { type: 'step-start', ts, phase: 'system-prep', step: 'system-prep.apt', title: 'Install packages' },
    { type: 'output', ts, phase: 'system-prep', line: 'Unpacking ufw (0.36.2-9) ...' },
    { type: 'output', ts, phase: 'system-prep', line: 'Setting up ufw (0.36.2-9) ...' },
    { type: 'step-end', ts, phase: 'system-prep', step: 'system-prep.apt', outcome: 'applied' },
    { type: 'phase-end', ts, phase: 'system-prep', status: 'COMPLETED', durationMs: 10, actions: 1 },
  ]

  /** What the TTY renderer writes to a wide terminal (listr2 redraws only when stdout is one). */
  async function onWideTerminal(verbose: boolean): Promise<string> {
    const chunks: string[] = []
    const out = makeOut({ isTTY: true, columns: 120, write: (s: string) => chunks.push(s) > 0 })
    const was = process.stdout.isTTY
    process.stdout.isTTY = true
    try {
      const r = ttyRenderer({ out, color: new Chalk({ level: 0 }), tty: true, verbose })
      for (const e of events) r.emit(e)
      await r.close(null)
    } finally {
      process.stdout.isTTY = was
    }
    return chunks.join('')
  }

  it('prints line by line, each apt line once, instead of redrawing the live view', async () => {
    const live = await onWideTerminal(false)
    // The live view moves the cursor to redraw; its lasting text has no apt line.
    expect(live).toContain('\u001b[1A')
    expect(live).not.toContain('Setting up ufw')
    const verbose = await onWideTerminal(true)
    expect(verbose).not.toContain('\u001b[')
    const lines = verbose.split('\n')
    expect(lines.filter((l) => l.includes('Unpacking ufw'))).toHaveLength(1)
    expect(lines.filter((l) => l.includes('Setting up ufw'))).toHaveLength(1)
    expect(verbose.indexOf('Unpacking ufw')).toBeLessThan(verbose.indexOf('Setting up ufw'))
    expect(verbose).toContain('System preparation (1 change)')
  })
})

describe('where the flags are documented', () => {
  it('run --help, the man page and the completion offer them for run only', async () => {
    const help = await run(['run', '--help'])
    expect(help.stdout).toMatch(/--verbose .*\n(.*\n)*.*--json show them anyway/)
    expect(help.stdout).toMatch(/--quiet .*errors only, on stderr/)
    expect(help.stdout).toContain('--json is unchanged')
    const completion = bashCompletion('0.0.0')
    const flagsOf = (cmd: string) =>
      new RegExp(`^ {6}${cmd}\\) flags='([^']*)'`, 'm').exec(completion)?.[1] ?? ''
    expect(flagsOf('run').split(' ')).toEqual(expect.arrayContaining(['--verbose', '--quiet', '-y', '--yes']))
    expect(flagsOf('plan')).not.toContain('--verbose')
    const man = manPage({ version: '0.0.0', date: '2026-11-26' })
    expect(man).toContain('\\fB\\-\\-verbose\\fR')
    expect(man).toContain('\\fB\\-\\-quiet\\fR')
  })
})
