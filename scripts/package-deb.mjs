// Builds dist/vps-provision_<version>_all.deb with dpkg-deb: the bundle as /usr/bin/vps-provision,
// a manual page, bash completion, an example configuration, the docs, copyright and changelog.
// Reproducible: every timestamp is the changelog's date (SOURCE_DATE_EPOCH), owners are root.
//   node scripts/package-deb.mjs [--out DIR] [--version X]      (npm run package)
// --version X packages version X without touching package.json or the changelog in git (the
// release script's version bump): the package's changelog then starts with a generated entry for
// X, dated SOURCE_DATE_EPOCH (or now).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { tsImport } from 'tsx/esm/api'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const at = process.argv.indexOf('--out')
const outDir = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, 'dist')

const assets = await tsImport('./debian/assets.ts', import.meta.url)
const vat = process.argv.indexOf('--version')
const override = vat > 0 ? process.argv[vat + 1] : undefined
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
if (override) pkg.version = override
let changelogText = readFileSync(join(root, 'scripts/debian/changelog'), 'utf8')
const committed = assets.parseChangelog(changelogText)
if (override && committed.version.replace(/-[^-]+$/, '') !== override) {
  const when = process.env.SOURCE_DATE_EPOCH
    ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000)
    : new Date()
  changelogText = `${pkg.name} (${override}-1) unstable; urgency=medium\n\n  * Release ${override}, built from the sources of ${committed.version}.\n\n -- ${committed.maintainer}  ${when.toUTCString().replace('GMT', '+0000')}\n\n${changelogText}`
}
const entry = assets.parseChangelog(changelogText)
const upstream = entry.version.replace(/-[^-]+$/, '')
if (entry.source !== pkg.name || upstream !== pkg.version) {
  throw new Error(
    `scripts/debian/changelog says ${entry.source} ${entry.version}, package.json ${pkg.name} ${pkg.version}: ` +
      'add a changelog entry for this version first',
  )
}
const epoch = Math.floor(entry.date.getTime() / 1000)

const stage = mkdtempSync(join(tmpdir(), 'vps-provision-deb-'))
try {
  const put = (path, content, mode = 0o644) => {
    const full = join(stage, path)
    mkdirSync(dirname(full), { recursive: true })
    writeFileSync(full, content)
    chmodSync(full, mode)
  }
  const gz = (text) => gzipSync(Buffer.from(text), { level: 9 })
  const doc = 'usr/share/doc/vps-provision'

  // The bundle, built straight into the tree. Debian's nodejs is /usr/bin/node: no env lookup for
  // a program root runs.
  const bin = join(stage, 'usr/bin/vps-provision')
  const versionArgs = override ? ['--version', override] : []
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--outfile', bin, ...versionArgs], {
    stdio: 'inherit',
  })
  const bundle = readFileSync(bin, 'utf8')
  const shebang = /^#!\/usr\/bin\/env -S node( --max-semi-space-size=\d+)\n/
  const flags = shebang.exec(bundle)?.[1]
  if (flags === undefined) throw new Error(`the bundle does not start with ${shebang}`)
  // One argument after the interpreter is what a shebang may carry without env -S.
  put('usr/bin/vps-provision', bundle.replace(shebang, `#!/usr/bin/node${flags}\n`), 0o755)

  const date = entry.date.toISOString().slice(0, 10)
  put('usr/share/man/man1/vps-provision.1.gz', gz(assets.manPage({ version: pkg.version, date })))
  put('usr/share/bash-completion/completions/vps-provision', assets.bashCompletion(pkg.version))
  put(`${doc}/examples/config.yaml`, readFileSync(join(root, 'scripts/debian/config.yaml')))
  put(`${doc}/changelog.Debian.gz`, gz(changelogText))
  put(
    `${doc}/copyright`,
    assets.copyright({
      bundle,
      nodeModules: join(root, 'node_modules'),
      year: String(entry.date.getUTCFullYear()),
      holder: entry.maintainer.replace(/ <.*/, ''),
    }),
  )
  put(`${doc}/README.md.gz`, gz(readFileSync(join(root, 'README.md'), 'utf8')))
  for (const name of readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'))) {
    put(`${doc}/${name}.gz`, gz(readFileSync(join(root, 'docs', name), 'utf8')))
  }

  const files = walk(stage)
  const installedKiB = files.reduce((sum, f) => sum + Math.ceil(statSync(f).size / 1024), 0)
  put(
    'DEBIAN/md5sums',
    files
      .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(stage, f)}\n`)
      .join(''),
  )
  put(
    'DEBIAN/control',
    [
      `Package: ${pkg.name}`,
      `Version: ${entry.version}`,
      'Architecture: all',
      `Maintainer: ${entry.maintainer}`,
      `Installed-Size: ${installedKiB}`,
      // 20.19: the first 20.x that runs an extension-less ES module (syntax detection); trixie has it.
      'Depends: nodejs (>= 20.19)',
      'Section: admin',
      'Priority: optional',
      'Description: provision a Debian 13 server as a remote developer workstation',
      ' vps-provision turns a fresh Debian 13 (trixie) server into a remote developer',
      ' workstation in one idempotent, resumable and reversible run: Xfce over RDP',
      ' (xrdp), VS Code, Cursor and Antigravity, a developer account with sudo, a',
      ' firewall and a sensible terminal.',
      ' .',
      ' Every change is journaled with its undo before it is made: an interrupted',
      ' run resumes where it stopped, "vps-provision rollback" undoes a session, and',
      ' "vps-provision plan" shows what would change, with file diffs.',
      '',
    ].join('\n'),
  )

  // Directories 0755, files as put; every timestamp the changelog's, for a reproducible package.
  for (const path of [...walk(stage, true), stage]) {
    if (statSync(path).isDirectory()) chmodSync(path, 0o755)
    utimesSync(path, epoch, epoch)
  }
  mkdirSync(outDir, { recursive: true })
  const deb = join(outDir, `${pkg.name}_${entry.version}_all.deb`)
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
  })
  process.stdout.write(`${deb}\n`)
} finally {
  rmSync(stage, { recursive: true, force: true })
}

/** Every file under dir (and with dirs=true, every directory too), sorted. */
function walk(dir, dirs = false) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name)
    if (e.isDirectory()) {
      if (dirs) out.push(full)
      out.push(...walk(full, dirs))
    } else out.push(full)
  }
  return out.sort()
}
