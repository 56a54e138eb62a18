// exec() on the real machine: execa with an argv array (never a shell), a fixed environment, a
// timeout, and every way a child can end (exit, missing program, signal, timeout) turned into an
// exit code, so callers only ever read `exitCode`.
import { constants as osConstants } from 'node:os'
import { execa, type Options, type Result } from 'execa'
import { childEnv, defaultTimeoutMs } from './env.js'
import { CommandError, type ExecOptions, type ExecResult, redact } from './port.js'

export async function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv
  if (!file) throw new Error('exec needs a program to run')
  // A child may echo its stdin back (chpasswd does on errors): keep stdin out of error messages.
  const secrets = [...(opts.secrets ?? []), ...secretLines(opts.stdin)]
  const timeout = opts.timeoutMs ?? defaultTimeoutMs(argv)
  const tap = lineTap(opts)
  const execaOptions: Options = {
    extendEnv: false,
    env: childEnv(opts.env),
    cwd: '/',
    reject: false,
    stripFinalNewline: false,
    timeout,
    ...(opts.stdin === undefined ? { stdin: 'ignore' as const } : { input: opts.stdin }),
    stdout: tap,
    stderr: tap,
  }
  const r = await execa(file, args, execaOptions)
  const stdout = typeof r.stdout === 'string' ? r.stdout : ''
  const stderr = typeof r.stderr === 'string' ? r.stderr : ''
  if (r.timedOut) {
    const note = `timed out after ${Math.round(timeout / 100) / 10} s and was killed`
    throw new CommandError(argv, { exitCode: 124, stdout, stderr: `${stderr}\n${note}` }, secrets)
  }
  const result = exitOf(file, r, stdout, stderr)
  if (result.exitCode !== 0 && !opts.allowFailure) throw new CommandError(argv, result, secrets)
  return result
}

/** Passes each line to opts.onLine (redacted) while the output is still collected. */
function lineTap({ onLine, secrets = [] }: ExecOptions) {
  if (!onLine) return 'pipe' as const
  return {
    *transform(line: unknown) {
      onLine(redact(String(line).replace(/\r?\n$/, ''), secrets))
      yield line
    },
    preserveNewlines: true,
  }
}

/** The shell's conventions: 127 not found, 126 not executable, 128 + n killed by signal n. */
function exitOf(file: string, r: Result, stdout: string, stderr: string): ExecResult {
  if (r.exitCode !== undefined) return { exitCode: r.exitCode, stdout, stderr }
  if (r.code === 'ENOENT') return { exitCode: 127, stdout: '', stderr: `command not found: ${file}` }
  if (r.code === 'EACCES') return { exitCode: 126, stdout: '', stderr: `permission denied: ${file}` }
  if (r.signal) {
    const signo = osConstants.signals[r.signal as keyof typeof osConstants.signals] ?? 0
    return { exitCode: 128 + signo, stdout, stderr: `${stderr}\nkilled by ${r.signal}` }
  }
  return { exitCode: 1, stdout, stderr: `${stderr}\n${r.shortMessage}` }
}

function secretLines(stdin: string | undefined): string[] {
  if (!stdin) return []
  return [stdin, ...stdin.split('\n').map((l) => l.trim())].filter((l) => l.length >= 4)
}
