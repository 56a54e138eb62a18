// `npm run release`: everything a team publishes, in one directory (docs/install.md, "Your own apt
// repository"):
//   vps-provision-<version>.mjs       the single-file bundle
//   vps-provision_<version>-1_all.deb the Debian package
//   SHA256SUMS, SHA256SUMS.asc        their sums, and the sums signed with the release key
//   apt/                              a signed apt repository to copy to any web server:
//     pool/main/v/vps-provision/*.deb     every version published into this directory so far
//     dists/stable/{Release,InRelease,Release.gpg}, main/binary-{amd64,arm64}/Packages{,.gz}
//     vps-provision-archive-keyring.pgp   the public key a VPS names in Signed-By
//
//   node scripts/release.mjs --gpg-key-id ID [--gpg-home DIR] [--out DIR] [--version X]
//
// The key: --gpg-key-id (or RELEASE_GPG_KEY_ID), a secret key in --gpg-home (or RELEASE_GPG_HOME,
// or GNUPGHOME, or ~/.gnupg; a passphrase in RELEASE_GPG_PASSPHRASE_FILE). Without one it refuses before building anything: an unsigned
// repository is one no VPS should trust. --out (default dist/release) may hold an earlier release:
// its pool is kept, so publishing 0.2.0 into 0.1.0's directory gives a repository with both, from
// which `apt upgrade` moves a VPS forward. --version X builds X without editing package.json (the
// version bump of a test or a CI tag); the default is package.json's.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const SUITE = 'stable'
const COMPONENT = 'main'
const ARCHES = ['amd64', 'arm64']
const USAGE =
  'usage: npm run release -- --gpg-key-id ID [--gpg-home DIR] [--out DIR] [--version X]\n' +
  '(or RELEASE_GPG_KEY_ID, RELEASE_GPG_HOME in the environment)'

function fail(message, hint) {
  process.stderr.write(`${message}\n${hint ? `hint: ${hint}\n` : ''}`)
  process.exit(1)
}

function flag(name) {
  const at = process.argv.indexOf(name)
  if (at < 0) return undefined
  const value = process.argv[at + 1]
  if (!value || value.startsWith('--')) fail(`Unable to release: ${name} needs a value`, USAGE)
  return value
}

if (process.argv.includes('--help')) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const version = flag('--version') ?? pkg.version
const out = resolve(flag('--out') ?? join(root, 'dist/release'))
const keyId = flag('--gpg-key-id') ?? process.env.RELEASE_GPG_KEY_ID
const gpgHome = flag('--gpg-home') ?? process.env.RELEASE_GPG_HOME ?? process.env.GNUPGHOME
if (!/^\d+\.\d+\.\d+([-+~][0-9A-Za-z.+~-]+)?$/.test(version))
  fail(`Unable to release version ${version}: not a version such as 1.2.3 or 1.2.3+rc1`)
if (!keyId)
  fail(
    'Unable to release: no signing key given (an unsigned apt repository is one no VPS should trust)',
    `Pass --gpg-key-id ID of a secret key in your keyring (--gpg-home DIR for another GNUPGHOME). ${USAGE}`,
  )

const env = { ...process.env, ...(gpgHome ? { GNUPGHOME: resolve(gpgHome) } : {}), LC_ALL: 'C' }
const sh = (argv, opts = {}) =>
  execFileSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], ...opts })
// A key with a passphrase: RELEASE_GPG_PASSPHRASE_FILE (CI), or gpg-agent's own pinentry asks.
const passphraseFile = process.env.RELEASE_GPG_PASSPHRASE_FILE
const unlock = passphraseFile ? ['--pinentry-mode', 'loopback', '--passphrase-file', passphraseFile] : []
const gpg = (args, opts) => sh(['gpg', '--batch', '--yes', ...unlock, ...args], opts)
/** An ASCII-armored detached signature of `file`, by the release key. */
const detachSign = (file, signature) =>
  gpg(['--local-user', keyId, '--armor', '--detach-sign', '--output', signature, file])

// Before any build: the key must be there, secret part included, and able to sign.
try {
  gpg(['--list-secret-keys', '--', keyId])
} catch {
  fail(
    `Unable to release: no secret key ${keyId} in ${gpgHome ?? '~/.gnupg'}`,
    'Import it first (gpg --import private.asc), or name the keyring with --gpg-home DIR',
  )
}
for (const tool of ['apt-ftparchive', 'dpkg-deb']) {
  try {
    sh(['sh', '-c', `command -v ${tool}`])
  } catch {
    fail(`Unable to release: ${tool} is not installed`, 'apt-get install apt-utils dpkg-dev')
  }
}

mkdirSync(out, { recursive: true })
const say = (line) => process.stdout.write(`${line}\n`)
const versionArgs = version === pkg.version ? [] : ['--version', version]

// 1. The bundle and the .deb, built as `version`.
const bundle = join(out, `vps-provision-${version}.mjs`)
sh([process.execPath, join(root, 'scripts/build.mjs'), '--outfile', bundle, ...versionArgs], {
  stdio: ['ignore', 'inherit', 'inherit'],
})
const debPath = sh([process.execPath, join(root, 'scripts/package-deb.mjs'), '--out', out, ...versionArgs])
  .toString()
  .trim()
  .split('\n')
  .at(-1)
if (!debPath || !existsSync(debPath)) fail(`Unable to release: the .deb build named no file (${debPath})`)
const deb = debPath.slice(out.length + 1)
say(`built ${bundle}\nbuilt ${debPath}`)

// 2. SHA256SUMS over this version's files, and its detached signature.
const sum = (file) => createHash('sha256').update(readFileSync(file)).digest('hex')
const sums = [bundle, debPath].map((f) => `${sum(f)}  ${f.slice(out.length + 1)}\n`).join('')
writeFileSync(join(out, 'SHA256SUMS'), sums)
detachSign(join(out, 'SHA256SUMS'), join(out, 'SHA256SUMS.asc'))

// 3. The apt repository: the new .deb joins the pool (earlier ones stay), then indexes and Release.
const apt = join(out, 'apt')
const pool = join(apt, 'pool', COMPONENT, 'v', pkg.name)
mkdirSync(pool, { recursive: true })
copyFileSync(debPath, join(pool, deb))
const dist = join(apt, 'dists', SUITE)
// apt-ftparchive writes Filename: relative to where it runs: the repository's root.
const packages = sh(['apt-ftparchive', 'packages', `pool/${COMPONENT}`], { cwd: apt })
for (const arch of ARCHES) {
  // An Architecture: all package is listed for every architecture, as Debian's own archive does.
  const dir = join(dist, COMPONENT, `binary-${arch}`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'Packages'), packages)
  writeFileSync(join(dir, 'Packages.gz'), gzipSync(packages, { level: 9 }))
}
const conf = (k, v) => ['-o', `APT::FTPArchive::Release::${k}=${v}`]
// The previous release's files would be listed as parts of this one: gone first.
for (const f of ['Release', 'InRelease', 'Release.gpg']) rmSync(join(dist, f), { force: true })
const release = sh(
  [
    'apt-ftparchive',
    // SHA256 and SHA512 only: apt ignores the weak sums, and no reader here needs them.
    ...['-o', 'APT::FTPArchive::MD5=false', '-o', 'APT::FTPArchive::SHA1=false'],
    ...conf('Origin', 'vps-provision'),
    ...conf('Label', 'vps-provision'),
    ...conf('Suite', SUITE),
    ...conf('Codename', SUITE),
    ...conf('Components', COMPONENT),
    ...conf('Architectures', ARCHES.join(' ')),
    ...conf('Description', 'vps-provision releases'),
    'release',
    '.',
  ],
  { cwd: dist },
)
// Written beside, then renamed: a Release in the tree while apt-ftparchive runs would list itself.
writeFileSync(join(dist, 'Release.new'), release)
renameSync(join(dist, 'Release.new'), join(dist, 'Release'))
gpg(['--local-user', keyId, '--clearsign', '--output', join(dist, 'InRelease'), join(dist, 'Release')])
detachSign(join(dist, 'Release'), join(dist, 'Release.gpg'))
// The public key in the binary form apt's Signed-By reads (gpgv), and armored for people.
writeFileSync(join(apt, 'vps-provision-archive-keyring.pgp'), gpg(['--export', '--', keyId]))
writeFileSync(join(apt, 'vps-provision-archive-keyring.asc'), gpg(['--export', '--armor', '--', keyId]))

const versions = readdirSync(pool).filter((f) => f.endsWith('.deb'))
say(`apt repository ${apt}: ${SUITE}/${COMPONENT} with ${versions.join(', ')}, signed by ${keyId}`)
say('serve that directory over HTTP(S); docs/install.md says how a VPS trusts it')
