// The run's Debian packages in one dpkg pass: the first package step installs what the later steps
// that allow it want, each later step's part journaled as its own change, so that rolling back
// down to a phase undoes exactly the later phases' packages.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { deriveActions, readJournal } from '../../src/engine/journal.js'
import { engine } from '../helpers/engine.js'
import { workstationConfig, workstationWorld } from '../support/workstation-run.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

async function provisioned() {
  const { sys, deps, events, root } = workstationWorld()
  roots.push(root)
  const paths = deps.paths
  const run = await engine.run(deps, workstationConfig(), { force: false })
  expect(run.exitCode).toBe(0)
  const id = events.find((e) => e.type === 'session-start')?.sessionId as string
  const actions = deriveActions(readJournal(paths.transactionLog(id)).records)
  return { sys, deps, id, actions }
}

const installs = (argv: readonly string[]) =>
  argv[0] === 'apt-get' && argv.includes('install') && !argv.includes('-s') && !argv.includes('--print-uris')

describe('one dpkg pass for the Debian packages of every phase', () => {
  it('installs system-prep, desktop, xrdp packages in one apt-get install, journaled per phase', async () => {
    const { sys, actions } = await provisioned()
    const runs = sys.execLog.filter((e) => installs(e.argv))
    // The base transaction (with the desktop's and xrdp's parts), the IDEs' apt packages, Cursor's .deb.
    expect(runs).toHaveLength(3)
    expect(runs[0]?.argv).toEqual(expect.arrayContaining(['sudo', 'xfce4', 'xrdp']))
    const packageActions = actions.filter((a) => a.action_type === 'PACKAGE_INSTALL')
    const byPhase = (phase: string) => packageActions.find((a) => a.phase === phase)
    for (const phase of ['system-prep', 'desktop-install', 'rdp-config']) expect(byPhase(phase)).toBeDefined()
    const purged = (phase: string) => {
      const undo = byPhase(phase)?.undo
      return undo?.kind === 'purge-packages' ? undo.packages : []
    }
    expect(purged('desktop-install')).toContain('xfce4')
    expect(purged('rdp-config')).toContain('xrdp')
    // Each package is one part's only: no two undos purge the same package.
    const all = ['system-prep', 'desktop-install', 'rdp-config'].flatMap(purged)
    expect(new Set(all).size).toBe(all.length)
    // The desktop's part is journaled before dpkg starts, in the desktop's own step.
    expect(byPhase('desktop-install')?.step).toBe('desktop-install.packages')
  })

  it('rollback down to rdp-config takes xrdp away and keeps the desktop', async () => {
    const { sys, deps, id } = await provisioned()
    const back = await engine.rollback(deps, { session: id, to: 'rdp-config', force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.packageVersion('xrdp')).toBeNull()
    expect(sys.packageVersion('xfce4')).not.toBeNull()
    expect(sys.packageVersion('sudo')).not.toBeNull()
  })
})
