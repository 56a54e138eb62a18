// A rollback's summary is about the rollback: its own duration and what it undid per phase, not the
// run's duration, phase times or resume advice.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_PHASES } from '../../phases/index.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { statePaths } from '../../src/engine/paths.js'
import { engine } from '../helpers/engine.js'
import { FakeSystem } from '../support/fake/index.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function deps(sys: FakeSystem) {
  const root = mkdtempSync(join(tmpdir(), 'vps-rollback-summary-'))
  roots.push(root)
  return {
    sys,
    paths: statePaths(root),
    emit: () => {},
    signal: new AbortController().signal,
    phases: ALL_PHASES,
    interactive: false,
  }
}

/** Makes the stored run look as if it had taken an hour and a half, with a failure. */
function ageSession(file: string) {
  const s = JSON.parse(readFileSync(file, 'utf8'))
  s.duration_seconds = 5400
  s.status = 'FAILED'
  s.error_details = 'user-creation: something broke'
  for (const p of s.phases) p.duration_seconds = 1800
  writeFileSync(file, JSON.stringify(s))
}

describe('rollback summary', () => {
  it("shows the rollback's own duration and what it undid, not the run's", async () => {
    const sys = FakeSystem.debian13()
    const d = deps(sys)
    const run = await engine.run(d, ConfigSchema.parse({ only: ['user-creation'] }), { force: false })
    expect(run.exitCode).toBe(0)
    const actions = run.phases.find((p) => p.name === 'user-creation')?.actions ?? 0
    expect(actions).toBeGreaterThan(0)
    ageSession(d.paths.sessionFile(run.sessionId))

    const back = await engine.rollback(d, { session: run.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(back.durationSeconds).toBeLessThan(60)
    expect(back.phases).toHaveLength(1)
    expect(back.phases[0]).toMatchObject({ name: 'user-creation', status: 'UNDONE', actions })
    expect(back.phases[0]?.durationSeconds).toBeLessThan(60)
    expect(back.lines.join('\n')).not.toMatch(/Failed:|Resume:/)
    expect(back.lines).toContain(`Rolled back ${actions} action(s) of session ${run.sessionId}.`)

    const again = await engine.rollback(d, { session: run.sessionId, to: null, force: false })
    expect(again.durationSeconds).toBeLessThan(60)
    expect(again.phases).toEqual([])
  })
})
