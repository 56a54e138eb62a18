// Everything the apt-based step kinds share: one argv prefix, dpkg-query parsing, the simulate
// parser that tells us exactly which packages an install will add (the undo set), and a retry
// for the network failures a fresh VPS hits while its mirror or DNS warms up.

import { lockError } from '../facts/apt-lock.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { CommandError, type ExecResult, lastLines, type System } from '../system/port.js'

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
  await sys.exec(['dpkg', '--force-confdef', '--force-confold', '--configure', '-a'], {
    timeoutMs: APT_TIMEOUT_MS,
    ...(env ? { env } : {}),
  })
  return true
}

export interface RetryPolicy {
  tries: number
  baseDelayMs: number
  /** Injected so tests do not wait. */
  sleep: (ms: number) => Promise<void>
}

export const defaultRetry: RetryPolicy = {
  tries: 3,
  baseDelayMs: 5000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

/**
 * Runs an apt-get argv, retrying transient network failures with exponential backoff. Returns the
 * last result (even a failure) so callers can explain it; never throws on a non-zero exit.
 */
export async function runAptWithRetry(
  sys: System,
  argv: readonly string[],
  opts: {
    retry?: Partial<RetryPolicy>
    onLine?: (line: string) => void
    onRetry?: (why: string) => void
  } = {},
): Promise<ExecResult> {
  const policy = { ...defaultRetry, ...opts.retry }
  let result: ExecResult = { exitCode: 1, stdout: '', stderr: '' }
  let repaired = false
  for (let attempt = 1; attempt <= policy.tries; attempt++) {
    result = await sys.exec(argv, { allowFailure: true, timeoutMs: APT_TIMEOUT_MS, onLine: opts.onLine })
    if (!repaired && (await repairInterruptedDpkg(sys, result))) {
      repaired = true
      opts.onRetry?.('dpkg had been interrupted: ran `dpkg --configure -a`, retrying')
      attempt--
      continue
    }
    if (!isTransientAptFailure(result) || attempt === policy.tries) return result
    const wait = policy.baseDelayMs * 2 ** (attempt - 1)
    opts.onRetry?.(
      `apt-get failed with a network error (try ${attempt} of ${policy.tries}); retrying in ${wait} ms`,
    )
    await policy.sleep(wait)
  }
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
  opts: {
    retry?: Partial<RetryPolicy>
    onLine?: (line: string) => void
    onRetry?: (why: string) => void
    lockTimeoutSeconds?: number
  } = {},
): Promise<void> {
  const argv = [...aptGet(opts.lockTimeoutSeconds), 'update']
  const r = await runAptWithRetry(sys, argv, opts)
  if (r.exitCode !== 0)
    throw await aptFailure(sys, 'refresh the apt package lists', argv, r, opts.lockTimeoutSeconds)
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
