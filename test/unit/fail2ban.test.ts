// fail2ban in rdp-config: the settings, the jail file built from them, the steps a run journals and
// rolls back on the fake, and our xrdp filter against the lines xrdp 0.10 really logged for failed
// RDP logins in the booted trixie container (test/fixtures/fail2ban/, captured with
// `journalctl -u xrdp-sesman -o short` and from /var/log/xrdp-sesman.log). The e2e
// (test/e2e/fail2ban.test.ts) runs trixie's own fail2ban-regex over the same two files.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FAIL2BAN_JAIL, FAIL2BAN_XRDP_FILTER, rdpConfig } from '../../phases/rdp-config.js'
import { ConfigSchema, isAddressOrNetwork } from '../../src/config/schema.js'
import { fail2banJails, parseJailList } from '../../src/facts/fail2ban.js'
import { template } from '../../src/templates.js'
import { engine } from '../helpers/engine.js'
import { FakeSystem } from '../support/fake/index.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/fail2ban')
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8').split('\n').filter(Boolean)

const FACTS = { chroot: false, container: false, systemd: true } as never
const input = (over: object) =>
  ({ cfg: ConfigSchema.parse(over), facts: FACTS, interactive: false, createdUsers: [] }) as never

describe('fail2ban settings', () => {
  it('defaults to on, 5 failures, 1 hour, nothing more ignored', () => {
    expect(ConfigSchema.parse({}).fail2ban).toEqual({
      enabled: true,
      maxretry: 5,
      bantime: '1h',
      ignoreip: [],
    })
  })

  it('takes addresses and CIDR networks for ignoreip, and refuses names and bad prefixes', () => {
    for (const ok of ['203.0.113.7', '203.0.113.0/24', '2001:db8::1', '2001:db8::/32', '10.0.0.0/8'])
      expect(isAddressOrNetwork(ok), ok).toBe(true)
    for (const bad of ['example.org', '203.0.113.0/33', '2001:db8::/129', '1.2.3.4/', '1.2.3.4 5.6.7.8', ''])
      expect(isAddressOrNetwork(bad), bad).toBe(false)
    expect(ConfigSchema.safeParse({ fail2ban: { ignoreip: ['vpn.example.org'] } }).success).toBe(false)
  })

  it('takes fail2ban durations for bantime and refuses anything else', () => {
    for (const ok of ['600', '10m', '1h', '2d', '1w', '-1'])
      expect(ConfigSchema.safeParse({ fail2ban: { bantime: ok } }).success, ok).toBe(true)
    for (const bad of ['0', '1 h', '1y', '1h\nmaxretry = 1', '-2'])
      expect(ConfigSchema.safeParse({ fail2ban: { bantime: bad } }).success, bad).toBe(false)
  })
})

describe('rdp-config fail2ban steps', () => {
  const ids = (over: object) => rdpConfig.steps(input(over)).map((s) => s.id)

  it('come after xrdp listens, and not at all when fail2ban.enabled is false', () => {
    const on = ids({})
    expect(on.slice(on.indexOf('rdp-config.listening') + 1)).toEqual([
      'rdp-config.fail2ban-packages',
      'rdp-config.fail2ban-xrdp-filter',
      'rdp-config.fail2ban-jail',
      'rdp-config.fail2ban-service',
      'rdp-config.fail2ban-restart',
      'rdp-config.fail2ban-jails',
    ])
    expect(ids({ fail2ban: { enabled: false } }).filter((id) => id.includes('fail2ban'))).toEqual([])
  })

  it('join the first dpkg pass', () => {
    const step = rdpConfig.steps(input({})).find((s) => s.id === 'rdp-config.fail2ban-packages')
    expect(step?.joinsEarlier).toBe(true)
    expect(step?.packages).toEqual(['fail2ban', 'python3-systemd', 'nftables'])
  })
})

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

describe('fail2ban on the fake Debian 13', () => {
  it('writes the jail with the configured port and values, runs both jails, and rollback removes it all', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const world = workstationWorld(sys)
    roots.push(world.root)
    const cfg = workstationConfig({
      rdp: { port: 3390 },
      fail2ban: { maxretry: 3, bantime: '2d', ignoreip: ['203.0.113.0/24', '2001:db8::1'] },
    })
    const first = await engine.run(world.deps, cfg, { force: false })
    expect(first.exitCode).toBe(0)
    const jail = sys.readText(FAIL2BAN_JAIL) ?? ''
    expect(jail).toMatch(/^ignoreip = 127\.0\.0\.1\/8 ::1 203\.0\.113\.0\/24 2001:db8::1$/m)
    expect(jail).toMatch(/^bantime = 2d$/m)
    expect(jail).toMatch(/^maxretry = 3$/m)
    expect(jail).toMatch(/\[xrdp\][^[]*^port = 3390$/m)
    expect(jail).not.toContain('{{')
    expect(sys.readText(FAIL2BAN_XRDP_FILTER)).toBe(template('fail2ban-filter-xrdp.conf'))
    expect(await fail2banJails(sys, ['sshd', 'xrdp'])).toMatchObject({
      ok: true,
      detail: 'fail2ban jails: sshd, xrdp',
    })

    const again = await engine.run(world.deps, cfg, { force: false })
    expect(again.exitCode).toBe(0)
    expect(again.phases.find((p) => p.name === 'rdp-config')?.status).toBe('SKIPPED')

    const back = await engine.rollback(world.deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.readText(FAIL2BAN_JAIL)).toBeNull()
    expect(sys.packageVersion('fail2ban')).toBeNull()
    expect(sys.snapshot()).toEqual(initial)
  })

  it('says which jail is missing, and fails without waiting when fail2ban is not running', async () => {
    const sys = FakeSystem.debian13()
    expect(parseJailList('Status\n|- Number of jail:\t0\n`- Jail list:\t\n')).toEqual([])
    expect(parseJailList('Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, xrdp\n')).toEqual([
      'sshd',
      'xrdp',
    ])
    const absent = await fail2banJails(sys, ['sshd', 'xrdp'], { waitMs: 0 })
    expect(absent.ok).toBe(false)
    expect(absent.detail).toMatch(/fail2ban-client status failed \(exit 127\)/)
    await sys.exec(['apt-get', 'install', '-y', 'fail2ban'])
    const onlyDebian = await fail2banJails(sys, ['sshd', 'xrdp'], {
      sleep: () => Promise.reject(new Error('must not wait: the jail list answered')),
    })
    expect(onlyDebian).toMatchObject({ ok: false, detail: 'fail2ban runs sshd; missing: xrdp' })
    await sys.exec(['systemctl', 'stop', 'fail2ban'])
    const stopped = await fail2banJails(sys, ['sshd'], {
      sleep: () => Promise.reject(new Error('must not wait: the unit is not active')),
    })
    expect(stopped.detail).toMatch(/exit 255.*Is fail2ban running\?/)
  })
})

/**
 * Our filter's failregex as a JavaScript RegExp. fail2ban first cuts the line's date (the journal's
 * "Dec 06 20:05:07 " or the log file's "[2026-12-06T20:05:07.138+0000] "), then matches the rest;
 * __prefix_line accepts an optional host name and "daemon[pid]: ", and <ADDR> an IPv4 address
 * (optionally as ::ffff:-mapped IPv6) or an IPv6 one. This mirrors those parts of common.conf and
 * fail2ban's tags closely enough for the lines below; the real fail2ban-regex runs in the e2e.
 */
function failregex(): RegExp {
  const conf = template('fail2ban-filter-xrdp.conf')
  const daemon = /^_daemon = (.*)$/m.exec(conf)?.[1] as string
  const regex = /^failregex = (.*)$/m.exec(conf)?.[1] as string
  const prefix = `\\s*(?:\\S+\\s+)?(?:${daemon}(?:\\[\\d+\\])?:\\s+)?`
  const addr =
    '(?:(?:::f{4,6}:)?(?<ip4>(?:\\d{1,3}\\.){3}\\d{1,3})|\\[?(?<ip6>[0-9a-fA-F]*:[0-9a-fA-F:]+)\\]?)'
  return new RegExp(regex.replace('%(__prefix_line)s', prefix).replace('<ADDR>', addr))
}

const withoutDate = (line: string) =>
  line.replace(/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /, '').replace(/^\[[^\]]+\] /, '')

const matches = (lines: string[]) =>
  lines.flatMap((l) => {
    const m = failregex().exec(withoutDate(l))
    return m ? [m.groups?.ip4 ?? m.groups?.ip6] : []
  })

describe('the xrdp filter against what xrdp 0.10 logged on trixie', () => {
  for (const name of ['xrdp-sesman.journal', 'xrdp-sesman.log']) {
    it(`matches each failed RDP login in ${name} once, with the client's address, and nothing else`, () => {
      const lines = fixture(name)
      const failures = lines.filter((l) => l.includes('AUTHFAIL: '))
      expect(failures.length).toBeGreaterThanOrEqual(5)
      // The good login of the same capture is there too, and must not count.
      expect(lines.some((l) => l.includes('Access permitted for user: devuser'))).toBe(true)
      expect(matches(lines)).toEqual(failures.map(() => '10.213.12.1'))
    })
  }

  it('bans the address at the end of the line, whatever the user name imitates', () => {
    const line = (user: string, ip: string) =>
      `Dec 06 20:05:07 vps xrdp-sesexec[4485]: [INFO ] AUTHFAIL: user=${user} ip=${ip} time=1796587507`
    expect(matches([line('x ip=198.51.100.9 time=5', '::ffff:203.0.113.7')])).toEqual(['203.0.113.7'])
    expect(matches([line('alice', '2001:db8::5')])).toEqual(['2001:db8::5'])
    expect(matches([line('alice', 'unknown')])).toEqual([])
    expect(matches([`${line('alice', '203.0.113.7')} trailing`])).toEqual([])
  })
})
