import { describe, expect, it } from 'vitest'
import { shadowEntry } from '../../../src/facts/accounts.js'
import { group, membership, password, user } from '../../../src/steps/index.js'
import { converge, expectContract, journaled, makeHarness, undoAll } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'

const SECRET = 'correct-horse-battery-staple'

describe('group', () => {
  it.each([
    { system: false, gid: 1000 },
    { system: true, gid: 997 },
  ])('creates a group (system=$system) and deletes it on rollback', async ({ system, gid }) => {
    const { sys, h } = await expectContract(
      () => FakeSystem.debian13(),
      () => [group({ name: 'developers', system })],
    )
    expect(journaled(h)).toEqual(['USER_CREATE group developers -> delete-group'])
    await converge(sys, [group({ name: 'developers', system })])
    expect(sys.accounts.group('developers')?.gid).toBe(gid)
  })

  it('leaves an existing group alone', async () => {
    const h = await converge(FakeSystem.debian13(), [group({ name: 'sudo' })])
    expect(h.changes).toEqual([])
  })
})

describe('user', () => {
  const dev = { name: 'dev', fullName: 'Dev Eloper', shell: '/bin/bash', groups: ['sudo', 'audio'] }

  it('creates the user with home and own group, then one membership per group', async () => {
    const { sys, h } = await expectContract(
      () => FakeSystem.debian13(),
      () => user(dev),
    )
    expect(journaled(h)).toEqual([
      'USER_CREATE dev -> delete-user',
      'USER_MODIFY dev +sudo -> remove-from-group',
      'USER_MODIFY dev +audio -> remove-from-group',
    ])
    expect(h.changes[0]?.undo).toEqual({ kind: 'delete-user', username: 'dev', removeHome: true })
    await converge(sys, user(dev))
    expect(sys.accounts.user('dev')).toMatchObject({
      gecos: 'Dev Eloper',
      shell: '/bin/bash',
      home: '/home/dev',
    })
    expect(sys.accounts.groupsOf('dev')).toEqual(['dev', 'sudo', 'audio'])
    expect(await sys.stat('/home/dev/.bashrc')).toMatchObject({ uid: 1000 })
  })

  it('uses stable ids derived from the name', () => {
    expect(user(dev).map((s) => s.id)).toEqual(['user.dev', 'user.dev.member.sudo', 'user.dev.member.audio'])
  })

  it('adjusts shell and full name of an existing user, never deleting it', async () => {
    const existing = async () => {
      const sys = FakeSystem.debian13()
      await sys.exec([
        'useradd',
        '--create-home',
        '--shell',
        '/bin/sh',
        '--user-group',
        '--comment',
        'Old',
        'dev',
      ])
      return sys
    }
    const { h } = await expectContract(existing, () => user({ ...dev, groups: [] }))
    expect(h.changes.map((c) => c.undo)).toEqual([
      {
        kind: 'argv',
        argv: ['usermod', '--shell', '/bin/sh', '--comment', 'Old', '--', 'dev'],
        allowFailure: true,
      },
    ])
  })

  it('keeps the full name of an existing user when none is configured', async () => {
    const sys = FakeSystem.debian13()
    await sys.exec([
      'useradd',
      '--create-home',
      '--shell',
      '/bin/bash',
      '--user-group',
      '--comment',
      'Kept',
      'dev',
    ])
    const h = await converge(sys, user({ ...dev, fullName: null, groups: [] }))
    expect(h.changes).toEqual([])
  })
})

describe('membership', () => {
  it('adds a user to a group and removes only that membership on rollback', async () => {
    const fresh = async () => {
      const sys = FakeSystem.debian13()
      await sys.exec(['useradd', '--create-home', '--user-group', '--groups', 'audio', 'dev'])
      return sys
    }
    const { h } = await expectContract(fresh, () => [membership('dev', 'video')])
    expect(h.changes[0]?.undo).toEqual({ kind: 'remove-from-group', username: 'dev', group: 'video' })
  })

  it('reports a missing group in check', async () => {
    expect(await membership('dev', 'nope').check(FakeSystem.debian13())).toMatchObject({
      done: false,
      why: 'group nope does not exist',
    })
  })
})

describe('password', () => {
  const steps = (expire: boolean) => [
    ...user({ name: 'dev', fullName: null, shell: '/bin/bash', groups: [] }),
    password({ user: 'dev', password: () => SECRET, expire }),
  ]

  it.each([false, true])(
    'sets a password once (expire=%s), via stdin, registered as a secret first',
    async (expire) => {
      const { sys, h } = await expectContract(
        () => FakeSystem.debian13(),
        () => steps(expire),
      )
      expect(journaled(h)).toEqual([
        'USER_CREATE dev -> delete-user',
        `USER_MODIFY password of dev${expire ? ' (expired)' : ''} -> argv`,
      ])
      expect(h.changes[1]?.undo).toEqual({
        kind: 'argv',
        argv: ['usermod', '--lock', '--', 'dev'],
        allowFailure: true,
      })
      expect(h.secrets).toEqual([SECRET])
      expect(JSON.stringify(h.changes)).not.toContain(SECRET)
      expect(JSON.stringify(sys.execLog)).not.toContain(SECRET)
      await converge(sys, steps(expire))
      const sh = await shadowEntry(sys, 'dev')
      expect(sh?.hash).toMatch(/^\$y\$/)
      expect(sh?.lastChange === '0').toBe(expire)
    },
  )

  it('never replaces a usable password, and never asks for a new one', async () => {
    const sys = FakeSystem.debian13()
    await converge(sys, steps(false))
    let asked = 0
    const h = await converge(sys, [
      password({
        user: 'dev',
        password: () => {
          asked++
          return 'other'
        },
        expire: false,
      }),
    ])
    expect([h.changes.length, asked]).toEqual([0, 0])
  })

  it('locks the password of a user that existed before, on rollback', async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['useradd', '--create-home', '--user-group', 'dev'])
    const h = await converge(sys, [password({ user: 'dev', password: () => SECRET, expire: false })])
    await undoAll(sys, h)
    expect((await shadowEntry(sys, 'dev'))?.hash).toMatch(/^!\$y\$/)
  })

  it('rejects a password chpasswd cannot take, before journaling anything', async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['useradd', '--user-group', 'dev'])
    const h = makeHarness(sys)
    await expect(
      converge(sys, [password({ user: 'dev', password: () => 'a:b', expire: false })], h),
    ).rejects.toThrow(/without ':' or newline/)
    expect([h.changes, h.secrets]).toEqual([[], []])
  })

  it('never shows the hash in observed state', async () => {
    const sys = FakeSystem.debian13()
    await converge(sys, steps(false))
    expect((await password({ user: 'dev', password: () => '', expire: false }).check(sys)).observed).toBe(
      'dev password=set',
    )
  })
})
