// The bundle's first lines refuse a Node.js older than 20.19 in words (Debian 12 ships 18), before
// anything else runs. A preload shim makes this Node report another version; where the Debian 12
// lab root is present and we are root, its real Node 18 runs the bundle too.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pkg from '../../package.json' with { type: 'json' }

const work = mkdtempSync(join(tmpdir(), 'vps-node-guard-'))
const bundle = join(work, 'vps-provision.mjs')
const REFUSAL = /^Unable to start vps-provision: it needs Node\.js 20\.19 or newer \(this is v(\S+)\)\.\n/

beforeAll(() => {
  const r = spawnSync(process.execPath, ['scripts/build.mjs', '--outfile', bundle], { encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
}, 120_000)
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Runs the bundle on this Node, made to report `version` by a preload. */
function runAs(version: string, args: string[]) {
  const shim = join(work, `as-${version}.cjs`)
  writeFileSync(
    shim,
    `Object.defineProperty(process.versions, 'node', { value: '${version}' })\n` +
      `Object.defineProperty(process, 'version', { value: 'v${version}' })\n`,
  )
  return spawnSync(process.execPath, ['--require', shim, bundle, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  })
}

describe('the bundle on an old Node.js', () => {
  it('starts with the version check, right after the shebang', async () => {
    const { readFileSync } = await import('node:fs')
    const head = readFileSync(bundle, 'utf8').split('\n').slice(0, 4).join('\n')
    expect(head).toMatch(
      /^#!\/usr\/bin\/env -S node --max-semi-space-size=2\nimport \{ readFileSync as __vpsGuardRead \} from 'node:fs';\n;\(function \(\) \{\n/,
    )
  })

  it.each(['18.20.4', '20.18.3'])('refuses Node %s in words, with exit 1 and nothing else', (version) => {
    const r = runAs(version, ['run', '--yes'])
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(REFUSAL)
    expect(r.stderr).toContain(`(this is v${version})`)
    // What to do depends on the OS: Debian 13 needs its own nodejs, anything else Debian 13.
    expect(r.stderr).toMatch(
      /apt-get install nodejs\n$|\(required: ID=debian, VERSION_ID=13\): install Debian 13/,
    )
  })

  it.each(['20.19.0', '22.11.0'])('runs on Node %s', (version) => {
    const r = runAs(version, ['--version'])
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe(pkg.version)
    expect(r.status).toBe(0)
  })
})

const LAB_ROOT = '/var/tmp/vps-provision-lab/bookworm-minbase-32bfa754a93d'
const realNode18Skip =
  process.getuid?.() !== 0
    ? 'needs root to chroot into the Debian 12 lab root'
    : !existsSync(join(LAB_ROOT, 'usr/bin/node'))
      ? `no Debian 12 lab root with nodejs at ${LAB_ROOT}`
      : ''
if (realNode18Skip) console.warn(`SKIPPED: the bundle on Debian 12's real Node 18: ${realNode18Skip}`)

describe.skipIf(realNode18Skip !== '')("the bundle on Debian 12's own Node 18 (lab root, chroot)", () => {
  it('installed under its .mjs name (the command a symlink to it), it names Node 18 and the OS and exits 1', () => {
    const name = `vps-guard-${process.pid}`
    const real = join(LAB_ROOT, 'tmp', `${name}.mjs`)
    const link = join(LAB_ROOT, 'tmp', name)
    try {
      copyFileSync(bundle, real)
      spawnSync('chmod', ['0755', real])
      spawnSync('ln', ['-s', `/tmp/${name}.mjs`, link])
      const version = spawnSync('chroot', [LAB_ROOT, 'node', '--version'], { encoding: 'utf8' })
      expect(version.stdout).toMatch(/^v18\./)
      // No mounts: the bundle stops before it needs /proc or /dev.
      const r = spawnSync('chroot', [LAB_ROOT, `/tmp/${name}`, 'run', '--yes'], {
        encoding: 'utf8',
        timeout: 60_000,
      })
      expect(r.stderr).toMatch(REFUSAL)
      expect(r.stderr).toContain(`(this is ${version.stdout.trim()})`)
      // On Debian 12 the fix is the OS: said as preflight says it.
      expect(r.stderr).toMatch(/\(ID=debian, VERSION_ID=12\) \(required: ID=debian, VERSION_ID=13\)/)
      expect(r.status).toBe(1)
    } finally {
      rmSync(real, { force: true })
      rmSync(link, { force: true })
    }
  })
})
