import { describe, expect, it } from 'vitest'
import { EXIT } from '../../../src/model/errors.js'
import { assert, command, debconf, packages, VerificationFailed } from '../../../src/steps/index.js'
import { converge, expectContract, journaled, makeHarness, undoAll } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'

describe('command', () => {
  const step = () =>
    command({
      id: 'builders',
      title: 'Group builders',
      argv: ['groupadd', 'builders'],
      undo: ['groupdel', 'builders'],
      undoAllowFailure: true,
      check: async (sys) => {
        const has = (await sys.readFile('/etc/group'))?.toString().includes('\nbuilders:') ?? false
        return { done: has, observed: `builders ${has}` }
      },
    })

  it('runs the argv with its declared undo', async () => {
    const { h } = await expectContract(
      () => FakeSystem.debian13(),
      () => [step()],
    )
    expect(h.changes).toMatchObject([
      {
        actionType: 'COMMAND_EXEC',
        target: 'groupadd builders',
        undo: { kind: 'argv', argv: ['groupdel', 'builders'], allowFailure: true },
      },
    ])
  })

  it("journals 'irreversible' with the reason given", async () => {
    const sys = FakeSystem.debian13()
    const h = makeHarness(sys)
    await command({
      id: 'upgrade',
      title: 'Upgrade packages',
      argv: ['apt-get', '-y', 'upgrade'],
      undo: 'irreversible',
      reason: 'package upgrades cannot be rolled back',
      actionType: 'PACKAGE_INSTALL',
      check: async () => ({ done: false, observed: '' }),
    }).apply(h.ctx)
    expect(h.changes).toMatchObject([
      {
        actionType: 'PACKAGE_INSTALL',
        target: 'apt-get -y upgrade',
        undo: { kind: 'irreversible', reason: 'package upgrades cannot be rolled back' },
        status: 'done',
      },
    ])
  })

  it('refuses an empty undo argv', () => {
    expect(() =>
      command({
        id: 'x',
        title: 'x',
        argv: ['true'],
        undo: [],
        check: async () => ({ done: true, observed: '' }),
      }),
    ).toThrow(/empty undo argv/)
  })
})

describe('assert', () => {
  it('is done when the check holds and never journals', async () => {
    const sys = FakeSystem.debian13()
    const ok = assert({ id: 'ok', title: 'bash', check: async () => ({ ok: true, detail: 'bash 5.2' }) })
    expect(await ok.check(sys)).toEqual({ done: true, observed: 'bash 5.2' })
    expect((await converge(sys, [ok])).changes).toEqual([])
  })

  it('fails with exit code 4, the detail and the hint', async () => {
    const sys = FakeSystem.debian13()
    const h = makeHarness(sys)
    const bad = assert({
      id: 'xrdp-listens',
      title: 'xrdp listens on 3389',
      check: async () => ({ ok: false, detail: 'nothing listens on 3389', hint: 'systemctl status xrdp' }),
    })
    const err = await bad.apply(h.ctx).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VerificationFailed)
    expect(err).toMatchObject({
      message: 'Unable to verify xrdp listens on 3389: nothing listens on 3389',
      exitCode: EXIT.verification,
      hint: 'systemctl status xrdp',
    })
    expect(h.changes).toEqual([])
  })
})

describe('debconf', () => {
  const code = () =>
    debconf({ package: 'code', selections: [['code/add-microsoft-repo', 'boolean', 'false']] })

  it('preseeds answers on stdin, once', async () => {
    const sys = FakeSystem.debian13()
    expect((await code().check(sys)).why).toBe('not preseeded: code/add-microsoft-repo')
    const h = await converge(sys, [code()])
    expect(journaled(h)).toEqual([
      'COMMAND_EXEC debconf-set-selections code/add-microsoft-repo -> irreversible',
    ])
    expect((await converge(sys, [code()])).changes).toEqual([])
    expect(await code().check(sys)).toMatchObject({ done: true, observed: 'code/add-microsoft-repo=false' })
  })

  it('is rolled back with the package it is for (purge drops its answers)', async () => {
    const fresh = () => {
      const sys = FakeSystem.debian13()
      sys.addPackage('code', { version: '1.105.0-1', bin: ['/usr/bin/code'] })
      return sys
    }
    await expectContract(fresh, () => [code(), packages(['code'])])
    const sys = fresh()
    await undoAll(sys, await converge(sys, [code(), packages(['code'])]))
    expect(sys.snapshot({ includeCaches: true }).caches?.debconf).toEqual({})
  })

  it('keeps password answers out of the journal', async () => {
    const sys = FakeSystem.debian13()
    const h = await converge(sys, [debconf({ package: 'x', selections: [['x/pw', 'password', 's3cret']] })])
    expect(h.secrets).toEqual(['s3cret'])
    expect(JSON.stringify(h.changes)).not.toContain('s3cret')
  })
})
