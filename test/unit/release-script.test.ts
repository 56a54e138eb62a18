// scripts/release.mjs (`npm run release`) on this machine, with a throwaway key: it refuses without a
// key, and two releases into one directory give a repository apt would trust (InRelease verifies
// with the exported keyring, Release's sums match the indexes, Packages lists both versions with the
// sums of the pool's files) and SHA256SUMS that match and verify. Without apt-ftparchive, dpkg-deb or
// gpg it is skipped LOUDLY. The container proof (apt install, upgrade) is test/e2e/release-repo.test.ts.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const root = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
const NEXT = pkg.version.replace(/(\d+)$/, (n) => String(Number(n) + 1))
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
const missing = ['apt-ftparchive', 'dpkg-deb', 'gpg', 'gpgv'].filter((c) => !has(c))
if (missing.length > 0)
  console.warn(
    `SKIPPED: npm run release: ${missing.join(', ')} not installed (apt-get install apt-utils dpkg-dev gnupg gpgv)`,
  )

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe.skipIf(missing.length > 0)('npm run release', () => {
  const work = mkdtempSync('/var/tmp/vps-release-unit-')
  const gnupg = join(work, 'gnupg')
  const out = join(work, 'out')
  let fpr = ''
  const release = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(root, 'scripts/release.mjs'), '--out', out, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      timeout: 180_000,
    })

  beforeAll(() => {
    execFileSync('mkdir', ['-m', '700', gnupg])
    chmodSync(gnupg, 0o700)
    const gpg = (args: string[]) =>
      execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
        env: { ...process.env, GNUPGHOME: gnupg },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
    gpg([
      '--quick-gen-key',
      'vps-provision unit release <release@vps-provision.invalid>',
      'ed25519',
      'sign',
      '1d',
    ])
    fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-secret-keys']))?.[1] ?? ''
  }, 60_000)
  afterAll(() => {
    spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: gnupg } })
    rmSync(work, { recursive: true, force: true })
  })

  it('refuses without a key, and with a key that is not in the keyring, before building anything', () => {
    const bare = release([])
    expect(bare.status).toBe(1)
    expect(bare.stderr).toMatch(/^Unable to release: no signing key given/)
    expect(bare.stderr).toContain('hint: Pass --gpg-key-id')
    const wrong = release(['--gpg-key-id', 'DEADBEEF', '--gpg-home', gnupg])
    expect(wrong.status).toBe(1)
    expect(wrong.stderr).toContain(`Unable to release: no secret key DEADBEEF in ${gnupg}`)
    expect(spawnSync('test', ['-e', out]).status).toBe(1)
  })

  it('publishes two versions into one signed repository apt would trust', () => {
    for (const v of [pkg.version, NEXT]) {
      const r = release(['--gpg-key-id', fpr, ...(v === pkg.version ? [] : ['--version', v])], {
        RELEASE_GPG_HOME: gnupg,
      })
      expect(r.status, r.stderr).toBe(0)
    }
    const apt = join(out, 'apt')
    const dist = join(apt, 'dists/stable')
    const keyring = join(apt, 'vps-provision-archive-keyring.pgp')
    // What apt does with Signed-By: gpgv against that keyring alone.
    const inRelease = spawnSync('gpgv', ['--keyring', keyring, join(dist, 'InRelease')], { encoding: 'utf8' })
    expect(inRelease.status, inRelease.stderr).toBe(0)
    const detached = spawnSync('gpgv', [
      '--keyring',
      keyring,
      join(dist, 'Release.gpg'),
      join(dist, 'Release'),
    ])
    expect(detached.status).toBe(0)

    const releaseText = readFileSync(join(dist, 'Release'), 'utf8')
    expect(releaseText).toMatch(/^Suite: stable$/m)
    expect(releaseText).toMatch(/^Components: main$/m)
    expect(releaseText).toMatch(/^Architectures: amd64 arm64$/m)
    expect(releaseText).not.toMatch(/ Release$/m)
    for (const arch of ['amd64', 'arm64']) {
      for (const f of ['Packages', 'Packages.gz']) {
        const rel = `main/binary-${arch}/${f}`
        const bytes = readFileSync(join(dist, rel))
        expect(releaseText).toContain(` ${sha256(bytes)} ${String(bytes.length).padStart(16)} ${rel}`)
      }
    }
    const packages = gunzipSync(readFileSync(join(dist, 'main/binary-amd64/Packages.gz'))).toString('utf8')
    const stanzas = packages.trim().split('\n\n')
    expect(stanzas.map((s) => /^Version: (.*)$/m.exec(s)?.[1]).sort()).toEqual([
      `${pkg.version}-1`,
      `${NEXT}-1`,
    ])
    for (const s of stanzas) {
      const file = /^Filename: (.*)$/m.exec(s)?.[1] ?? ''
      expect(file).toMatch(/^pool\/main\/v\/vps-provision\/vps-provision_.*_all\.deb$/)
      expect(s).toContain(`SHA256: ${sha256(readFileSync(join(apt, file)))}`)
    }

    // This release's loose files: the sums match, and the signature verifies.
    const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' })
    expect(sums.status, sums.stdout).toBe(0)
    expect(sums.stdout).toContain(`vps-provision_${NEXT}-1_all.deb: OK`)
    expect(sums.stdout).toContain(`vps-provision-${NEXT}.mjs: OK`)
    const signed = spawnSync('gpgv', [
      '--keyring',
      keyring,
      join(out, 'SHA256SUMS.asc'),
      join(out, 'SHA256SUMS'),
    ])
    expect(signed.status).toBe(0)
    // The bumped bundle says the version it was built as.
    const v = spawnSync(process.execPath, [join(out, `vps-provision-${NEXT}.mjs`), '--version'], {
      encoding: 'utf8',
    })
    expect(v.stdout.trim()).toBe(NEXT)
  }, 300_000)
})

/** A GitHub Actions expression, as the workflow spells it. */
const expr = (inner: string) => `$${'{{'} ${inner} }}`

describe('the release workflow (.github/workflows/release.yml)', () => {
  const wf = parse(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8'))
  const steps: { name?: string; run?: string; uses?: string; env?: Record<string, string> }[] =
    wf.jobs.release.steps

  it('runs on version tags the same npm run release, with the key from the secrets only', () => {
    expect(wf.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+*'])
    const release = steps.find((s) => s.run?.startsWith('npm run release'))
    expect(release?.run).toBe('npm run release -- --out dist/release')
    expect(release?.env?.RELEASE_GPG_KEY_ID).toBe(expr('secrets.RELEASE_GPG_KEY_ID'))
    const imports = steps.find((s) => s.name === 'Import the signing key')
    expect(imports?.env?.RELEASE_GPG_PRIVATE_KEY).toBe(expr('secrets.RELEASE_GPG_PRIVATE_KEY'))
    // The secret reaches gpg through the environment and a pipe, never an argv or the log.
    expect(imports?.run).not.toContain(expr('').slice(0, 3))
    // The tag must be package.json's version before anything is built.
    const check = steps.findIndex((s) => s.name === "The tag is package.json's version")
    expect(check).toBeGreaterThan(-1)
    expect(check).toBeLessThan(steps.indexOf(release as (typeof steps)[number]))
  })
})
