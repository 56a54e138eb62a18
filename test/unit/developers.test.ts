// Issue 22 item 2 on the fake Debian 13: several developers from `users:`, each with their own
// account, password file, sudo (or not), configured keys and desktop session; a longer list later
// journals only the newcomer's changes; rollback returns the machine to where it started.
import { readFileSync, rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { developers } from '../../src/config/developers.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { groupEntry, passwdEntry, shadowEntry } from '../../src/facts/accounts.js'
import { engine } from '../helpers/engine.js'
import { fakeCrypt } from '../support/fake/users.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobKeyBobKeyBobKeyBobKeyBobKeyBobKeyBobK bob@laptop'
const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

const TEAM = [
  { name: 'alice', fullName: 'Alice A' },
  { name: 'bob', sudo: false, sshKeys: [KEY] },
]

describe('users: several developers', () => {
  it('reads username as shorthand for a one-developer list, and refuses a username that contradicts users', () => {
    expect(developers(ConfigSchema.parse({ username: 'carol' })).map((d) => [d.name, d.sudo])).toEqual([
      ['carol', true],
    ])
    const team = ConfigSchema.parse({ users: TEAM })
    expect(team.username).toBe('alice')
    expect(developers(team).map((d) => [d.name, d.sudo])).toEqual([
      ['alice', true],
      ['bob', false],
    ])
    expect(ConfigSchema.safeParse({ username: 'alice', users: TEAM }).success).toBe(true)
    const clash = ConfigSchema.safeParse({ username: 'carol', users: TEAM })
    expect(clash.error?.issues[0]?.message).toMatch(/username \(carol\) and users \(first: alice\)/)
    expect(ConfigSchema.safeParse({ users: [{ name: 'alice' }, { name: 'alice' }] }).success).toBe(false)
    expect(ConfigSchema.safeParse({ users: [{ name: 'root' }] }).success).toBe(false)
    expect(ConfigSchema.safeParse({ users: [{ name: 'bob', sshKeys: ['not a key'] }] }).success).toBe(false)
  })

  it('creates each developer, re-runs with 0 actions, adds a third with only its changes, and rolls back', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const world = workstationWorld(sys)
    roots.push(world.root)
    const first = await engine.run(world.deps, workstationConfig({ users: TEAM }), { force: false })
    expect(first.exitCode, first.lines.join('\n')).toBe(0)

    for (const name of ['alice', 'bob']) expect(await passwdEntry(sys, name), name).toBeTruthy()
    expect((await groupEntry(sys, 'sudo'))?.members).toContain('alice')
    expect((await groupEntry(sys, 'sudo'))?.members).not.toContain('bob')
    expect((await groupEntry(sys, 'devusers'))?.members).toEqual(expect.arrayContaining(['alice', 'bob']))
    expect(sys.readText('/etc/sudoers.d/vps-provision-alice')).toBeTruthy()
    expect(sys.readText('/etc/sudoers.d/vps-provision-bob')).toBeNull()
    // The primary's password file keeps its name; the others get their own, root's only.
    expect(sys.readText('/root/vps-provision-credentials')).toMatch(/^username=alice$/m)
    expect(sys.readText('/root/vps-provision-credentials-bob')).toMatch(/^username=bob$/m)
    expect((await sys.stat('/root/vps-provision-credentials-bob'))?.mode).toBe(0o600)
    expect(sys.readText('/home/bob/.ssh/authorized_keys')).toContain(KEY)
    expect(sys.readText('/home/bob/.xsession')).toBeTruthy()
    expect(sys.readText('/home/bob/.bashrc')).toMatch(/vps-provision/)
    expect(first.lines.join('\n')).toMatch(/Also: +bob: password in \/root\/vps-provision-credentials-bob/)

    const again = await engine.run(world.deps, workstationConfig({ users: TEAM }), { force: false })
    expect(again.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)

    const longer = [...TEAM, { name: 'carol' }]
    const third = await engine.run(world.deps, workstationConfig({ users: longer }), { force: false })
    expect(third.exitCode, third.lines.join('\n')).toBe(0)
    const targets = world.events.flatMap((e) =>
      e.type === 'action' && e.status === 'done' && 'target' in e ? [String(e.target)] : [],
    )
    expect(await passwdEntry(sys, 'carol')).toBeTruthy()
    const thirdRun = targets.slice(targets.length - third.phases.reduce((n, p) => n + p.actions, 0))
    expect(thirdRun.length).toBeGreaterThan(3)
    expect(thirdRun.filter((t) => /alice|bob/.test(t))).toEqual([])

    for (const s of [third, first]) {
      const back = await engine.rollback(world.deps, { session: s.sessionId, to: null, force: true })
      expect(back.exitCode, back.lines.join('\n')).toBe(0)
    }
    expect(sys.snapshot()).toEqual(initial)
  })

  it('user remove undoes what runs made for one developer only; the rest still rolls back to the start', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const world = workstationWorld(sys)
    roots.push(world.root)
    const first = await engine.run(world.deps, workstationConfig({ users: TEAM }), { force: false })
    expect(first.exitCode, first.lines.join('\n')).toBe(0)

    await expect(
      engine.removeUser(world.deps, { name: 'carol', keepHome: false, force: false }),
    ).rejects.toThrow(/no run of vps-provision made anything for carol/)
    const removed = await engine.removeUser(world.deps, { name: 'bob', keepHome: false, force: false })
    expect(removed.exitCode, removed.lines.join('\n')).toBe(0)
    expect(removed.lines.join('\n')).toMatch(/Removed bob\./)
    expect(await passwdEntry(sys, 'bob')).toBeNull()
    expect(await sys.stat('/home/bob')).toBeNull()
    expect(await sys.stat('/root/vps-provision-credentials-bob')).toBeNull()
    expect((await groupEntry(sys, 'devusers'))?.members).toEqual(['alice'])
    expect(await passwdEntry(sys, 'alice')).toBeTruthy()
    expect(sys.readText('/home/alice/.bashrc')).toMatch(/vps-provision/)

    // A second removal finds nothing left; the run without bob changes nothing for alice.
    const again = await engine.removeUser(world.deps, { name: 'bob', keepHome: false, force: false })
    expect(again.lines.join('\n')).toMatch(/already removed/)
    const rerun = await engine.run(world.deps, workstationConfig({ users: TEAM.slice(0, 1) }), {
      force: false,
    })
    expect(rerun.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)

    const back = await engine.rollback(world.deps, { session: first.sessionId, to: null, force: true })
    expect(back.exitCode, back.lines.join('\n')).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('sets a configured password (passwordHash, passwordFile) on every run, never in the journal or the plan', async () => {
    const sys = workstationMachine()
    const world = workstationWorld(sys)
    roots.push(world.root)
    const plain = 'correct-horse-battery-staple'
    sys.writeText('/root/bob.password', `${plain}\n`, { mode: 0o600, uid: 0, gid: 0 })
    const hash = `$6$saltsalt$${'a'.repeat(86)}`
    const users = [
      { name: 'alice', passwordHash: hash },
      { name: 'bob', passwordFile: '/root/bob.password' },
    ]
    const cfg = workstationConfig({ users, only: ['preflight', 'system-prep', 'user-creation'] })
    const first = await engine.run(world.deps, cfg, { force: false })
    const failed = world.events.filter(
      (e) => e.type === 'phase-end' || (e.type === 'message' && e.level !== 'info'),
    )
    expect(first.exitCode, JSON.stringify(failed)).toBe(0)
    expect((await shadowEntry(sys, 'alice'))?.hash).toBe(hash)
    expect((await shadowEntry(sys, 'bob'))?.hash).toBe(fakeCrypt(plain))
    expect(await sys.stat('/root/vps-provision-credentials')).toBeNull()
    expect(first.lines.join('\n')).toMatch(/Password: the one of passwordHash/)
    const journal = readFileSync(world.deps.paths.transactionLog(first.sessionId), 'utf8')
    expect(journal).not.toContain(plain)
    expect(journal).not.toContain(hash)

    expect(
      (await engine.run(world.deps, cfg, { force: true })).phases.reduce((n, p) => n + p.actions, 0),
    ).toBe(0)
    // Changed by hand: the next run puts the configured one back.
    await sys.exec(['chpasswd'], { stdin: 'bob:something-else\n' })
    const plan = await engine.plan(world.deps, cfg)
    expect(JSON.stringify(plan)).not.toContain(plain)
    const again = await engine.run(world.deps, cfg, { force: true })
    expect(again.phases.reduce((n, p) => n + p.actions, 0)).toBe(1)
    expect((await shadowEntry(sys, 'bob'))?.hash).toBe(fakeCrypt(plain))

    expect(ConfigSchema.safeParse({ passwordHash: '$1$md5$nope' }).success).toBe(false)
    expect(
      ConfigSchema.safeParse({ users: [{ name: 'a', passwordHash: hash }], passwordFile: '/x' }).success,
    ).toBe(false)
    // A file others can read is refused in preflight, before any change.
    sys.writeText('/root/bob.password', `${plain}\n`, { mode: 0o644, uid: 0, gid: 0 })
    const refused = await engine.run(world.deps, cfg, { force: true })
    expect(refused.exitCode).toBe(1)
    expect(refused.lines.join('\n')).toMatch(
      /bob.password \(password of bob\) is readable or writable by others/,
    )
  })
})
