// Rollback purges every package the session installed in ONE apt-get purge, at the place of the
// oldest package action, and still ends on the machine the run started from.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { engine } from '../helpers/engine.js'
import { workstationConfig, workstationWorld } from '../support/workstation-run.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

describe('rollback of a session with several package transactions', () => {
  it('runs one apt-get purge for all of them and reaches the starting machine', async () => {
    const { sys, deps, events, root } = workstationWorld()
    roots.push(root)
    const before = sys.snapshot()
    const run = await engine.run(deps, workstationConfig(), { force: false })
    expect(run.exitCode).toBe(0)
    const installs = sys.execLog.filter(
      (e) =>
        e.argv[0] === 'apt-get' &&
        e.argv.includes('install') &&
        !e.argv.includes('-s') &&
        !e.argv.includes('--print-uris'),
    )
    expect(installs.length).toBeGreaterThan(2)
    const logged = sys.execLog.length

    const sessionId = events.find((e) => e.type === 'session-start')?.sessionId as string
    const back = await engine.rollback(deps, { session: sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    const purges = sys.execLog
      .slice(logged)
      .filter((e) => e.argv[0] === 'apt-get' && e.argv.includes('purge') && !e.argv.includes('-s'))
    expect(purges).toHaveLength(1)
    // Every package action was journaled as undone, each with the one purge's outcome.
    const packageActions = (status: string) =>
      events.filter((e) => e.type === 'action' && e.status === status && e.actionType === 'PACKAGE_INSTALL')
    expect(packageActions('undone').length).toBe(packageActions('begin').length)
    expect(sys.snapshot()).toEqual(before)
  })
})
