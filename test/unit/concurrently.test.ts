// concurrently(): independent steps overlap, and a failure is raised only once all have settled.
import { describe, expect, it } from 'vitest'
import { concurrently } from '../../src/steps/lazy.js'
import type { Step } from '../../src/steps/types.js'
import { makeHarness } from '../helpers/step-harness.js'
import { FakeSystem } from '../support/fake/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function timed(name: string, ms: number, log: string[], fail = false): Step {
  let done = false
  return {
    id: name,
    title: name,
    check: async () => ({ done, observed: `${name}=${done}` }),
    async apply() {
      log.push(`${name} start`)
      await sleep(ms)
      log.push(`${name} end`)
      if (fail) throw new Error(`${name} failed`)
      done = true
    },
  }
}

describe('concurrently', () => {
  it('runs the steps at the same time and converges', async () => {
    const log: string[] = []
    const step = concurrently('both', 'both', [timed('apt', 40, log), timed('download', 10, log)])
    const { ctx } = makeHarness(FakeSystem.debian13())
    await step.apply(ctx)
    expect(log).toEqual(['apt start', 'download start', 'download end', 'apt end'])
    expect((await step.check(ctx.sys)).done).toBe(true)
  })

  it('waits for every step to settle before it raises the first failure', async () => {
    const log: string[] = []
    const step = concurrently('both', 'both', [timed('download', 5, log, true), timed('apt', 30, log)])
    const { ctx } = makeHarness(FakeSystem.debian13())
    await expect(step.apply(ctx)).rejects.toThrow('download failed')
    expect(log.at(-1)).toBe('apt end')
  })
})
