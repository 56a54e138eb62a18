// One invocation, in-process: parse argv, run the command, map whatever happened to an exit code.
// Tests call this directly with a fake Engine; bin/ calls it with the real one and exits.
import { now } from '../model/events.js'
import { type CliContext, type CliDeps, memoryStream, newContext } from './deps.js'
import { buildProgram } from './program.js'
import { classify, reportError } from './report.js'
import { SIGNAL_EXIT, signalExitCode, stoppedLines } from './signals.js'

export interface CliResult {
  exitCode: number
  /** What was written, when CliDeps.stdout/stderr were not given (tests); otherwise empty. */
  stdout: string
  stderr: string
}

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<CliResult> {
  const stdout = deps.stdout ?? memoryStream()
  const stderr = deps.stderr ?? memoryStream()
  const ctx = newContext(deps, stdout, stderr, argv)
  const program = buildProgram(ctx)
  // Known before parsing, so a bad flag's hint can point at that command's --help.
  const named = argv.find((a) => !a.startsWith('-'))
  ctx.command = program.commands.find((c) => c.name() === named && named !== 'help')?.name() ?? null
  let failure: { message: string; hint?: string } | null = null
  try {
    await program.parseAsync([...argv], { from: 'user' })
  } catch (err) {
    // An interruption is reported once, below, with how to resume.
    const code = signalCodeOf(err)
    if (code !== null && signalExitCode(ctx.signal) !== null) ctx.exitCode = code
    else {
      const r = classify(err, ctx)
      if (!r.silent) failure = { message: r.message, ...(r.hint ? { hint: r.hint } : {}) }
      ctx.exitCode = reportError(err, ctx)
    }
  }
  const signalled = signalExitCode(ctx.signal)
  if (ctx.workerStop) {
    // The followed worker was stopped: say it as that run would have said it in this process.
    ctx.exitCode = ctx.workerStop.code
    stopped(ctx, ctx.workerStop.code, ctx.workerStop.reason)
  } else if (ctx.detached) {
    // The client let go; the run goes on. 128 + the signal, without "stopped" lines.
    if (signalled !== null) ctx.exitCode = signalled
  } else if (signalled !== null && ctx.command !== null && ctx.exitCode !== 0) {
    // Work that finished before the signal keeps its 0; otherwise the signal decides the code (the
    // engine knows 130 and 143, not SIGHUP's 129).
    ctx.exitCode = signalled
    stopped(ctx, signalled, String(ctx.signal.reason))
  }
  if (ctx.eventLog) {
    // The worker's last record: what a client exits with and reports.
    const stoppedBy = signalled !== null && ctx.exitCode === signalled ? String(ctx.signal.reason) : null
    ctx.eventLog.append({ type: 'worker-end', ts: now(), exitCode: ctx.exitCode, stoppedBy, error: failure })
    ctx.eventLog.close()
  }
  const text = (s: unknown) =>
    typeof (s as { text?: unknown }).text === 'function' ? (s as { text(): string }).text() : ''
  return { exitCode: ctx.exitCode, stdout: text(stdout), stderr: text(stderr) }
}

/** The engine's Aborted error carries 130 or 143. */
function signalCodeOf(err: unknown): number | null {
  const code = (err as { exitCode?: unknown } | null)?.exitCode
  return typeof code === 'number' && Object.values(SIGNAL_EXIT).includes(code) ? code : null
}

function stopped(ctx: CliContext, code: number, reason: string): void {
  if (ctx.json) {
    if (!ctx.summarized)
      ctx.out.line(
        JSON.stringify({ error: `Stopped by ${reason}`, exitCode: code, sessionId: ctx.sessionId }),
      )
    return
  }
  const lines = stoppedLines(ctx.command, reason, ctx.sessionId)
  // A failed run's summary already says how to resume and undo; then only the first line is new.
  const known = ctx.summarized && ctx.command === 'run'
  for (const line of known ? lines.slice(0, 1) : lines) ctx.err.line(line)
}
