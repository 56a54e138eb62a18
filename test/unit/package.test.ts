// Shipping: the npm package fields, the .deb's generated files (manual page, bash completion,
// example configuration) and the .deb itself, built with dpkg-deb and checked with dpkg-deb -f/-c
// and lintian. Without dpkg-deb or lintian those parts are skipped LOUDLY (console.warn).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bashCompletion,
  bundledPackages,
  cliProgram,
  manPage,
  parseChangelog,
} from '../../scripts/debian/assets.js'
import { EXAMPLES } from '../../src/cli/help.js'
import { parseConfigText, validateConfig } from '../../src/config/load.js'
import { defaultConfig } from '../../src/config/schema.js'
import { IDE_IDS, PHASE_NAMES } from '../../src/model/names.js'

const root = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const dir = mkdtempSync(join(tmpdir(), 'vps-package-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
function skipLoudly(what: string, missing: string): boolean {
  if (has(missing)) return false
  console.warn(
    `SKIPPED: ${what}: ${missing} is not installed (apt-get install ${missing === 'dpkg-deb' ? 'dpkg' : missing})`,
  )
  return true
}

describe('npm package', () => {
  it('installs the single-file bundle as the vps-provision command, built before packing', () => {
    expect(pkg.bin).toEqual({ 'vps-provision': 'dist/vps-provision.mjs' })
    // Only the bundle from dist/ (never a .deb or scratch files), and the docs.
    expect(pkg.files).toContain('dist/vps-provision.mjs')
    expect(pkg.files).not.toContain('dist')
    expect(pkg.scripts.prepack).toBe('npm run build')
    expect(pkg.scripts.package).toBe('node scripts/package-deb.mjs')
    expect(pkg.scripts['docs:config']).toBe('tsx scripts/gen-config-docs.ts')
  })
})

describe('the example configuration', () => {
  it('is valid against the schema and shows the defaults it claims to show', () => {
    const path = join(root, 'scripts/debian/config.yaml')
    const cfg = validateConfig([parseConfigText(readFileSync(path, 'utf8'), path)])
    expect(cfg).toEqual(defaultConfig())
  })
})

describe('manual page', () => {
  const page = manPage({ version: pkg.version, date: '2026-11-26' })

  it('documents every command, argument and flag the CLI accepts', () => {
    for (const cmd of cliProgram(pkg.version).commands) {
      expect(page).toContain(`\\fBvps\\-provision\\fR \\fB${cmd.name().replaceAll('-', '\\-')}\\fR`)
      for (const o of cmd.options.filter((o) => !o.hidden))
        expect(page, `${cmd.name()} ${o.long}`).toContain(`\\fB${o.long?.replaceAll('-', '\\-')}\\fR`)
    }
    for (const section of [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'COMMANDS',
      '"EXIT STATUS"',
      'ENVIRONMENT',
      'FILES',
    ])
      expect(page).toContain(`.SH ${section}\n`)
    expect(page).toContain('\\fB75\\fR')
    expect(page).toMatch(/^\.TH VPS\\-PROVISION 1 "2026-11-26" "vps\\-provision /)
  })

  it('shows examples for every command, as every --help does', () => {
    for (const cmd of cliProgram(pkg.version).commands) {
      expect(EXAMPLES[cmd.name()]?.length, cmd.name()).toBeGreaterThan(0)
      for (const example of EXAMPLES[cmd.name()] ?? []) expect(page).toContain(example.replaceAll('-', '\\-'))
    }
  })

  it('has no line that roff would read as a request by accident, and only ASCII', () => {
    const requests = page.split('\n').filter((l) => /^[.']/.test(l))
    for (const l of requests) expect(l).toMatch(/^\.(TH|SH|SS|TP|PP|RS|RE|nf|fi|br|nh|ad) ?/)
    expect(page).toMatch(/^[\x20-\x7e\n]*$/)
  })

  it.skipIf(skipLoudly('groff check of the manual page', 'groff'))(
    'renders without a single groff warning',
    () => {
      const r = spawnSync('groff', ['-man', '-ww', '-z', '-Tutf8'], { input: page, encoding: 'utf8' })
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    },
  )
})

describe('bash completion', () => {
  const script = join(dir, 'completion.bash')
  beforeAll(() => writeFileSync(script, bashCompletion(pkg.version)))
  /** What bash offers after the given words (the last one is being completed). */
  const complete = (...words: string[]) => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _vps_provision; printf '%s\\n' "\${COMPREPLY[@]}"`,
        script,
        'vps-provision',
        ...words,
      ],
      { encoding: 'utf8' },
    )
    expect(r.stderr).toBe('')
    return r.stdout.split('\n').filter(Boolean)
  }

  it('is valid bash', () => {
    execFileSync('bash', ['-n', script])
  })

  it('completes commands, flags, phase and IDE names, choices and sessions', () => {
    expect(complete('')).toEqual(expect.arrayContaining(['run', 'plan', 'rollback', 'cloud-init', 'help']))
    expect(complete('ro')).toEqual(['rollback'])
    expect(complete('run', '--rdp-f')).toEqual(['--rdp-firewall'])
    expect(complete('cloud-init', '--from')).toEqual(['--from-bundle', '--from-deb'])
    expect(complete('run', '--ides', '')).toEqual([...IDE_IDS])
    expect(complete('run', '--ides', 'vscode,cu')).toEqual(['vscode,cursor'])
    expect(complete('plan', '--skip', '')).toEqual([...PHASE_NAMES])
    expect(complete('rollback', '--to', 'ide')).toEqual(['ide-installations'])
    expect(complete('run', '--rdp-firewall', '')).toEqual(['open', 'tunnel'])
    expect(complete('run', '--rdp-firewall=t')).toEqual(['tunnel'])
    expect(complete('run', '--rdp-firewall', '=', 't')).toEqual(['tunnel'])
    expect(complete('rollback', '')).toContain('latest')
    expect(complete('rollback', '--to', 'verification', '')).toContain('latest')
    // One session per command: nothing after it.
    expect(complete('rollback', 'latest', '')).toEqual([])
    expect(complete('help', 'cl')).toEqual(['cloud-init'])
    expect(complete('run', '--username', '')).toEqual([])
  })
})

describe('changelog', () => {
  it("is for package.json's version", () => {
    const entry = parseChangelog(readFileSync(join(root, 'scripts/debian/changelog'), 'utf8'))
    expect(entry.source).toBe('vps-provision')
    expect(entry.version.replace(/-[^-]+$/, '')).toBe(pkg.version)
  })
})

describe.skipIf(skipLoudly('building the .deb', 'dpkg-deb'))('the .deb', () => {
  let deb = ''
  const dpkgDeb = (...args: string[]) => execFileSync('dpkg-deb', args, { encoding: 'utf8' })

  beforeAll(() => {
    deb = execFileSync(process.execPath, [join(root, 'scripts/package-deb.mjs'), '--out', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim()
  }, 180_000)

  it('is named and labelled as the package it is', () => {
    expect(deb).toBe(join(dir, `vps-provision_${pkg.version}-1_all.deb`))
    const field = (name: string) => dpkgDeb('-f', deb, name).trim()
    expect(field('Package')).toBe('vps-provision')
    expect(field('Version')).toBe(`${pkg.version}-1`)
    expect(field('Architecture')).toBe('all')
    expect(field('Depends')).toBe('nodejs (>= 20.19)')
    expect(field('Section')).toBe('admin')
    expect(field('Maintainer')).toMatch(/^.+ <[^@\s]+@[^>\s]+>$/)
    expect(Number(field('Installed-Size'))).toBeGreaterThan(1000)
  })

  it('installs exactly these files, owned by root, with these modes', () => {
    const rows = dpkgDeb('-c', deb)
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/))
      .map((f) => ({ mode: f[0], owner: f[1], path: (f[5] ?? '').replace(/^\./, '') }))
    const files = rows.filter((r) => !r.mode?.startsWith('d'))
    const doc = '/usr/share/doc/vps-provision'
    const docs = ['README.md', 'configuration.md', 'quickstart.md', 'recovery.md', 'troubleshooting.md']
    expect(files.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        '/usr/bin/vps-provision',
        '/usr/share/man/man1/vps-provision.1.gz',
        '/usr/share/bash-completion/completions/vps-provision',
        `${doc}/examples/config.yaml`,
        `${doc}/copyright`,
        `${doc}/changelog.Debian.gz`,
        ...docs.map((d) => `${doc}/${d}.gz`),
      ]),
    )
    expect(files.every((f) => f.path.startsWith('/usr/'))).toBe(true)
    for (const r of rows) expect(r.owner, r.path).toBe('root/root')
    for (const f of files)
      expect(f.mode, f.path).toBe(f.path === '/usr/bin/vps-provision' ? '-rwxr-xr-x' : '-rw-r--r--')
    for (const d of rows.filter((r) => r.mode?.startsWith('d'))) expect(d.mode, d.path).toBe('drwxr-xr-x')
  })

  it('holds a bundle that runs on this node without node_modules, and a copyright for all it contains', () => {
    const tree = join(dir, 'tree')
    dpkgDeb('-x', deb, tree)
    const bin = join(tree, 'usr/bin/vps-provision')
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/node --max-semi-space-size=2\n')).toBe(true)
    // Extension-less, so node >= 20.19 detects it as an ES module: what Depends promises.
    const version = execFileSync(process.execPath, [bin, '--version'], { cwd: tree, encoding: 'utf8' })
    expect(version.trim()).toBe(pkg.version)
    const copyright = readFileSync(join(tree, 'usr/share/doc/vps-provision/copyright'), 'utf8')
    const bundled = bundledPackages(readFileSync(bin, 'utf8'))
    expect(bundled).toEqual(expect.arrayContaining(['commander', 'yaml', 'zod']))
    for (const name of bundled) expect(copyright).toContain(`Files: node_modules/${name}/*`)
  })

  it.skipIf(skipLoudly('lintian check of the .deb', 'lintian'))(
    'passes lintian with no errors',
    () => {
      const r = spawnSync('lintian', ['--fail-on', 'error', deb], { encoding: 'utf8' })
      const errors = r.stdout.split('\n').filter((l) => l.startsWith('E:'))
      expect(errors).toEqual([])
      expect(r.status).toBe(0)
    },
    180_000,
  )
})
