// The developer's authorized_keys belongs to the developer: root's keys go in our marked block, and
// neither a re-run nor a rollback touches a key the user added themselves.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_PHASES } from '../../phases/index.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { statePaths } from '../../src/engine/paths.js'
import { engine } from '../helpers/engine.js'
import { ROOT_KEY } from '../support/fake/debian13.js'
import { FakeSystem } from '../support/fake/index.js'

const THEIRS = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAliceOwnKeyFromHerLaptop000000000000000 alice@home'
const LATER = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQAliceAddedThisAfterTheRun alice@work'
const KEYS = '/home/alice/.ssh/authorized_keys'
const BLOCK = `# >>> vps-provision:root-keys >>>\n${ROOT_KEY}\n# <<< vps-provision:root-keys <<<\n`

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function deps(sys: FakeSystem) {
  const root = mkdtempSync(join(tmpdir(), 'vps-user-keys-'))
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

const userCreationOnly = (over: object = {}) => ConfigSchema.parse({ only: ['user-creation'], ...over })

describe("root's keys in the developer's authorized_keys", () => {
  it('a re-run keeps the keys the user added; rollback takes out only our block', async () => {
    const sys = FakeSystem.debian13()
    expect((await sys.exec(['useradd', '--create-home', '--shell', '/bin/bash', 'alice'])).exitCode).toBe(0)
    const st = await sys.stat('/home/alice')
    const owner = { uid: st?.uid ?? 1000, gid: st?.gid ?? 1000 }
    await sys.mkdir('/home/alice/.ssh', { mode: 0o700, ...owner })
    sys.writeText(KEYS, `${THEIRS}\n`, { mode: 0o600, ...owner })
    const d = deps(sys)
    const cfg = userCreationOnly({ username: 'alice', reuseUser: true })

    const first = await engine.run(d, cfg, { force: false })
    expect(first.exitCode, first.lines.join('\n')).toBe(0)
    expect(sys.readText(KEYS)).toBe(`${THEIRS}\n${BLOCK}`)

    // The user adds a key of their own, the way people do: appended at the end.
    sys.writeText(KEYS, `${sys.readText(KEYS)}${LATER}\n`, { mode: 0o600, ...owner })
    const again = await engine.run(d, cfg, { force: true })
    expect(again.exitCode, again.lines.join('\n')).toBe(0)
    expect(sys.readText(KEYS)).toBe(`${THEIRS}\n${BLOCK}${LATER}\n`)

    const back = await engine.rollback(d, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode, back.lines.join('\n')).toBe(0)
    expect(sys.readText(KEYS)).toBe(`${THEIRS}\n${LATER}\n`)
    expect((await sys.stat(KEYS))?.mode).toBe(0o600)
  })

  it('a file an earlier version wrote (root keys, no markers) is left as it is', async () => {
    const sys = FakeSystem.debian13()
    const d = deps(sys)
    const cfg = userCreationOnly()
    expect((await engine.run(d, cfg, { force: false })).exitCode).toBe(0)
    const path = '/home/devuser/.ssh/authorized_keys'
    const st = await sys.stat(path)
    sys.writeText(path, `${ROOT_KEY}\n${THEIRS}\n`, { mode: 0o600, uid: st?.uid ?? 0, gid: st?.gid ?? 0 })
    const again = await engine.run(d, cfg, { force: true })
    expect(again.exitCode).toBe(0)
    expect(sys.readText(path)).toBe(`${ROOT_KEY}\n${THEIRS}\n`)
  })

  it('a new user gets a file holding only our block, and rollback removes it with the user', async () => {
    const sys = FakeSystem.debian13()
    const initial = sys.snapshot()
    const d = deps(sys)
    const first = await engine.run(d, userCreationOnly(), { force: false })
    expect(first.exitCode).toBe(0)
    expect(sys.readText('/home/devuser/.ssh/authorized_keys')).toBe(BLOCK)
    expect((await engine.rollback(d, { session: first.sessionId, to: null, force: false })).exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
  })
})
