// Rollback purges every package the session installed in ONE apt-get purge, at the place of the
// oldest package action, and still ends on the machine the run started from.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { engine } from '../helpers/engine.js'
import { AVAILABLE } from '../support/fake/universe.js'
import { CURSOR_DEB, workstationConfig, workstationWorld } from '../support/workstation-run.js'

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

  it('removes what the maintainer scripts wrote before the one purge, and leaves nothing of it', async () => {
    const { sys, deps, events, root } = workstationWorld()
    roots.push(root)
    // Like the real packages: xrdp's postinst enables its unit, Cursor's adds its apt source and key.
    const wants = '/etc/systemd/system/multi-user.target.wants/xrdp.service'
    sys.addPackage('xrdp', {
      ...(AVAILABLE.xrdp as object),
      version: '0.10.1-3',
      postinst: { links: { [wants]: '/usr/lib/systemd/system/xrdp.service' } },
    })
    const cursor = JSON.parse((sys.web.get(CURSOR_DEB) as Buffer).toString('utf8'))
    const list = '/etc/apt/sources.list.d/cursor.list'
    cursor.postinst = {
      writes: {
        [list]:
          'deb [signed-by=/etc/apt/keyrings/cursor.gpg] https://downloads.cursor.com/aptrepo stable main\n',
        '/etc/apt/keyrings/cursor.gpg': '\u0099cursor key\n',
      },
    }
    sys.web.set(CURSOR_DEB, Buffer.from(JSON.stringify(cursor)))
    const before = sys.snapshot()
    const run = await engine.run(deps, workstationConfig(), { force: false })
    expect(run.exitCode).toBe(0)
    expect(sys.fs.lget(wants)?.kind).toBe('symlink')
    expect(sys.readText(list)).toContain('cursor')

    const back = await engine.rollback(deps, { session: run.sessionId, to: null, force: false })
    expect(back.exitCode, back.lines.join('\n')).toBe(0)
    const undone = events.filter(
      (e) => e.type === 'action' && (e.status === 'undone' || e.status === 'undo-skipped'),
    )
    const isScripts = undone.map((e) => e.type === 'action' && e.target.startsWith('maintainer scripts of'))
    const lastScripts = isScripts.lastIndexOf(true)
    const firstPurge = undone.findIndex((e) => e.type === 'action' && e.actionType === 'PACKAGE_INSTALL')
    expect(lastScripts).toBeGreaterThanOrEqual(0)
    expect(lastScripts).toBeLessThan(firstPurge)
    expect(sys.snapshot()).toEqual(before)
  })
})
