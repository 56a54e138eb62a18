// settleAll(): how the runner overlaps background steps with the steps before them. Both lanes run
// at once, and a failure is raised only once every lane has settled, so nothing is left running
// when the runner records it.
import { describe, expect, it } from 'vitest'
import { settleAll } from '../../src/steps/lazy.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function timed(name: string, ms: number, log: string[], fail = false): () => Promise<string> {
  return async () => {
    log.push(`${name} start`)
    await sleep(ms)
    log.push(`${name} end`)
    if (fail) throw new Error(`${name} failed`)
    return name
  }
}

describe('settleAll', () => {
  it('runs the tasks at the same time and returns every result in order', async () => {
    const log: string[] = []
    expect(await settleAll([timed('apt', 40, log), timed('download', 10, log)])).toEqual(['apt', 'download'])
    expect(log).toEqual(['apt start', 'download start', 'download end', 'apt end'])
  })

  it('waits for every task to settle before it raises the first failure', async () => {
    const log: string[] = []
    await expect(settleAll([timed('download', 5, log, true), timed('apt', 30, log)])).rejects.toThrow(
      'download failed',
    )
    expect(log.at(-1)).toBe('apt end')
  })
})
