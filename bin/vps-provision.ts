#!/usr/bin/env -S node --max-semi-space-size=2
// The executable: builds the real dependencies, wires signals and dead terminals, runs one command
// and exits. The only file that calls process.exit. Heavy modules (the engine with its phases, the
// real System with execa) load on first use, so --help and status start fast. The small young
// generation (V8's default lets it grow to 16 MiB a half) keeps a run's peak RSS down by ~10 MiB at
// the cost of more, shorter scavenges, which a program that mostly waits on apt does not notice.
import { supportsColor } from 'chalk'
import pkg from '../package.json' with { type: 'json' }
import { askOnTerminal } from '../src/cli/confirm.js'
import { runCli } from '../src/cli/run-cli.js'
import { createInterrupts, wireSignals } from '../src/cli/signals.js'
import { statePaths } from '../src/engine/paths.js'
import { hardenProcessEnv } from '../src/system/env.js'

// A closed terminal or a reader that went away (EPIPE, EIO) must not kill a root process halfway
// through provisioning: output is lost from then on, the work and its journal go on.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

const say = (line: string) => {
  try {
    process.stderr.write(`${line}\n`)
  } catch {
    // The terminal is gone.
  }
}

// Before anything can start a child process: no caller PATH, LD_PRELOAD or locale reaches one.
hardenProcessEnv(process.env)

const controller = new AbortController()
const interrupts = createInterrupts()
const unwire = wireSignals(process, controller, say, interrupts)
// One real System for the engine and for systemd (detached runs), loaded on first use.
const realSystem = async () => (await import('../src/system/real.js')).createRealSystem()

const { exitCode } = await runCli(process.argv.slice(2), {
  // bin/ hands the engine its phases (loaded only by the commands that run them).
  engine: async () =>
    (await import('../src/engine/engine.js')).createEngine(
      async () => (await import('../phases/index.js')).workstation,
    ),
  system: realSystem,
  supervisor: async () => {
    const [{ systemdSupervisor }, { gatherFacts }] = await Promise.all([
      import('../src/cli/detached.js'),
      import('../src/facts/environment.js'),
    ])
    return systemdSupervisor(await realSystem(), gatherFacts)
  },
  firstBoot: async () =>
    (await import('../src/cli/first-boot-wait.js')).systemdFirstBootProbe(await realSystem()),
  // The worker of a detached run is this same program: node, its flags (tsx's loader), the script.
  selfCommand: [process.execPath, ...process.execArgv, process.argv[1] ?? ''],
  interrupts,
  paths: statePaths(),
  env: process.env,
  getuid: () => process.getuid?.() ?? -1,
  signal: controller.signal,
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: process.stdin.isTTY === true,
  confirm: (question, signal) => askOnTerminal(question, signal),
  // The SSH connection this process runs in, for the lock-out insurance (src/cli/ssh-confirm.ts).
  sshdSession: async () => {
    const [{ readFile }, { sshdAncestor }] = await Promise.all([
      import('node:fs/promises'),
      import('../src/cli/ssh-confirm.js'),
    ])
    const readStat = (pid: number) => readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
    return sshdAncestor(readStat, process.pid)
  },
  version: pkg.version,
  colorLevel: supportsColor ? supportsColor.level : 0,
})

unwire()
// Let piped output drain before exiting; a dead pipe calls back with an error, which is fine. The
// timer covers a reader that neither reads nor closes.
process.exitCode = exitCode
const exit = () => process.exit(exitCode)
setTimeout(exit, 2000).unref()
process.stdout.write('', () => process.stderr.write('', exit))
