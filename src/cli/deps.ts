// What the CLI needs from the outside world, injected so tests run every command in-process with a
// fake Engine, a fake System, captured output and any uid. bin/vps-provision.ts builds the real ones.
import { Chalk, type ChalkInstance } from 'chalk'
import type { Engine, EventLog, StatePaths } from '../engine/index.js'
import { chooseRenderer, createRenderer, type Renderer, type RenderOptions } from '../render/renderer.js'
import { makeOut, type Out, type OutStream } from '../render/text.js'
import type { System } from '../system/port.js'
import type { Supervisor } from './detached.js'
import type { FirstBootProbe } from './first-boot-wait.js'
import type { Interrupts } from './signals.js'

/** A value, or a loader for it: bin passes loaders so --help and status never load execa or phases. */
export type Lazy<T> = T | (() => Promise<T>)

export interface CliDeps {
  engine: Lazy<Engine>
  /** The System port for run, plan, verify and rollback. */
  system: Lazy<System>
  paths: StatePaths
  env: Readonly<Record<string, string | undefined>>
  /** process.getuid: run and rollback need root. */
  getuid(): number
  /** Aborted (with the signal's name as reason) on SIGINT/SIGTERM/SIGHUP. */
  signal?: AbortSignal
  /** Omitted: output is captured and returned by runCli. */
  stdout?: OutStream
  stderr?: OutStream
  /** stdin is a terminal, so rollback may ask for confirmation. */
  stdinIsTTY?: boolean
  /** Asks a yes/no question on the terminal; false when unanswered or interrupted. */
  confirm?(question: string, signal: AbortSignal): Promise<boolean>
  version?: string
  /** The terminal's colour depth (chalk's supportsColor level); NO_COLOR and --no-color win. */
  colorLevel?: 0 | 1 | 2 | 3
  /** Where the configuration is read from without --config. */
  defaultConfigFile?: string
  /** systemd, for detached runs (run, status --follow, stop). Omitted: every run is in-process. */
  supervisor?: Lazy<Supervisor>
  /** How to start this program again (node, its flags, the script): the worker's argv starts so. */
  selfCommand?: readonly string[]
  /** Signals after the first, for a client that detaches on Ctrl-C and stops on a second one. */
  interrupts?: Interrupts
  /** How long a second Ctrl-C may follow the first to stop instead of detaching (tests: short). */
  detachGraceMs?: number
  /** The pid of sshd's process for the SSH connection this process runs in, or null (ssh-confirm.ts). */
  sshdSession?: () => Promise<number | null>
  /** How often a run waiting for `confirm` looks again (tests: short). */
  guardPollMs?: number
  /** The cloud-init first-boot unit's state, so `status --wait latest` waits for its run to begin. */
  firstBoot?: Lazy<FirstBootProbe>
  /** How often `status --wait` looks at the session again (tests: short); default 1 s. */
  waitPollMs?: number
}

export async function resolveLazy<T extends object>(v: Lazy<T>): Promise<T> {
  return typeof v === 'function' ? (v as () => Promise<T>)() : v
}

/** Per-invocation state shared by the command handlers. */
export interface CliContext {
  deps: CliDeps
  out: Out
  err: Out
  signal: AbortSignal
  isTTY: boolean
  exitCode: number
  /** The command being run, for error messages ("Unable to <verb>"). */
  command: string | null
  json: boolean
  /** The session a run or rollback started, for the "how to resume" message. */
  sessionId: string | null
  /** The final summary was printed (then an interruption needs no resume hints of its own). */
  summarized: boolean
  /** An attached client let go of its run (Ctrl-C): the run goes on, so no "stopped" lines. */
  detached: boolean
  /** The followed worker was stopped by a signal: report it as a run in this process would. */
  workerStop: { code: number; reason: string } | null
  /** This process is a detached run's worker: its events and its end go to this log. */
  eventLog: EventLog | null
}

export interface OutputFlags {
  json?: boolean
  plain?: boolean
  color?: boolean
  /** run only: every apt/dpkg line on the terminal view too (plain and JSON show them anyway). */
  verbose?: boolean
  /** run only: errors alone, on stderr; nothing at all on success. */
  quiet?: boolean
}

export function colorFor(ctx: CliContext, flags: OutputFlags): ChalkInstance {
  const off = flags.color === false || ctx.deps.env.NO_COLOR !== undefined || !ctx.isTTY || flags.json
  return new Chalk({ level: off ? 0 : (ctx.deps.colorLevel ?? 1) })
}

export function renderOptions(ctx: CliContext, flags: OutputFlags): RenderOptions {
  return { out: ctx.out, color: colorFor(ctx, flags), tty: ctx.isTTY, verbose: flags.verbose === true }
}

/** The renderer the flags ask for; --quiet's says only errors, so it writes to stderr. */
export async function rendererFor(ctx: CliContext, flags: OutputFlags): Promise<Renderer> {
  const kind = chooseRenderer(flags, ctx.isTTY)
  const opts = renderOptions(ctx, flags)
  return createRenderer(kind, kind === 'quiet' ? { ...opts, out: ctx.err } : opts)
}

export function memoryStream(): OutStream & { text(): string } {
  const chunks: string[] = []
  return {
    isTTY: false,
    write: (chunk: string) => chunks.push(chunk) > 0,
    text: () => chunks.join(''),
  }
}

export function newContext(
  deps: CliDeps,
  stdout: OutStream,
  stderr: OutStream,
  argv: readonly string[],
): CliContext {
  return {
    deps,
    out: makeOut(stdout),
    err: makeOut(stderr),
    signal: deps.signal ?? new AbortController().signal,
    isTTY: stdout.isTTY === true,
    exitCode: 0,
    command: null,
    json: argv.includes('--json'),
    sessionId: null,
    summarized: false,
    detached: false,
    workerStop: null,
    eventLog: null,
  }
}
