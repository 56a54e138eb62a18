// The one retry loop for what talks to the network (downloads, reachability probes, apt-get): a
// fresh VPS meets DNS and mirrors that are still warming up. Waits double up to a cap; jitter keeps
// machines that failed together from retrying in step; a total deadline turns a long outage into
// an error a person can act on. Only a result the caller calls transient is retried: a thrown
// error is never retried, it goes straight up.

export interface Clock {
  sleep: (ms: number) => Promise<void>
  now: () => number
  /** A number in [0, 1), as Math.random. */
  random: () => number
}

export interface RetryPolicy extends Clock {
  /** Attempts in all, the first included. */
  tries: number
  /** The first wait; each later one is twice the one before, up to maxDelayMs. */
  baseDelayMs: number
  maxDelayMs: number
  /** No wait starts that would end later than this after the first attempt began. */
  deadlineMs: number
  /** 0 to 1: each wait is shortened by up to this fraction, at random. 0 keeps the waits exact. */
  jitter: number
}

export const realClock: Clock = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
  random: () => Math.random(),
}

export interface RetryNote {
  /** The attempt that just failed, from 1. */
  attempt: number
  tries: number
  waitMs: number
  /** What `transient` said about the failed attempt. */
  why: string
}

export interface Retried<T> {
  /** The last attempt's result: a success, a permanent failure, or the last transient one. */
  result: T
  attempts: number
}

/** The wait after failed attempt `attempt` (from 1), before jitter. */
export const backoffMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))

/**
 * Runs `attempt` until `transient` returns null for its result (done, or failed for good), the
 * tries are spent, or the next wait would overrun the deadline.
 */
export async function retry<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  transient: (result: T) => string | null,
  onRetry?: (note: RetryNote) => void,
): Promise<Retried<T>> {
  const start = policy.now()
  for (let n = 1; ; n++) {
    const result = await attempt()
    const why = transient(result)
    if (why === null || n >= policy.tries) return { result, attempts: n }
    const waitMs = Math.round(backoffMs(policy, n) * (1 - policy.jitter * policy.random()))
    if (policy.now() - start + waitMs > policy.deadlineMs) return { result, attempts: n }
    onRetry?.({ attempt: n, tries: policy.tries, waitMs, why })
    await policy.sleep(waitMs)
  }
}
