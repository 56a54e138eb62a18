// The question before the first run on a machine someone already uses (src/cli/first-run.ts):
// through the CLI, with the real engine and phases on the fake Debian 13, in a temp state root.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CliDeps } from '../../src/cli/deps.js'
import type { Supervisor, WorkerUnit } from '../../src/cli/detached.js'
import { machineInUse } from '../../src/cli/first-run.js'
import { runCli } from '../../src/cli/run-cli.js'
import type { Engine } from '../../src/engine/api.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'
import { engine as realEngine } from '../helpers/engine.js'
import { stream } from '../helpers/stream.js'
import type { FakeSystem } from '../support/fake/index.js'
import { workstationMachine } from '../support/workstation-run.js'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A machine someone uses: XFCE with its display manager, and a person's account. */
async function usedMachine(): Promise<FakeSystem> {
  const sys = workstationMachine()
  await sys.exec(['apt-get', '-y', 'install', 'xfce4-session', 'lightdm'])
  sys.writeText('/usr/share/xsessions/xfce.desktop', '[Desktop Entry]\nName=Xfce Session\n')
  sys.writeText('/etc/X11/default-display-manager', '/usr/sbin/lightdm\n')
  await sys.exec(['useradd', '--create-home', '--shell', '/bin/bash', 'alice'])
  return sys
}

interface Setup {
  sys: FakeSystem
  /** The person's answer; null: the question must not be asked. */
  answer?: boolean | null
  stdinIsTTY?: boolean
  stderrIsTTY?: boolean
  env?: Record<string, string>
  root?: string
  supervisor?: Supervisor
}

/** `vps-provision ARGV` as root; the engine's run is counted, and reaches the machine for real. */
async function run(argv: string[], setup: Setup) {
  const root = setup.root ?? mkdtempSync(join(tmpdir(), 'vps-first-run-'))
  dirs.push(root)
  const asked: string[] = []
  let runs = 0
  const engine: Engine = {
    ...realEngine,
    run: (deps, cfg, opts) => {
      runs++
      return realEngine.run(deps, cfg, opts)
    },
  }
  const stderr = stream(setup.stderrIsTTY ?? true)
  const deps: CliDeps = {
    engine,
    system: setup.sys,
    paths: statePaths(root),
    env: setup.env ?? {},
    getuid: () => 0,
    defaultConfigFile: join(root, 'absent.yaml'),
    stdout: stream(false),
    stderr,
    stdinIsTTY: setup.stdinIsTTY ?? true,
    confirm: async (question) => {
      asked.push(question)
      if (setup.answer === null || setup.answer === undefined) throw new Error('asked unexpectedly')
      return setup.answer
    },
    ...(setup.supervisor ? { supervisor: setup.supervisor, selfCommand: ['node', 'vps-provision.mjs'] } : {}),
  }
  const r = await runCli(argv, deps)
  return { ...r, stderr: stderr.text(), asked, runs, root }
}

// Preflight alone: a real session of ours on the fake, quickly.
const RUN = ['run', '--only', 'preflight']

describe('what says a machine is in use', () => {
  it('nothing on a fresh Debian 13', async () => {
    expect(await machineInUse(workstationMachine())).toEqual([])
  })

  it('a desktop, its display manager and people', async () => {
    const found = await machineInUse(await usedMachine())
    expect(found).toEqual([
      'installed: xfce4-session, lightdm',
      'desktop sessions: xfce',
      'display manager: /usr/sbin/lightdm',
      expect.stringMatching(/^users: alice \(uid 1\d{3}\)$/),
    ])
  })
})

describe('run on a machine in use, at a terminal', () => {
  it('describes what it found and asks; "no" exits 5 and writes nothing', async () => {
    const sys = await usedMachine()
    const before = sys.execLog.length
    const r = await run(RUN, { sys, answer: false })
    expect(r.asked).toEqual(['Provision this machine anyway?'])
    expect(r.stderr).toContain('This machine already has:\n  installed: xfce4-session, lightdm\n')
    expect(r.stderr).toContain('  users: alice (uid ')
    expect(r.stderr).toContain('Unable to provision this machine: not confirmed; nothing was changed\nhint: ')
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.runs).toBe(0)
    // No lock, session, journal or anything else of ours; the machine was only looked at.
    expect(readdirSync(r.root)).toEqual([])
    const commands = sys.execLog.slice(before).map((e) => e.argv[0])
    expect(commands.every((c) => c === 'dpkg-query')).toBe(true)
  })

  it('"yes" goes on with the run', async () => {
    const r = await run(RUN, { sys: await usedMachine(), answer: true })
    expect(r.asked).toHaveLength(1)
    expect(r.runs).toBe(1)
    expect(r.exitCode).toBe(EXIT.ok)
  })

  it('--yes (or -y) skips the question', async () => {
    for (const yes of ['--yes', '-y']) {
      const r = await run([...RUN, yes], { sys: await usedMachine(), answer: null })
      expect(r.asked).toEqual([])
      expect(r.runs).toBe(1)
      expect(r.exitCode).toBe(EXIT.ok)
    }
  })

  it('a fresh machine is not asked about', async () => {
    const r = await run(RUN, { sys: workstationMachine(), answer: null })
    expect(r.asked).toEqual([])
    expect(r.runs).toBe(1)
  })

  it('re-runs never ask once a run session of ours exists', async () => {
    const sys = await usedMachine()
    const first = await run(RUN, { sys, answer: true })
    expect(first.exitCode).toBe(EXIT.ok)
    const again = await run(RUN, { sys, answer: null, root: first.root })
    expect(again.asked).toEqual([])
    expect(again.runs).toBe(1)
  })

  it('a detached run asks before its unit or its stored configuration exists', async () => {
    const started: WorkerUnit[] = []
    const supervisor: Supervisor = {
      facts: async () => ({ systemd: true, chroot: false }),
      start: async (unit) => {
        started.push(unit)
      },
      alive: async () => false,
      running: async () => [],
      stop: async () => {},
      journalTail: async () => [],
    }
    const r = await run(['run'], { sys: await usedMachine(), answer: false, supervisor })
    expect(r.exitCode).toBe(EXIT.usage)
    expect(started).toEqual([])
    expect(existsSync(statePaths(r.root).sessionsDir)).toBe(false)
    expect(readdirSync(r.root)).toEqual([])
  })
})

describe('run on a machine in use, with nobody to ask', () => {
  it.each([
    ['stdin is not a terminal (ssh host vps-provision run, a pipe)', { stdinIsTTY: false }],
    ['stderr is not a terminal', { stderrIsTTY: false }],
    ['a systemd unit runs it (cloud-init)', { env: { INVOCATION_ID: 'abc' } }],
  ])('never asks and goes on when %s', async (_why, over) => {
    const r = await run(RUN, { sys: await usedMachine(), answer: null, ...over })
    expect(r.asked).toEqual([])
    expect(r.runs).toBe(1)
    expect(r.exitCode).toBe(EXIT.ok)
  })
})
