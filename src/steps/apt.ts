// Everything the apt-based step kinds share: one argv prefix, dpkg-query parsing, the simulate
// parser that tells us exactly which packages an install will add (the undo set), and a retry
// for the network failures a fresh VPS hits while its mirror or DNS warms up.

import { lockError } from '../facts/apt-lock.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { CommandError, type ExecOptions, type ExecResult, lastLines, type System } from '../system/port.js'
import { type RetryPolicy, realClock, retry } from '../util/retry.js'

/** How long apt-get waits for the dpkg lock by default (config: aptLockTimeoutSeconds). */
export const DEFAULT_APT_LOCK_TIMEOUT_S = 600

/** Every apt-get call: wait for the dpkg lock instead of failing, keep existing conffiles. */
export function aptGet(lockTimeoutSeconds: number = DEFAULT_APT_LOCK_TIMEOUT_S): readonly string[] {
  return [
    'apt-get',
    '-o',
    `DPkg::Lock::Timeout=${Math.max(0, Math.floor(lockTimeoutSeconds))}`,
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    '-y',
    '-q',
  ]
}

/** The prefix with the default lock timeout (rollback, which has no configuration). */
export const APT_GET: readonly string[] = aptGet()

/** Long transactions (desktop install) get 30 minutes; the System would default to less. */
export const APT_TIMEOUT_MS = 30 * 60 * 1000

/**
 * Debian policy's package name. Checked up front because apt-get's argv carries no `--`: every
 * target is a validated name or an absolute .deb path, so none can start with '-'.
 */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/

export function aptInstallArgv(
  targets: readonly string[],
  opts: { recommends?: boolean; simulate?: boolean; lockTimeoutSeconds?: number } = {},
) {
  return [
    ...aptGet(opts.lockTimeoutSeconds),
    'install',
    ...(opts.simulate ? ['-s'] : []),
    ...(opts.recommends ? [] : ['--no-install-recommends']),
    ...targets,
  ]
}

const TRANSIENT = [
  'Temporary failure resolving',
  'Could not connect',
  'Connection timed out',
  'Failed to fetch',
  'Unable to fetch some archives',
  'Hash Sum mismatch',
]

export function isTransientAptFailure(r: ExecResult): boolean {
  const text = `${r.stdout}\n${r.stderr}`
  return r.exitCode === 100 && TRANSIENT.some((t) => text.includes(t))
}

export function missingPackages(r: ExecResult): string[] {
  const text = `${r.stdout}\n${r.stderr}`
  return [...text.matchAll(/Unable to locate package (\S+)/g)].map((m) => m[1] ?? '')
}

/** What apt-get says after dpkg was killed mid-transaction (a power cut, an OOM kill, SIGKILL). */
export const DPKG_INTERRUPTED = /dpkg was interrupted, you must manually run '(?:sudo )?dpkg --configure -a'/

/**
 * After dpkg was cut off halfway, every apt-get refuses until `dpkg --configure -a` has finished the
 * interrupted work: exactly what apt tells a person to run. We run it, so a resumed run or rollback
 * goes on instead of stopping at a message. True when it ran (the caller then retries once).
 */
export async function repairInterruptedDpkg(
  sys: System,
  r: ExecResult,
  env?: Record<string, string>,
): Promise<boolean> {
  if (r.exitCode === 0 || !DPKG_INTERRUPTED.test(`${r.stdout}\n${r.stderr}`)) return false
  await configurePending(sys, { ...(env ? { env } : {}) })
  return true
}

/** `dpkg --configure -a`, keeping existing conffiles as every apt-get of ours does. */
function configurePending(sys: System, opts: ExecOptions): Promise<ExecResult> {
  return sys.exec(['dpkg', '--force-confdef', '--force-confold', '--configure', '-a'], {
    timeoutMs: APT_TIMEOUT_MS,
    ...opts,
  })
}

/**
 * A transaction killed halfway leaves packages unpacked but not configured, their new conffiles
 * still `.dpkg-new`. `apt-get -s` does not notice (only a real install does, and finishes them
 * first); called before a transaction looks at the machine, so that what it records of /etc is
 * the machine as dpkg leaves it finished, not the killed one's half-way state.
 */
export async function finishInterruptedDpkg(sys: System, note: (text: string) => void): Promise<void> {
  const audit = await sys.exec(['dpkg', '--audit'], { allowFailure: true })
  if (audit.exitCode === 0 && audit.stdout.trim() === '') return
  note('dpkg had been interrupted: running `dpkg --configure -a` to finish it first')
  await configurePending(sys, { allowFailure: true })
}

export type { RetryPolicy }

export interface AptOptions {
  retry?: Partial<RetryPolicy>
  onLine?: (line: string) => void
  onRetry?: (why: string) => void
  lockTimeoutSeconds?: number
}

/**
 * Three tries, 5 then 10 seconds apart. No jitter: one machine's apt-get does not retry in step
 * with anyone else's, and the waits stay what the warnings and the docs say.
 */
export const defaultRetry: RetryPolicy = {
  ...realClock,
  tries: 3,
  baseDelayMs: 5000,
  maxDelayMs: 60_000,
  deadlineMs: APT_TIMEOUT_MS * 2,
  jitter: 0,
}

/**
 * Runs an apt-get argv, retrying transient network failures with exponential backoff. Returns the
 * last result (even a failure) so callers can explain it; never throws on a non-zero exit.
 */
export async function runAptWithRetry(
  sys: System,
  argv: readonly string[],
  opts: AptOptions = {},
): Promise<ExecResult> {
  const run = () => sys.exec(argv, { allowFailure: true, timeoutMs: APT_TIMEOUT_MS, onLine: opts.onLine })
  let repaired = false
  const attempt = async () => {
    const result = await run()
    if (repaired || !(await repairInterruptedDpkg(sys, result))) return result
    repaired = true
    opts.onRetry?.('dpkg had been interrupted: ran `dpkg --configure -a`, retrying')
    return run()
  }
  const transient = (r: ExecResult) => (isTransientAptFailure(r) ? 'a network error' : null)
  const { result } = await retry({ ...defaultRetry, ...opts.retry }, attempt, transient, (note) =>
    opts.onRetry?.(
      `apt-get failed with ${note.why} (try ${note.attempt} of ${note.tries}); retrying in ${note.waitMs} ms`,
    ),
  )
  return result
}

/** Turns a failed apt-get result into an error a person can act on. */
export function aptError(what: string, argv: readonly string[], r: ExecResult): ProvisionError {
  const missing = missingPackages(r)
  if (missing.length > 0)
    return new ProvisionError(
      `Unable to ${what}: apt cannot find package ${missing.join(', ')}`,
      EXIT.provisioning,
      'Check the package name for Debian 13 (trixie), or that the apt source providing it was added and `apt-get update` ran.',
    )
  if (isTransientAptFailure(r))
    return new ProvisionError(
      `Unable to ${what}: the package mirror could not be reached: ${lastLines(r.stderr || r.stdout, 3)}`,
      EXIT.provisioning,
      'Check DNS and outbound HTTP(S) from this VPS (`apt-get update` shows the failing URL), then run again: finished work is kept.',
    )
  return new ProvisionError(
    `Unable to ${what}: ${new CommandError(argv, r).message}`,
    EXIT.provisioning,
    'Run the same apt-get command by hand to see the full output; `dpkg --audit` shows half-configured packages.',
  )
}

/** `apt-get update`, retried; throws an explained error when it still fails. */
export async function aptGetUpdate(
  sys: System,
  opts: AptOptions & { args?: readonly string[]; what?: string } = {},
): Promise<void> {
  const argv = [...aptGet(opts.lockTimeoutSeconds), ...(opts.args ?? ['update'])]
  const r = await runAptWithRetry(sys, argv, opts)
  if (r.exitCode !== 0)
    throw await aptFailure(
      sys,
      opts.what ?? 'refresh the apt package lists',
      argv,
      r,
      opts.lockTimeoutSeconds,
    )
}

/** aptError, or for a dpkg lock that never came free, who holds it (see apt-lock.ts). */
export async function aptFailure(
  sys: System,
  what: string,
  argv: readonly string[],
  r: ExecResult,
  lockTimeoutSeconds: number = DEFAULT_APT_LOCK_TIMEOUT_S,
): Promise<ProvisionError> {
  return (await lockError(sys, what, r, lockTimeoutSeconds)) ?? aptError(what, argv, r)
}
