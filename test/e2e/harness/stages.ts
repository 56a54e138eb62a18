// A scenario is a chain of stages on one machine: each is its own vitest test (so the report shows
// which one broke), they run in order, and once one fails the rest are skipped with a loud reason
// instead of failing for a cause that is not theirs. Each stage's duration goes into timings.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { it } from 'vitest'

export interface Stages {
  stage(name: string, fn: () => Promise<void>, timeoutMs?: number): void
  timings: Record<string, number>
  /** The first stage that failed, or null. */
  broken(): string | null
  writeTimings(dir: string, extra?: Record<string, unknown>): Promise<void>
}

export function stages(): Stages {
  const timings: Record<string, number> = {}
  let broken: string | null = null
  return {
    timings,
    broken: () => broken,
    stage(name, fn, timeoutMs = 30 * 60_000) {
      it(
        name,
        async (ctx) => {
          if (broken) {
            console.warn(`SKIPPED "${name}": the earlier stage "${broken}" failed`)
            ctx.skip()
            return
          }
          const started = Date.now()
          try {
            await fn()
          } catch (e) {
            broken = name
            throw e
          } finally {
            timings[name] = Date.now() - started
          }
        },
        timeoutMs,
      )
    },
    async writeTimings(dir, extra = {}) {
      const text = JSON.stringify({ stagesMs: timings, ...extra }, null, 2)
      await writeFile(path.join(dir, 'timings.json'), `${text}\n`)
    },
  }
}
