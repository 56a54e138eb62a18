import { describe, expect, it } from 'vitest'
import { restartOnChange, service } from '../../../src/steps/index.js'
import { converge, expectContract, journaled, makeHarness } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'

/** ufw installed; its postinst enabled and started it, then `state` adjusted it. */
async function withUfw(state: { enabled: boolean; active: boolean }) {
  const sys = FakeSystem.debian13()
  await sys.exec(['apt-get', 'install', '-y', 'ufw'])
  if (!state.enabled) await sys.exec(['systemctl', 'disable', 'ufw.service'])
  if (!state.active) await sys.exec(['systemctl', 'stop', 'ufw.service'])
  return sys
}

describe('service', () => {
  it.each([
    {
      name: 'enables and starts',
      state: { enabled: false, active: false },
      want: { enabled: true, running: true },
      journal: [
        'SERVICE_ENABLE enable ufw.service -> disable-unit',
        'SERVICE_START start ufw.service -> stop-unit',
      ],
    },
    {
      name: 'only starts an enabled unit',
      state: { enabled: true, active: false },
      want: { enabled: true, running: true },
      journal: ['SERVICE_START start ufw.service -> stop-unit'],
    },
    {
      name: 'does nothing when both hold',
      state: { enabled: true, active: true },
      want: { enabled: true, running: true },
      journal: [],
    },
    {
      name: 'disables and stops, with argv undos that turn it back on',
      state: { enabled: true, active: true },
      want: { enabled: false, running: false },
      journal: ['SERVICE_ENABLE disable ufw.service -> argv', 'SERVICE_START stop ufw.service -> argv'],
    },
    {
      name: 'leaves unmentioned aspects alone',
      state: { enabled: false, active: true },
      want: { running: true },
      journal: [],
    },
  ])('$name', async ({ state, want, journal }) => {
    const { sys, h } = await expectContract(
      () => withUfw(state),
      () => [service('ufw.service', want)],
    )
    expect(journaled(h)).toEqual(journal)
    await converge(sys, [service('ufw.service', want)])
    const s = sys.service('ufw.service')
    if (want.enabled !== undefined) expect(s?.enabled).toBe(want.enabled)
    if (want.running !== undefined) expect(s?.active).toBe(want.running)
  })

  it('explains a unit that does not exist', async () => {
    await expect(
      converge(FakeSystem.debian13(), [service('xrdp.service', { enabled: true })]),
    ).rejects.toThrow('Unable to manage xrdp.service: no such unit')
  })

  it('observes both states for the checkpoint', async () => {
    const c = await service('ufw.service', { enabled: true }).check(
      await withUfw({ enabled: false, active: true }),
    )
    expect(c).toMatchObject({
      done: false,
      observed: 'ufw.service disabled active',
      why: 'ufw.service is disabled',
    })
  })
})

describe('restartOnChange', () => {
  const conf = '/etc/ufw/ufw.conf'
  const step = () => restartOnChange({ unit: 'ufw.service', how: 'restart', watch: [conf] })

  it('restarts a running unit once per change of its files', async () => {
    const { sys, h } = await expectContract(
      () => withUfw({ enabled: true, active: true }),
      () => [step()],
    )
    expect(journaled(h)).toEqual([
      'SERVICE_START restart ufw.service -> irreversible',
      'FILE_CREATE /var/cache/vps-provision -> remove-dir',
      'FILE_CREATE /var/cache/vps-provision/stamps -> remove-dir',
      'FILE_CREATE /var/cache/vps-provision/stamps/ufw.service.restart -> remove-file',
    ])
    await converge(sys, [step()])
    sys.writeText(conf, 'ENABLED=yes\n')
    const again = await converge(sys, [step()])
    expect(journaled(again)).toEqual([
      'SERVICE_START restart ufw.service -> irreversible',
      'FILE_MODIFY /var/cache/vps-provision/stamps/ufw.service.restart -> restore-file',
    ])
  })

  it('does not start a unit that is stopped: it reads the files when it starts', async () => {
    const sys = await withUfw({ enabled: true, active: false })
    const h = await converge(sys, [step()])
    expect(h.changes.some((c) => c.actionType === 'SERVICE_START')).toBe(false)
    expect(sys.service('ufw.service')?.active).toBe(false)
  })

  it('uses reload when asked', async () => {
    const sys = await withUfw({ enabled: true, active: true })
    const h = makeHarness(sys)
    await converge(sys, [restartOnChange({ unit: 'ufw.service', how: 'reload', watch: [conf] })], h)
    expect(sys.execLog.some((e) => e.argv.join(' ') === 'systemctl reload ufw.service')).toBe(true)
  })
})
