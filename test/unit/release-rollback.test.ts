// A session journaled by an earlier release (test/fixtures/release-session) still rolls back to the
// machine it started from: step ids changed since, the journal's records did not.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_PHASES } from '../../phases/index.js'
import { statePaths } from '../../src/engine/paths.js'
import { engine } from '../helpers/engine.js'
import { type FakeJSON, FakeSystem } from '../support/fake/index.js'

const FIXTURE = join(import.meta.dirname, '../fixtures/release-session')
const SESSION = '20261206-022953-kpr8y9'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

const machine = (file: string) =>
  FakeSystem.fromJSON(JSON.parse(readFileSync(join(FIXTURE, file), 'utf8')) as FakeJSON)

function install(into: string, dir: string, files: readonly string[]) {
  mkdirSync(into, { recursive: true, mode: 0o700 })
  for (const f of files) {
    cpSync(join(dir, f), join(into, f))
    chmodSync(join(into, f), 0o600)
  }
}

describe('a session journaled by the release before issue 18', () => {
  it('rolls back to the machine it started from', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vps-release-'))
    roots.push(root)
    const paths = statePaths(root)
    install(paths.logDir, FIXTURE, [`transaction-${SESSION}.log`])
    install(paths.sessionsDir, FIXTURE, [`session-${SESSION}.json`])
    const backups = join(FIXTURE, 'backups', SESSION)
    install(paths.backupDir(SESSION), backups, readdirSync(backups))
    expect(readFileSync(paths.transactionLog(SESSION), 'utf8')).toContain('"ide-installations.fetch"')

    const sys = machine('machine-after.json')
    const deps = {
      sys,
      paths,
      emit: () => {},
      signal: new AbortController().signal,
      phases: ALL_PHASES,
      interactive: false,
    }
    const back = await engine.rollback(deps, { session: SESSION, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(machine('machine-before.json').snapshot())
  })
})
