import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parse, parseDocument } from 'yaml'
import {
  CREDENTIALS_FILE,
  FIRST_BOOT_LOG,
  FIRST_BOOT_SCRIPT,
  FIRST_BOOT_UNIT,
  FIRST_BOOT_UNIT_FILE,
  firstBootUnit,
  shellQuote,
} from '../../src/cli/cloud-init.js'
import type { CliDeps } from '../../src/cli/deps.js'
import { runCli } from '../../src/cli/run-cli.js'
import { parseConfigText, validateConfig } from '../../src/config/load.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-cloud-init-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const unused = () => {
  throw new Error('cloud-init must not touch the engine or the system')
}
const deps = (): CliDeps => ({
  engine: unused,
  system: unused,
  paths: statePaths(dir),
  env: {},
  // Not root: generating user-data needs no privileges.
  getuid: () => 1000,
  version: '1.2.3',
  defaultConfigFile: join(dir, 'absent.yaml'),
})
const cli = (...argv: string[]) => runCli(['cloud-init', ...argv], deps())

const BUNDLE = 'https://files.example.com/vps-provision.mjs'
const DEB = 'https://files.example.com/vps-provision_1.2.3-1_all.deb'
const SHA = 'ab'.repeat(32)

interface UserData {
  package_update: boolean
  packages: string[]
  write_files: { path: string; owner: string; permissions: string; content: string }[]
  runcmd: string[][]
}

/** cloud-init reads user-data with PyYAML (YAML 1.1); parse it both ways. */
function userData(text: string): UserData {
  expect(text.startsWith('#cloud-config\n')).toBe(true)
  for (const version of ['1.1', '1.2'] as const) {
    const doc = parseDocument(text, { version, uniqueKeys: true })
    expect(doc.errors).toEqual([])
    expect(doc.warnings).toEqual([])
  }
  return parse(text, { version: '1.1' }) as UserData
}

const script = (data: UserData) => data.write_files.find((f) => f.path === FIRST_BOOT_SCRIPT)?.content ?? ''

function writeConfig(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  chmodSync(path, 0o644)
  return path
}

describe('vps-provision cloud-init', () => {
  it('prints valid #cloud-config that installs nodejs, fetches the bundle and starts the run after cloud-init', async () => {
    const r = await cli('--from-bundle', BUNDLE)
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toBe('')
    const data = userData(r.stdout)
    expect(data.package_update).toBe(true)
    expect(data.packages).toEqual(expect.arrayContaining(['nodejs', 'curl', 'ca-certificates']))
    expect(data.runcmd).toEqual([[FIRST_BOOT_SCRIPT]])
    // No configuration given: none is written, the tool's defaults apply.
    expect(data.write_files.map((f) => f.path)).toEqual([FIRST_BOOT_SCRIPT])
    const first = data.write_files[0]
    expect(first).toMatchObject({ owner: 'root:root', permissions: '0700' })
    const sh = script(data)
    expect(sh).toContain(`URL='${BUNDLE}'`)
    expect(sh).toContain('install -m 0755 "$work/download" /usr/local/bin/vps-provision')
    // The run is its own unit after cloud-final: inside runcmd, `cloud-init status --wait` never returns.
    // A unit file (not systemd-run): after a reboot mid-run it starts again, and the run resumes.
    const unit = firstBootUnit(['/usr/local/bin/vps-provision', 'run', '--yes', '--plain'])
    expect(sh).toContain(`cat > ${FIRST_BOOT_UNIT_FILE}.tmp <<'UNIT'\n${unit}UNIT\n`)
    expect(unit).toMatch(/^After=network-online\.target cloud-final\.service$/m)
    // cloud-final.service is After=multi-user.target: WantedBy=multi-user.target would be a cycle.
    expect(unit).toMatch(/^WantedBy=cloud-init\.target$/m)
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/vps-provision run --yes --plain$/m)
    // It removes itself once a run succeeded (ExecStartPost runs only after ExecStart exited 0).
    expect(unit).toContain(
      `ExecStartPost=/bin/rm -f ${FIRST_BOOT_UNIT_FILE} /etc/systemd/system/cloud-init.target.wants/${FIRST_BOOT_UNIT}.service`,
    )
    expect(sh).toContain(`systemctl enable ${FIRST_BOOT_UNIT}.service`)
    expect(sh).toContain(`systemctl start --no-block ${FIRST_BOOT_UNIT}.service`)
    // Its output goes to its own log, never to cloud-init-output.log; without a TTY the password
    // is only ever filed in the credentials file.
    expect(unit).toContain(`StandardOutput=append:${FIRST_BOOT_LOG}`)
    expect(unit).toContain(`StandardError=append:${FIRST_BOOT_LOG}`)
    expect(sh).toContain(`LOG=${FIRST_BOOT_LOG}`)
    expect(r.stdout).toContain(CREDENTIALS_FILE)
    expect(r.stdout).not.toMatch(/password\s*[:=]/i)
  })

  it('installs a .deb through apt (which pulls in nodejs) with --from-deb', async () => {
    const r = await cli('--from-deb', DEB, '--sha256', SHA.toUpperCase())
    expect(r.exitCode).toBe(0)
    const sh = script(userData(r.stdout))
    expect(sh).toContain(`SHA256='${SHA}'`)
    expect(sh).toContain('sha256sum --check --status -')
    expect(sh).toContain(
      'apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$work/vps-provision.deb"',
    )
    expect(sh).toMatch(/^ExecStart=\/usr\/bin\/vps-provision run --yes --plain$/m)
    expect(sh).not.toContain('/usr/local/bin/vps-provision')
  })

  it('embeds a configuration file as written (comments kept) after validating it, root-only', async () => {
    const text = '# my workstation\nusername: alice\nrdp:\n  firewall: tunnel # SSH only\nides: [vscode]\n'
    const path = writeConfig('good.yaml', text)
    const r = await cli('--config', path, '--from-bundle', BUNDLE)
    expect(r.exitCode).toBe(0)
    const data = userData(r.stdout)
    const file = data.write_files.find((f) => f.path === '/etc/vps-provision/config.yaml')
    expect(file).toEqual({
      path: '/etc/vps-provision/config.yaml',
      owner: 'root:root',
      permissions: '0600',
      content: text,
    })
    // What lands on the server is exactly what was validated, and still valid.
    const cfg = validateConfig([parseConfigText(file?.content ?? '', 'embedded')])
    expect(cfg).toMatchObject({
      username: 'alice',
      ides: ['vscode'],
      rdp: { firewall: 'tunnel', port: 3389 },
    })
    expect(script(data)).toMatch(
      /^ExecStart=.* run --yes --plain --config \/etc\/vps-provision\/config\.yaml$/m,
    )
    expect(r.stdout).toContain('through an SSH tunnel as alice')
  })

  it('says the password is the configured one when the configuration gives a passwordHash', async () => {
    const hash = `$6$saltsalt$${'b'.repeat(86)}`
    const path = writeConfig('hash.yaml', `users:\n  - name: alice\n    passwordHash: '${hash}'\n`)
    const r = await cli('--config', path, '--from-bundle', BUNDLE)
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stdout).toContain(
      'as alice; the password\n# is the one the configuration gives (passwordHash or passwordFile).',
    )
    expect(r.stdout).not.toContain('is in /root/vps-provision-credentials')
  })

  it('embeds a JSON configuration too (YAML reads JSON)', async () => {
    const path = writeConfig('good.json', '{"username": "bob", "upgrade": true}')
    const r = await cli('--config', path, '--from-deb', DEB)
    expect(r.exitCode).toBe(0)
    const file = userData(r.stdout).write_files.find((f) => f.path === '/etc/vps-provision/config.yaml')
    expect(file?.content).toBe('{"username": "bob", "upgrade": true}\n')
  })

  it('refuses an invalid configuration with the same message as run, and prints no user-data', async () => {
    const path = writeConfig('bad.yaml', 'usrname: alice\nrdp:\n  port: 70000\n')
    const r = await cli('--config', path, '--from-bundle', BUNDLE)
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('Unable to use the configuration (2 problems)')
    expect(r.stderr).toContain('unknown key "usrname"')
    expect(r.stderr).toContain('rdp.port: expected a whole number from 1 to 65535, got 70000')
    expect(r.stderr).toContain('hint: ')
  })

  it('refuses a missing configuration file', async () => {
    const r = await cli('--config', join(dir, 'nope.yaml'), '--from-bundle', BUNDLE)
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stderr).toMatch(/^Unable to read the configuration file .*nope\.yaml: no such file\nhint: /)
  })

  it.each([
    [[], /no download URL for vps-provision.*\nhint: .*--from-bundle URL or --from-deb URL/s],
    [['--from-bundle', 'not a url'], /"not a url" is not a URL/],
    [['--from-bundle', 'ftp://files.example.com/x'], /is not an http\(s\) URL/],
    [['--from-bundle', 'http://10.0.2.2/vps-provision.mjs'], /plain http and no --sha256 pins/],
    [['--from-bundle', BUNDLE, '--sha256', 'abc'], /--sha256 expects 64 hex digits/],
    [['--from-bundle', BUNDLE, '--from-deb', DEB], /cannot be used with option/],
  ])('refuses %j with exit 5 and a hint', async (argv, message) => {
    const r = await cli(...argv)
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/^(Unable to|error:) .*\nhint: /s)
  })

  it('accepts plain http when a sha256 pins the download (a local mirror, a test VM)', async () => {
    const r = await cli('--from-bundle', 'http://10.0.2.2:8080/vps-provision.mjs', '--sha256', SHA)
    expect(r.exitCode).toBe(0)
    expect(script(userData(r.stdout))).toContain(`SHA256='${SHA}'`)
  })

  it('writes a first-boot script that sh accepts, with the URL as one quoted word', async () => {
    const url = "https://files.example.com/it's here/$(reboot)`id`.mjs"
    const r = await cli('--from-bundle', url)
    expect(r.exitCode).toBe(0)
    const sh = script(userData(r.stdout))
    const path = join(dir, 'first-boot.sh')
    writeFileSync(path, sh)
    execFileSync('sh', ['-n', path])
    // The assignment line alone, run by sh, gives back the URL (as the URL parser normalised it).
    const assignment = sh.split('\n').find((l) => l.startsWith('URL=')) ?? ''
    const echoed = execFileSync('sh', ['-c', `${assignment}\nprintf %s "$URL"`], { encoding: 'utf8' })
    expect(echoed).toBe(new URL(url).href)
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`)
  })

  it('warns when the user-data is over the 16 KiB AWS EC2 accepts', async () => {
    const path = writeConfig('big.yaml', `username: alice\n${'# padding\n'.repeat(1700)}`)
    const r = await cli('--config', path, '--from-bundle', BUNDLE)
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toMatch(/^warning: the user-data is \d+ bytes; AWS EC2 accepts at most 16384/)
  })

  it('prints exactly the user-data shown in docs/cloud-init.md', async () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/cloud-init.md'), 'utf8')
    const comment =
      /<!-- This block is checked[\s\S]*?for this config\.yaml:\n([\s\S]*?)-->\n\n```yaml\n([\s\S]*?)```/.exec(
        doc,
      )
    expect(comment, 'the checked block in docs/cloud-init.md').not.toBeNull()
    const [, configText, shown] = comment as RegExpExecArray
    const path = writeConfig('config.yaml', configText ?? '')
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'))
    const r = await runCli(
      [
        'cloud-init',
        '--config',
        path,
        '--from-deb',
        'https://files.example.com/vps-provision_0.1.0-1_all.deb',
      ],
      { ...deps(), version: pkg.version },
    )
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe(shown)
  })

  it('has examples in its --help', async () => {
    const r = await cli('--help')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('Examples:')
    expect(r.stdout).toContain('--from-bundle <url>')
  })
})
