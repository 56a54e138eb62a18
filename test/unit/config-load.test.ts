import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEV_GROUPS } from '../../phases/user-creation.js'
import { envLayer, loadCliConfig } from '../../src/cli/config-layers.js'
import { loadConfig, MAX_CONFIG_BYTES } from '../../src/config/load.js'
import { ConfigSchema, defaultConfig } from '../../src/config/schema.js'
import { RESERVED_USERNAMES } from '../../src/config/usernames.js'
import { EXIT, ProvisionError } from '../../src/model/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
function file(text: string, name = `c${++n}.yaml`): string {
  const path = join(dir, name)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

const missing = join(dir, 'no-such-default.yaml')

/** The usage error's message, or a failure if the promise resolves. */
async function usage(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ProvisionError)
  expect((err as ProvisionError).exitCode).toBe(EXIT.usage)
  return (err as ProvisionError).message
}

describe('precedence: flags > env > file > defaults', () => {
  const fileText = 'username: fromfile\nupgrade: true\nrdp:\n  port: 4000\n  firewall: tunnel\n'
  const env = { VPS_PROVISION_USERNAME: 'fromenv', VPS_PROVISION_RDP_PORT: '5000' }
  const flags = { username: 'fromflag' }

  it.each([
    ['defaults only', false, {}, {}, 'devuser', 3389, 'open'],
    ['file', true, {}, {}, 'fromfile', 4000, 'tunnel'],
    ['env over file', true, env, {}, 'fromenv', 5000, 'tunnel'],
    ['flag over env and file', true, env, flags, 'fromflag', 5000, 'tunnel'],
    ['flag over file without env', true, {}, { rdpPort: 6000 }, 'fromfile', 6000, 'tunnel'],
    ['env without file', false, env, {}, 'fromenv', 5000, 'open'],
  ])('%s', async (_name, withFile, e, f, username, port, firewall) => {
    const config = withFile ? file(fileText) : undefined
    const { config: cfg } = await loadCliConfig({ ...f, config }, e, missing)
    expect(cfg.username).toBe(username)
    expect(cfg.rdp).toEqual({ port, firewall, certificate: null, key: null })
    expect(cfg.upgrade).toBe(withFile)
  })

  it('merges nested objects key by key and replaces lists whole', async () => {
    const path = file('ides: [vscode, cursor]\nssh:\n  disableRootLogin: true\n')
    const { config } = await loadCliConfig({ config: path, ides: ['antigravity'] }, {}, missing)
    expect(config.ides).toEqual(['antigravity'])
    expect(config.ssh).toEqual({
      disableRootLogin: true,
      disablePasswordAuth: false,
      confirmTimeoutSeconds: 180,
    })
  })

  it('a --no-upgrade flag beats upgrade: true in the file', async () => {
    const path = file('upgrade: true\n')
    expect((await loadCliConfig({ config: path, upgrade: false }, {}, missing)).config.upgrade).toBe(false)
  })

  it('a missing default file means defaults; a missing named file is an error', async () => {
    expect((await loadConfig({ file: null, defaultFile: missing, overrides: [] })).config).toEqual(
      defaultConfig(),
    )
    expect(await usage(loadConfig({ file: missing, overrides: [] }))).toMatch(/no such file/)
  })

  it('reads JSON too, and an empty file is all defaults', async () => {
    const json = file('{"username": "jsonuser", "rdp": {"port": 3390}}', 'c.json')
    expect((await loadConfig({ file: json, overrides: [] })).config.rdp.port).toBe(3390)
    expect((await loadConfig({ file: file(''), overrides: [] })).config).toEqual(defaultConfig())
  })
})

describe('schema errors name the field, what is allowed and where the value came from', () => {
  it('an unknown key, with a suggestion and the allowed keys', async () => {
    const msg = await usage(loadConfig({ file: file('userName: alice\n'), overrides: [] }))
    expect(msg).toMatch(/unknown key "userName" did you mean "username"\? \(allowed: username, fullName, /)
    expect(msg).toMatch(/c\d+\.yaml:1:11\)$/)
  })

  it('an unknown nested key', async () => {
    const msg = await usage(loadConfig({ file: file('rdp:\n  prot: 1\n'), overrides: [] }))
    expect(msg).toMatch(/rdp: unknown key "prot" \(allowed: port, firewall, certificate, key\)/)
  })

  it('a port out of range from the environment', async () => {
    const msg = await usage(loadCliConfig({}, { VPS_PROVISION_RDP_PORT: '70000' }, missing))
    expect(msg).toBe(
      'Unable to use the configuration: rdp.port: expected a whole number from 1 to 65535, got 70000 (VPS_PROVISION_RDP_PORT)',
    )
  })

  it('a bad username from a flag', async () => {
    const msg = await usage(loadCliConfig({ username: 'Admin' }, {}, missing))
    expect(msg).toMatch(
      /^Unable to use the configuration: username: expected a lowercase name.*got "Admin" \(--username\)$/,
    )
  })

  it('a reserved username, whatever the machine: the one list, which holds the groups the run uses', async () => {
    const msg = await usage(loadCliConfig({ username: 'root' }, {}, missing))
    expect(msg).toBe(
      'Unable to use the configuration: username: expected a name that is not reserved (root, daemon, sudo, xrdp, …: see "Reserved usernames" in docs/configuration.md), got "root" (--username)',
    )
    for (const name of RESERVED_USERNAMES) {
      expect(ConfigSchema.safeParse({ username: name }).success, name).toBe(false)
    }
    for (const group of DEV_GROUPS) expect(RESERVED_USERNAMES, group).toContain(group)
    expect(ConfigSchema.parse({ username: 'rooted' }).username).toBe('rooted')
  })

  it('a wrong type in the file, with line and column', async () => {
    const msg = await usage(loadConfig({ file: file('username: ok\nupgrade: "yes"\n'), overrides: [] }))
    expect(msg).toMatch(/upgrade: expected true or false, got "yes" \(.*c\d+\.yaml:2:10\)/)
  })

  it('several problems, one line each', async () => {
    const path = file('ides: [vscode, vscode]\nrdp: {firewall: closed}\nfullName: "a:b"\n')
    const msg = await usage(loadConfig({ file: path, overrides: [] }))
    const lines = msg.split('\n')
    expect(lines[0]).toBe('Unable to use the configuration (3 problems):')
    expect(msg).toMatch(/ides: expected each IDE at most once/)
    expect(msg).toMatch(/rdp\.firewall: expected one of open, tunnel, got "closed"/)
    expect(msg).toMatch(/fullName: expected no colon, comma or newline/)
  })

  it('a __proto__ key is an unknown key, not a prototype change', async () => {
    const msg = await usage(loadConfig({ file: file('__proto__: {username: x}\n'), overrides: [] }))
    expect(msg).toMatch(/unknown key "__proto__"/)
  })
})

describe('hostile configuration files', () => {
  it('refuses a symlink to /dev/zero without reading it', async () => {
    const link = join(dir, 'zero.yaml')
    symlinkSync('/dev/zero', link)
    expect(await usage(loadConfig({ file: link, overrides: [] }))).toMatch(
      /device or special file, not a regular file/,
    )
  })

  it('refuses a directory, even as the default file', async () => {
    const d = join(dir, 'adir.yaml')
    mkdirSync(d)
    expect(await usage(loadConfig({ file: null, defaultFile: d, overrides: [] }))).toMatch(/a directory/)
  })

  it('refuses a FIFO without blocking on it', async () => {
    const fifo = join(dir, 'fifo.yaml')
    execFileSync('mkfifo', [fifo])
    expect(await usage(loadConfig({ file: fifo, overrides: [] }))).toMatch(/a FIFO/)
  })

  it('refuses a file over 64 KiB before reading it', async () => {
    const big = file(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`)
    expect(await usage(loadConfig({ file: big, overrides: [] }))).toMatch(/the limit is 65536/)
  })

  it('refuses a world-writable file', async () => {
    const path = file('username: alice\n')
    chmodSync(path, 0o666)
    expect(await usage(loadConfig({ file: path, overrides: [] }))).toMatch(/writable by every user/)
  })

  it.each([
    ['malformed YAML', 'username: a\n  rdp: x\n', /c\d+\.yaml:1:11: Nested mappings/],
    ['malformed JSON', '{"username": "a",, }', /c\d+\.yaml:1:18: /],
    ['a duplicate key', 'username: a\nusername: b\n', /c\d+\.yaml:2:1: Map keys must be unique/],
    ['a top-level list', '- username\n', /expected a mapping of settings, found a list/],
  ])('reports %s in one line', async (_name, text, pattern) => {
    const msg = await usage(loadConfig({ file: file(text), overrides: [] }))
    expect(msg).toMatch(pattern)
    expect(msg).not.toContain('\n')
  })

  it('stops a YAML alias bomb', async () => {
    const rows = ['a: &a [x, x, x, x, x, x, x, x, x]']
    for (const [prev, cur] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
    ]) {
      rows.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]`)
    }
    const started = Date.now()
    expect(await usage(loadConfig({ file: file(`${rows.join('\n')}\n`), overrides: [] }))).toMatch(/alias/i)
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('VPS_PROVISION_* variables', () => {
  it.each([
    ['true', true],
    ['FALSE', false],
    ['yes', true],
    ['no', false],
    ['1', true],
    ['0', false],
  ])('VPS_PROVISION_UPGRADE=%s', (value, expected) => {
    expect(envLayer({ VPS_PROVISION_UPGRADE: value }).layer.data).toEqual({ upgrade: expected })
  })

  it('parses lists and numbers', () => {
    const { layer } = envLayer({
      VPS_PROVISION_IDES: 'vscode, cursor',
      VPS_PROVISION_ONLY: 'preflight,rdp-config',
      VPS_PROVISION_SKIP: 'terminal-setup',
      VPS_PROVISION_RDP_PORT: '3390',
      VPS_PROVISION_RDP_FIREWALL: 'tunnel',
      VPS_PROVISION_REUSE_USER: 'on',
      VPS_PROVISION_EXPIRE_PASSWORD: 'off',
    })
    expect(layer.data).toEqual({
      ides: ['vscode', 'cursor'],
      only: ['preflight', 'rdp-config'],
      skip: ['terminal-setup'],
      rdp: { port: 3390, firewall: 'tunnel' },
      reuseUser: true,
      expirePassword: false,
    })
  })

  it.each([
    ['VPS_PROVISION_UPGRADE', 'maybe', /VPS_PROVISION_UPGRADE: expected true or false.*"maybe"/],
    ['VPS_PROVISION_IDES', 'vscode,emacs', /unknown IDE "emacs" \(allowed: vscode, cursor, antigravity\)/],
    ['VPS_PROVISION_IDES', 'cursor,cursor', /IDE "cursor" is listed twice/],
    ['VPS_PROVISION_ONLY', 'desktop', /unknown phase "desktop" \(allowed: preflight, system-prep/],
    ['VPS_PROVISION_RDP_PORT', 'abc', /VPS_PROVISION_RDP_PORT: expected a whole number, got "abc"/],
    ['VPS_PROVISION_RDP_PORT', '33.9', /expected a whole number/],
    ['VPS_PROVISION_RDP_PORT', '-1', /expected a whole number/],
  ])('%s=%s is refused', async (name, value, pattern) => {
    expect(await usage(loadCliConfig({}, { [name]: value }, missing))).toMatch(pattern)
  })

  it('a value out of the schema range names the variable', async () => {
    expect(await usage(loadCliConfig({}, { VPS_PROVISION_RDP_FIREWALL: 'closed' }, missing))).toMatch(
      /rdp\.firewall: expected one of open, tunnel, got "closed" \(VPS_PROVISION_RDP_FIREWALL\)/,
    )
  })

  it('an empty variable is unset; unknown ones warn; internal ones are ignored quietly', () => {
    const { layer, warnings } = envLayer({
      VPS_PROVISION_USERNAME: '',
      VPS_PROVISION_USERNAM: 'typo',
      VPS_PROVISION_ROOT: '/tmp/x',
      VPS_PROVISION_FAILPOINT: 'a',
      VPS_PROVISION_FOREGROUND: '1',
      VPS_PROVISION_DEBUG: '1',
      PATH: '/bin',
    })
    expect(layer.data).toEqual({})
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/ignoring unknown environment variable VPS_PROVISION_USERNAM /)
  })
})
