// The one retry loop, on a fake clock: every wait is recorded instead of slept, and "random" is a
// fixed sequence, so each case is exact.
import { describe, expect, it } from 'vitest'
import { type RetryNote, type RetryPolicy, retry } from '../../src/util/retry.js'

function fakeClock(randoms: number[] = []) {
  let t = 0
  const waits: number[] = []
  return {
    waits,
    advance: (ms: number) => {
      t += ms
    },
    clock: {
      now: () => t,
      sleep: async (ms: number) => {
        waits.push(ms)
        t += ms
      },
      random: () => randoms.shift() ?? 0,
    },
  }
}

function policy(clock: ReturnType<typeof fakeClock>['clock'], over: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...clock, tries: 5, baseDelayMs: 100, maxDelayMs: 10_000, deadlineMs: 60_000, jitter: 0, ...over }
}

/** An attempt that fails transiently `failures` times, then succeeds. */
function flaky(failures: number) {
  let calls = 0
  const attempt = async () => (++calls <= failures ? 'down' : 'ok')
  return { attempt, calls: () => calls }
}
const transient = (r: string) => (r === 'down' ? 'HTTP 503' : null)

describe('retry', () => {
  it('returns the first success without waiting', async () => {
    const f = fakeClock()
    expect(await retry(policy(f.clock), flaky(0).attempt, transient)).toEqual({ result: 'ok', attempts: 1 })
    expect(f.waits).toEqual([])
  })

  it('doubles the wait after each transient failure', async () => {
    const f = fakeClock()
    const notes: RetryNote[] = []
    const r = await retry(policy(f.clock), flaky(3).attempt, transient, (n) => notes.push(n))
    expect(r).toEqual({ result: 'ok', attempts: 4 })
    expect(f.waits).toEqual([100, 200, 400])
    expect(notes[0]).toEqual({ attempt: 1, tries: 5, waitMs: 100, why: 'HTTP 503' })
  })

  it('caps each wait', async () => {
    const f = fakeClock()
    await retry(policy(f.clock, { maxDelayMs: 250 }), flaky(4).attempt, transient)
    expect(f.waits).toEqual([100, 200, 250, 250])
  })

  it('shortens each wait by up to the jitter fraction, at random', async () => {
    const f = fakeClock([0.5, 0, 0.999])
    await retry(policy(f.clock, { jitter: 0.5 }), flaky(3).attempt, transient)
    expect(f.waits).toEqual([75, 200, 200])
  })

  it('gives up after its tries and returns the last transient result', async () => {
    const f = fakeClock()
    const a = flaky(99)
    expect(await retry(policy(f.clock, { tries: 3 }), a.attempt, transient)).toEqual({
      result: 'down',
      attempts: 3,
    })
    expect(a.calls()).toBe(3)
    expect(f.waits).toEqual([100, 200])
  })

  it('starts no wait that would end past the deadline', async () => {
    const f = fakeClock()
    const a = flaky(99)
    const slow = async () => {
      f.advance(1000)
      return a.attempt()
    }
    const r = await retry(policy(f.clock, { deadlineMs: 2500 }), slow, transient)
    // Tries end at 1000, 2100 and 3300 ms; a third wait (400 ms) would end at 3700, past 2500.
    expect(r.attempts).toBe(3)
    expect(f.waits).toEqual([100, 200])
  })

  it('never retries a result the caller calls final, nor a thrown error', async () => {
    const f = fakeClock()
    let calls = 0
    const permanent = async () => {
      calls++
      return 'HTTP 404'
    }
    expect(await retry(policy(f.clock), permanent, () => null)).toEqual({ result: 'HTTP 404', attempts: 1 })
    const throws = async () => {
      calls++
      throw new Error('Unable to download x: HTTP 404')
    }
    await expect(retry(policy(f.clock), throws, () => 'never asked')).rejects.toThrow(/HTTP 404/)
    expect(calls).toBe(2)
    expect(f.waits).toEqual([])
  })
})
