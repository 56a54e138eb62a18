// Issue 21's defaults on the fake Debian 13, each by the phase contract: Debian's security updates
// through unattended-upgrades, a swap file where memory is small (and a clean refusal where swap
// cannot be), and preflight's clock check against the mirror's Date header. Each converges, re-runs
// with zero actions, and rolls back to the machine it started from.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_PHASES } from '../../phases/index.js'
import { AUTO_UPGRADES_CONF, UNATTENDED_UPGRADES_CONF } from '../../phases/system-prep.js'
import { type Config, ConfigSchema } from '../../src/config/schema.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'
import type { RunEvent } from '../../src/model/events.js'
import { SWAP_SYSCTL } from '../../src/steps/swap-file.js'
import { engine } from '../helpers/engine.js'
import type { Debian13Options } from '../support/fake/debian13.js'
import { FakeFs } from '../support/fake/fs.js'
import { FakeSystem } from '../support/fake/index.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function world(sys: FakeSystem) {
  const root = mkdtempSync(join(tmpdir(), 'vps-hardening-'))
  roots.push(root)
  const events: RunEvent[] = []
  const deps = {
    sys,
    paths: statePaths(root),
    emit: (e: RunEvent) => events.push(e),
    signal: new AbortController().signal,
    phases: ALL_PHASES,
    interactive: false,
  }
  return { deps, events }
}

/** unattended-upgrades' own variable, as the drop-in spells it. */
const CODENAME = ['$', '{distro_codename}'].join('')
const statOf = (sys: FakeSystem, path: string) => new FakeFs(sys.state.files).stat(path)
const prep = (over: object = {}): Config => ConfigSchema.parse({ only: ['system-prep'], ...over })
const warnings = (events: RunEvent[]) =>
  events.flatMap((e) => (e.type === 'message' && e.level === 'warn' ? [e.text] : []))
/** 2 GiB of RAM as a 2 GB VPS reports it. */
const SMALL: Debian13Options = { memKiB: 2_014_000 }

/** Runs system-prep, again (0 actions), then rolls back; returns the converged machine's view. */
async function contract(sys: FakeSystem, cfg: Config, inspect: (events: RunEvent[]) => void) {
  const initial = sys.snapshot()
  const { deps, events } = world(sys)
  const first = await engine.run(deps, cfg, { force: false })
  expect(first.exitCode, first.lines.join('\n')).toBe(0)
  inspect(events)
  const converged = sys.snapshot()
  const second = await engine.run(deps, cfg, { force: false })
  expect(second.exitCode).toBe(0)
  expect(second.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
  expect(sys.snapshot()).toEqual(converged)
  const back = await engine.rollback(deps, { session: first.sessionId, to: null, force: false })
  expect(back.exitCode, back.lines.join('\n')).toBe(0)
  expect(sys.snapshot()).toEqual(initial)
}

describe('security updates (unattended-upgrades)', () => {
  it("allows Debian's security origin only, runs daily, never reboots by default; undone by rollback", async () => {
    const sys = FakeSystem.debian13()
    await contract(sys, prep(), () => {
      expect(sys.packageVersion('unattended-upgrades')).not.toBeNull()
      const conf = sys.readText(UNATTENDED_UPGRADES_CONF) ?? ''
      // Debian's 50unattended-upgrades also allows every point release: cleared, then security only.
      expect(conf).toContain('#clear Unattended-Upgrade::Origins-Pattern;')
      const patterns = [...conf.matchAll(/^\s+"(origin=[^"]+)";$/gm)].map((m) => m[1])
      expect(patterns).toEqual([
        `origin=Debian,codename=${CODENAME}-security,label=Debian-Security`,
        `origin=Debian,codename=${CODENAME},label=Debian-Security`,
      ])
      expect(conf).toContain('Unattended-Upgrade::Automatic-Reboot "false";')
      expect(conf).not.toContain('Automatic-Reboot-Time')
      expect(sys.readText(AUTO_UPGRADES_CONF)).toBe(
        'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
      )
    })
    expect(sys.packageVersion('unattended-upgrades')).toBeNull()
    expect(sys.readText(UNATTENDED_UPGRADES_CONF)).toBeNull()
  })

  it('an empty sources.list, as unattended-upgrade leaves one, is no reason for another apt-get update', async () => {
    const sys = FakeSystem.debian13()
    const { deps } = world(sys)
    expect((await engine.run(deps, prep(), { force: false })).exitCode).toBe(0)
    sys.writeText('/etc/apt/sources.list', '')
    const again = await engine.run(deps, prep(), { force: false })
    expect(again.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
  })

  it('writes 20auto-upgrades where debconf said no to it, and puts that back on rollback', async () => {
    const sys = FakeSystem.debian13()
    // An image preseeded against automatic updates: the file is there and says "0".
    sys.writeText('/etc/apt/apt.conf.d/20auto-upgrades', 'APT::Periodic::Unattended-Upgrade "0";\n')
    await contract(sys, prep(), () => {
      expect(sys.readText(AUTO_UPGRADES_CONF)).toContain('APT::Periodic::Unattended-Upgrade "1";')
    })
    expect(sys.readText(AUTO_UPGRADES_CONF)).toBe('APT::Periodic::Unattended-Upgrade "0";\n')
  })

  it('reboots at updates.autoReboot, and only accepts HH:MM', async () => {
    const sys = FakeSystem.debian13()
    await contract(sys, prep({ updates: { autoReboot: '03:30' } }), () => {
      const conf = sys.readText(UNATTENDED_UPGRADES_CONF) ?? ''
      expect(conf).toContain('Unattended-Upgrade::Automatic-Reboot "true";')
      expect(conf).toContain('Unattended-Upgrade::Automatic-Reboot-Time "03:30";')
    })
    for (const bad of ['3:30', '24:00', '12:60', 'now', '03:30:00'])
      expect(ConfigSchema.safeParse({ updates: { autoReboot: bad } }).success, bad).toBe(false)
    expect(ConfigSchema.parse({}).updates).toEqual({ enabled: true, autoReboot: null })
  })

  it('updates.enabled false installs and writes nothing for it', async () => {
    const sys = FakeSystem.debian13()
    await contract(sys, prep({ updates: { enabled: false } }), () => {
      expect(sys.packageVersion('unattended-upgrades')).toBeNull()
      expect(sys.readText(UNATTENDED_UPGRADES_CONF)).toBeNull()
    })
  })
})

describe('swap where memory is small', () => {
  it('makes a 2 GiB /swapfile with its fstab line and swappiness on a 2 GiB machine; rollback removes all', async () => {
    const sys = FakeSystem.debian13(SMALL)
    const fstabBefore = sys.readText('/etc/fstab')
    await contract(sys, prep(), () => {
      expect(sys.readText('/proc/swaps')).toMatch(/^\/swapfile\s+file\s+2097148\s/m)
      expect((statOf(sys, '/swapfile') ?? { mode: 0 }).mode).toBe(0o600)
      const fstab = sys.readText('/etc/fstab') ?? ''
      expect(fstab.startsWith(fstabBefore ?? '-')).toBe(true)
      expect(fstab).toContain('\n/swapfile none swap sw 0 0\n')
      expect(sys.readText(SWAP_SYSCTL)).toContain('vm.swappiness = 10')
      expect(sys.readText('/proc/sys/vm/swappiness')).toBe('10\n')
    })
    expect(statOf(sys, '/swapfile')).toBeNull()
    expect(sys.readText('/proc/sys/vm/swappiness')).toBe('60\n')
    expect(sys.readText('/etc/fstab')).toBe(fstabBefore)
  })

  it('leaves a 4 GiB machine, one that has swap, and swap.size 0 alone', async () => {
    const big = FakeSystem.debian13()
    await contract(big, prep(), () => expect(statOf(big, '/swapfile')).toBeNull())
    const swapping = FakeSystem.debian13(SMALL)
    swapping.writeText(
      '/proc/swaps',
      `${swapping.readText('/proc/swaps')}/dev/vda2\t\t\t\tpartition\t1048572\t\t0\t\t-2\n`,
    )
    await contract(swapping, prep(), () => expect(statOf(swapping, '/swapfile')).toBeNull())
    const off = FakeSystem.debian13(SMALL)
    await contract(off, prep({ swap: { size: 0 } }), () => expect(statOf(off, '/swapfile')).toBeNull())
  })

  it('swap.size makes that size whatever the RAM, capped by the free disk', async () => {
    const sized = FakeSystem.debian13()
    await contract(sized, prep({ swap: { size: '512M' } }), () =>
      expect(sized.readText('/proc/swaps')).toMatch(/^\/swapfile\s+file\s+524284\s/m),
    )
    // 11 GB free, the 10 GB preflight asks for kept for the rest of the run: 953 MiB for swap.
    const tight = FakeSystem.debian13({ ...SMALL, disk: { size: 20e9, avail: 11e9 } })
    await contract(tight, prep(), () =>
      expect(tight.readText('/proc/swaps')).toMatch(/^\/swapfile\s+file\s+975868\s/m),
    )
    const full = FakeSystem.debian13({ ...SMALL, disk: { size: 20e9, avail: 10.2e9 } })
    await contract(full, prep(), (events) => {
      expect(statOf(full, '/swapfile')).toBeNull()
      expect(warnings(events).join('\n')).toMatch(
        /no swap file: 10\.2 GB free on \/, and 10 GB must stay free/,
      )
    })
    for (const bad of ['2', '2T', '-1G', '1.5G', 'none'])
      expect(ConfigSchema.safeParse({ swap: { size: bad } }).success, bad).toBe(false)
  })

  it('in a container says why there is no swap, changes nothing, and the run goes on', async () => {
    const sys = FakeSystem.debian13({ ...SMALL, virt: 'systemd-nspawn' })
    await contract(sys, prep({ swap: { size: '1G' } }), (events) => {
      expect(statOf(sys, '/swapfile')).toBeNull()
      expect(sys.readText('/etc/fstab')).not.toContain('swapfile')
      expect(warnings(events)).toContain(
        "Swap file where memory is small: no swap file: swap cannot be enabled in a systemd-nspawn container, whose kernel (and swap) is its host's. Give the machine more memory, or add swap on the host.",
      )
    })
    expect(sys.execLog.some((e) => ['fallocate', 'swapon', 'mkswap'].includes(e.argv[0] ?? ''))).toBe(false)
  })

  it('where the kernel refuses swapon without a container detected, removes the file again and goes on', async () => {
    const sys = FakeSystem.debian13({ ...SMALL, swapRefused: true })
    const initial = sys.snapshot()
    const { deps, events } = world(sys)
    const first = await engine.run(deps, prep(), { force: false })
    expect(first.exitCode, first.lines.join('\n')).toBe(0)
    expect(statOf(sys, '/swapfile')).toBeNull()
    expect(sys.readText('/etc/fstab')).not.toContain('swapfile')
    expect(warnings(events).join('\n')).toMatch(
      /no swap file: the kernel refused it \(`swapon \/swapfile` exited 255: swapon: \/swapfile: swapon failed: Operation not permitted\); \/swapfile was removed again/,
    )
    const back = await engine.rollback(deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('rollback turns an active swap file off before removing it', async () => {
    const sys = FakeSystem.debian13(SMALL)
    const { deps } = world(sys)
    const first = await engine.run(deps, prep(), { force: false })
    expect(first.exitCode).toBe(0)
    const from = sys.execLog.length
    await engine.rollback(deps, { session: first.sessionId, to: null, force: false })
    const argv = sys.execLog.slice(from).map((e) => e.argv.join(' '))
    expect(argv).toContain('swapoff /swapfile')
    expect(argv).toContain('sysctl -w vm.swappiness=60')
    expect(argv.indexOf('sysctl -w vm.swappiness=60')).toBeLessThan(argv.indexOf('swapoff /swapfile'))
  })
})

describe("preflight's clock against the mirror's Date header", () => {
  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toUTCString()

  it('fails, before any change, when the clock is two hours behind the mirror, and says how to fix it', async () => {
    const sys = FakeSystem.debian13()
    sys.probes.set('*', { status: 200, date: at(2 * 3600_000), error: null })
    const initial = sys.snapshot()
    const { deps } = world(sys)
    const summary = await engine.run(deps, prep(), { force: false })
    expect(summary.exitCode).toBe(EXIT.preflight)
    const text = summary.lines.join('\n')
    expect(text).toMatch(/this machine's clock is 2\.0 hours behind http:\/\/deb\.debian\.org\/debian/)
    expect(text).toContain('timedatectl set-ntp true')
    expect(text).toMatch(/date -u -s '\d{4}-\d\d-\d\dT/)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('fails on a clock ten minutes ahead, passes within five minutes', async () => {
    const ahead = FakeSystem.debian13()
    ahead.probes.set('*', { status: 200, date: at(-10 * 60_000), error: null })
    const r1 = await engine.run(world(ahead).deps, prep(), { force: false })
    expect(r1.exitCode).toBe(EXIT.preflight)
    expect(r1.lines.join('\n')).toMatch(/clock is 10 minutes ahead of/)
    const near = FakeSystem.debian13()
    near.probes.set('*', { status: 200, date: at(-4 * 60_000), error: null })
    const { deps, events } = world(near)
    const r2 = await engine.run(deps, ConfigSchema.parse({ only: ['preflight'] }), { force: false })
    expect(r2.exitCode, r2.lines.join('\n')).toBe(0)
    const clock = events.find((e) => e.type === 'step-end' && e.step === 'preflight.clock')
    expect(clock).toMatchObject({ outcome: 'already-done' })
  })

  it('in a container, points at the host, whose clock it is', async () => {
    const sys = FakeSystem.debian13({ virt: 'systemd-nspawn' })
    sys.probes.set('*', { status: 200, date: at(-3 * 86400_000), error: null })
    const summary = await engine.run(world(sys).deps, prep(), { force: false })
    expect(summary.exitCode).toBe(EXIT.preflight)
    const text = summary.lines.join('\n')
    expect(text).toMatch(/clock is 3 days ahead of/)
    expect(text).toContain("This systemd-nspawn container runs on its host's clock: set the time on the host")
  })
})
