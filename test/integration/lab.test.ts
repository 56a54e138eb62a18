// Proves the test lab itself on the real thing: a debootstrapped trixie root, chroot mounts that
// always go away, the stand-in IDEs in a gpg-signed apt repository that trixie's apt (sqv) accepts,
// served from 127.0.0.1 and reached from inside the chroot.
//
//   npx vitest run test/integration/lab.test.ts --testTimeout=600000
//
// The chroot part needs root and debootstrap; without them it is skipped LOUDLY (console.warn).

import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { POLICY_RC_D, withChroot } from '../lab/chroot.js'
import { listMountPoints, mountsUnder, processesRootedIn, removeTree } from '../lab/mounts.js'
import { CLEAN_PATH, hostHas, run } from '../lab/proc.js'
import { type ServedDir, serveDir } from '../lab/serve.js'
import {
  buildStandIns,
  DEB_ARCHES,
  exitStubElf,
  IDES,
  KEYRING_HEREDOC,
  type StandIns,
  sha256File,
  standInSources,
  standInToolsMissing,
  TARBALL_TOP,
  VENDOR_REPOS,
  validateDesktopFile,
  vendorSourcesText,
} from '../lab/stand-ins.js'
import {
  acquireLock,
  cleanStaleBuilds,
  cloneRoot,
  DEFAULT_CACHE_DIR,
  ensureTrixieRoot,
  hostDebianMirror,
  LAB_INCLUDE,
  parseDeb822Sources,
  parseOneLineSources,
  readStamp,
  removeRoot,
  rootCacheKey,
} from '../lab/trixie-root.js'

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

const standInsMissing = await standInToolsMissing()
const standInsSkip = standInsMissing.length > 0 ? `missing host tools: ${standInsMissing.join(', ')}` : ''

const chrootTools = ['debootstrap', 'chroot', 'mount', 'umount', 'cp']
const chrootMissing: string[] = []
for (const t of chrootTools) if (!(await hostHas(t))) chrootMissing.push(t)
const chrootSkip =
  process.getuid?.() !== 0
    ? 'not running as root (chroot, mount and debootstrap need root)'
    : chrootMissing.length > 0
      ? `missing host tools: ${chrootMissing.join(', ')}`
      : standInsSkip

const hasDesktopValidate = await hostHas('desktop-file-validate')
const hasFile = await hostHas('file')

for (const [what, why] of [
  ['stand-in build tests', standInsSkip],
  ['desktop-file-validate test', hasDesktopValidate ? '' : 'missing host tool: desktop-file-validate'],
  ['`file` checks of the stand-in ELFs', hasFile ? '' : 'missing host tool: file'],
  ['trixie chroot tests', chrootSkip],
] as const) {
  if (why) {
    console.warn(
      `\n!!! SKIPPING lab ${what}: ${why}.\n!!! Run as root after \`bash scripts/install-host-tools.sh\`.\n`,
    )
  }
}

// ---------------------------------------------------------------------------------------------

describe('lab: serveDir', () => {
  let dir: string
  let srv: ServedDir
  const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251))

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lab-serve-'))
    await mkdir(path.join(dir, 'sub'))
    await writeFile(path.join(dir, 'sub', 'file.bin'), body)
    await symlink('/etc/hostname', path.join(dir, 'escape'))
    srv = await serveDir(dir)
  })
  afterAll(async () => {
    await srv?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('listens on loopback only and serves files with length, ETag and Accept-Ranges', async () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    await expect(serveDir(dir, { host: '0.0.0.0' })).rejects.toThrow(/loopback only/)
    const r = await fetch(`${srv.url}/sub/file.bin`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-length')).toBe('10000')
    expect(r.headers.get('accept-ranges')).toBe('bytes')
    expect(Buffer.from(await r.arrayBuffer()).equals(body)).toBe(true)
    const head = await fetch(`${srv.url}/sub/file.bin`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('10000')
    const etag = r.headers.get('etag') ?? ''
    const cond = await fetch(`${srv.url}/sub/file.bin`, { headers: { 'If-None-Match': etag } })
    expect(cond.status).toBe(304)
  })

  it('answers byte ranges with 206 and impossible ones with 416', async () => {
    const mid = await fetch(`${srv.url}/sub/file.bin`, { headers: { Range: 'bytes=100-199' } })
    expect(mid.status).toBe(206)
    expect(mid.headers.get('content-range')).toBe('bytes 100-199/10000')
    expect(Buffer.from(await mid.arrayBuffer()).equals(body.subarray(100, 200))).toBe(true)
    const open = await fetch(`${srv.url}/sub/file.bin`, { headers: { Range: 'bytes=9990-' } })
    expect(open.status).toBe(206)
    expect(Buffer.from(await open.arrayBuffer()).equals(body.subarray(9990))).toBe(true)
    const suffix = await fetch(`${srv.url}/sub/file.bin`, { headers: { Range: 'bytes=-10' } })
    expect(Buffer.from(await suffix.arrayBuffer()).equals(body.subarray(9990))).toBe(true)
    const bad = await fetch(`${srv.url}/sub/file.bin`, { headers: { Range: 'bytes=20000-' } })
    expect(bad.status).toBe(416)
    expect(bad.headers.get('content-range')).toBe('bytes */10000')
    const stale = await fetch(`${srv.url}/sub/file.bin`, {
      headers: { Range: 'bytes=5-', 'If-Range': '"old"' },
    })
    expect(stale.status).toBe(200)
  })

  it('never serves outside its directory', async () => {
    expect((await fetch(`${srv.url}/escape`)).status).toBe(404)
    expect((await fetch(`${srv.url}/nope`)).status).toBe(404)
    expect((await fetch(`${srv.url}/sub`)).status).toBe(404)
    const raw = await new Promise<number>((resolve, reject) => {
      const req = request(`${srv.url}/sub/..%2f..%2f..%2fetc%2fpasswd`, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
    expect(raw).toBe(400)
  })

  it('injects failures: status codes, resets, and truncated bodies that a Range request resumes', async () => {
    const url = `${srv.url}/sub/file.bin`
    srv.failNext('sub/file.bin', 503, 2)
    expect((await fetch(url)).status).toBe(503)
    expect((await fetch(url)).status).toBe(503)
    expect((await fetch(url)).status).toBe(200)

    srv.failNext('/sub/file.bin', { kind: 'reset' })
    await expect(fetch(url)).rejects.toThrow()

    srv.failNext('/sub/file.bin', { kind: 'truncate', afterBytes: 4_000 })
    const cut = await fetch(url)
    expect(cut.status).toBe(200)
    const got: Buffer[] = []
    const reader = cut.body?.getReader()
    let failed = false
    try {
      for (;;) {
        const { done, value } = (await reader?.read()) ?? { done: true, value: undefined }
        if (done) break
        got.push(Buffer.from(value))
      }
    } catch {
      failed = true
    }
    const partial = Buffer.concat(got)
    expect(failed).toBe(true)
    expect(partial.length).toBe(4_000)
    const rest = await fetch(url, { headers: { Range: `bytes=${partial.length}-` } })
    expect(rest.status).toBe(206)
    const whole = Buffer.concat([partial, Buffer.from(await rest.arrayBuffer())])
    expect(sha256(whole)).toBe(sha256(body))

    srv.failNext('/sub/file.bin', { kind: 'delay', ms: 300 })
    const t = Date.now()
    expect((await fetch(url)).status).toBe(200)
    expect(Date.now() - t).toBeGreaterThanOrEqual(250)

    const log = srv.requestsFor('/sub/file.bin')
    expect(log.filter((e) => e.fault === 'status').map((e) => e.status)).toEqual([503, 503])
    expect(log.some((e) => e.fault === 'truncate' && e.bytes === 4_000)).toBe(true)
    expect(log.some((e) => e.range === 'bytes=4000-' && e.status === 206)).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------

describe('lab: cache bookkeeping', () => {
  it('reads the Debian mirror from deb822 and one-line sources', async () => {
    const deb822 = [
      'Types: deb',
      '# http://snapshot.example/archive',
      'URIs: http://deb.debian.org/debian',
      'Suites: trixie trixie-updates',
      'Components: main',
      '',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: trixie-security',
      '',
      'Types: deb-src',
      'URIs: http://src.example/debian',
      'Suites: trixie',
    ].join('\n')
    expect(parseDeb822Sources(deb822)).toEqual([
      { uri: 'http://deb.debian.org/debian', suites: ['trixie', 'trixie-updates'] },
      { uri: 'http://deb.debian.org/debian-security', suites: ['trixie-security'] },
    ])
    expect(
      parseOneLineSources(
        'deb [signed-by=/k.gpg] http://m.example/debian trixie main # x\n#deb http://no trixie',
      ),
    ).toEqual([{ uri: 'http://m.example/debian', suites: ['trixie'] }])
    expect(await hostDebianMirror()).toMatch(/^https?:\/\/\S+[^/]$/)
  })

  it('keys the cache on the include set, not its order', () => {
    const k = { suite: 'trixie', mirror: 'http://m/debian', arch: 'amd64' }
    expect(rootCacheKey({ ...k, include: ['nodejs', 'ca-certificates'] })).toBe(
      rootCacheKey({ ...k, include: ['ca-certificates', 'nodejs', 'nodejs'] }),
    )
    expect(rootCacheKey({ ...k, include: ['nodejs'] })).not.toBe(
      rootCacheKey({ ...k, include: ['nodejs', 'gpg'] }),
    )
  })

  it('takes over a lock whose owner died and waits for a live one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lab-lock-'))
    try {
      const file = path.join(dir, 'x.lock')
      const dead = spawnSync('true').pid
      await writeFile(file, `${dead}\n`)
      const release = await acquireLock(file, 5_000)
      expect((await readFile(file, 'utf8')).trim()).toBe(String(process.pid))
      await release()
      await writeFile(file, `${process.ppid}\n`) // alive, and not us
      await expect(acquireLock(file, 1_200)).rejects.toThrow(/timed out waiting/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses to delete / or shallow system paths', async () => {
    for (const p of ['/', '/var', '/usr/lib', '/etc', 'relative/path']) {
      await expect(removeTree(p)).rejects.toThrow(/refusing|absolute/)
    }
  })
})

// ---------------------------------------------------------------------------------------------

describe.skipIf(standInsSkip !== '')('lab: stand-ins', () => {
  let out: string
  let s: StandIns

  beforeAll(async () => {
    out = await mkdtemp(path.join(tmpdir(), 'lab-standins-'))
    s = await buildStandIns(path.join(out, 'a'))
  })
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true })
  })

  it('builds the three .debs for amd64 and arm64 with the promised names, versions and files', async () => {
    expect(s.repo.architectures).toEqual(['amd64', 'arm64'])
    expect(s.byArch[s.arch].files.codeDeb).toBe(s.files.codeDeb)
    expect(s.byArch[s.arch].sha256.cursorDeb).toBe(s.sha256.cursorDeb)
    for (const arch of DEB_ARCHES) {
      const a = s.byArch[arch]
      for (const [file, pkg] of [
        [a.files.codeDeb, 'code'],
        [a.files.cursorDeb, 'cursor'],
        [a.files.antigravityDeb, 'antigravity'],
      ] as const) {
        const f = await run(['dpkg-deb', '-f', file, 'Package', 'Version', 'Architecture', 'Depends'])
        expect(f.stdout).toContain(`Package: ${pkg}`)
        expect(f.stdout).toContain(`Version: ${IDES[pkg].debVersion}`)
        expect(f.stdout).toContain(`Architecture: ${arch}`)
        expect(f.stdout).not.toContain('Depends')
        const c = await run(['dpkg-deb', '-c', file])
        expect(c.stdout).toContain(`./usr/share/${pkg}/${pkg}\n`)
        expect(c.stdout).toContain(`./usr/share/${pkg}/resources/app/standin.sh`)
        expect(c.stdout).toContain(`./usr/share/${pkg}/bin/${pkg}`)
        expect(c.stdout).toContain(`./usr/share/applications/${pkg}.desktop`)
        // like the vendors': the postinst makes /usr/bin/<cmd>, the package does not ship it
        expect(c.stdout).not.toContain('./usr/bin/')
        expect(c.stdout).toMatch(/root\/root/)
        const info = await run(['dpkg-deb', '--info', file])
        for (const script of ['postinst', 'prerm', 'postrm'])
          expect(info.stdout).toMatch(new RegExp(` ${script}\\s`))
        if (pkg === 'antigravity') expect(info.stdout).not.toMatch(/ templates\s/)
        else expect(info.stdout).toMatch(/ templates\s/)
        expect(info.stdout).not.toMatch(/ config\s/) // like VS Code's: no DEBIAN/config
      }
      expect(path.basename(a.files.cursorDeb)).toBe(`cursor_0.50.0_${arch}.deb`)
      expect(a.urlPaths.tarball).toBe(
        `antigravity/stable/1.0.0-standin/${arch === 'amd64' ? 'linux-x64' : 'linux-arm'}/Antigravity.tar.gz`,
      )
      for (const k of Object.keys(a.files) as (keyof typeof a.files)[]) {
        expect(await sha256File(a.files[k])).toBe(a.sha256[k])
        expect(path.join(s.dir, a.urlPaths[k])).toBe(a.files[k])
      }
    }
    for (const k of Object.keys(s.files) as (keyof typeof s.files)[]) {
      expect(await sha256File(s.files[k])).toBe(s.sha256[k])
    }
  })

  it('ships real ELF editors: the gcc-built launcher for the host, a static exit stub for the other arch', async () => {
    const other = DEB_ARCHES.find((a) => a !== s.arch) ?? 'arm64'
    expect(s.byArch[s.arch].binary).toBe('launcher')
    expect(s.byArch[other].binary).toBe('exit-stub')
    for (const arch of DEB_ARCHES) {
      const x = path.join(out, `elf-${arch}`)
      await run(['dpkg-deb', '-x', s.byArch[arch].files.codeDeb, x])
      const elf = await readFile(path.join(x, 'usr/share/code/code'))
      expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF')
      expect(elf.readUInt16LE(18)).toBe(arch === 'arm64' ? 183 : 62) // e_machine
      if (hasFile) {
        const f = await run(['file', '-b', path.join(x, 'usr/share/code/code')])
        if (arch === s.arch) expect(f.stdout).toMatch(/^ELF 64-bit LSB .*dynamically linked.*stripped/)
        else if (arch === 'arm64') {
          expect(f.stdout).toMatch(/^ELF 64-bit LSB executable, ARM aarch64, .*statically linked/)
        }
      }
    }
    // The launcher runs the script next to it, through the CLI wrapper too, with the same answers.
    const x = path.join(out, `elf-${s.arch}`, 'usr/share')
    for (const pkg of ['code', 'cursor', 'antigravity'] as const) {
      await run(['dpkg-deb', '-x', s.byArch[s.arch].files[`${pkg}Deb`], path.join(out, `elf-${s.arch}`)])
      expect((await run([path.join(x, pkg, pkg), '--version'])).stdout).toBe(s.versionOutput[pkg])
      expect((await run([path.join(x, pkg, 'bin', pkg), '--version'])).stdout).toBe(s.versionOutput[pkg])
    }
    const root = await run([path.join(x, 'code/code'), '/tmp'], { allowFailure: true })
    if (process.getuid?.() === 0) {
      expect(root.exitCode).toBe(1)
      expect(root.stderr).toMatch(/super user.*--no-sandbox/)
    }
    const ldd = await run(['ldd', path.join(x, 'code/code')])
    expect(ldd.stdout).toMatch(/libc\.so\.6 => /)
    // The exit stub's layout, proven on the host's own architecture: it runs and exits 0.
    const stub = path.join(out, 'stub')
    await writeFile(stub, exitStubElf(s.arch), { mode: 0o755 })
    expect((await run([stub])).exitCode).toBe(0)
  })

  it('indexes each architecture in its own binary-<arch>/Packages, and Release names both', async () => {
    const dists = path.join(s.dir, s.repo.path, 'dists', s.repo.suite)
    expect(await readFile(path.join(dists, 'Release'), 'utf8')).toMatch(/^Architectures: amd64 arm64$/m)
    for (const arch of DEB_ARCHES) {
      const p = await readFile(path.join(dists, 'main', `binary-${arch}`, 'Packages'), 'utf8')
      const archs = [...p.matchAll(/^Architecture: (\S+)$/gm)].map((m) => m[1])
      expect(archs).toEqual([arch, arch])
      expect(p).toContain(`Filename: pool/main/code_${IDES.code.debVersion}_${arch}.deb`)
      expect(p).toContain(`Filename: pool/main/antigravity_${IDES.antigravity.debVersion}_${arch}.deb`)
    }
  })

  it('has maintainer scripts that parse, install the repository key as the vendor keyring, and name the arch', async () => {
    const keyGpg = await readFile(s.files.keyGpg)
    for (const arch of DEB_ARCHES) {
      for (const pkg of ['code', 'cursor', 'antigravity'] as const) {
        const e = path.join(out, `ctl-${arch}-${pkg}`)
        await run(['dpkg-deb', '-e', s.byArch[arch].files[`${pkg}Deb`], e])
        for (const script of ['postinst', 'prerm', 'postrm']) {
          const text = await readFile(path.join(e, script), 'utf8')
          expect(text).toMatch(/^#!\/bin\/sh\n(#.*\n)*set -e\n/)
          expect(text.trimEnd()).toMatch(/\nexit 0$/)
          await run(['sh', '-n', path.join(e, script)])
        }
        const postinst = await readFile(path.join(e, 'postinst'), 'utf8')
        expect(postinst).toContain('command -v update-desktop-database >/dev/null && update-desktop-database')
        expect(postinst).toContain('command -v update-mime-database >/dev/null && update-mime-database')
        if (pkg === 'antigravity') {
          expect(postinst).not.toMatch(/sources|keyrings/)
          continue
        }
        const r = VENDOR_REPOS[pkg]
        expect(await readFile(path.join(e, 'templates'), 'utf8')).toMatch(
          new RegExp(`^Template: ${r.question}\nType: boolean\nDefault: true\n`),
        )
        const b64 = new RegExp(`<<'${KEYRING_HEREDOC}'\n([A-Za-z0-9+/=\n]+)${KEYRING_HEREDOC}\n`).exec(
          postinst,
        )?.[1]
        expect(Buffer.from(b64 ?? '', 'base64').equals(keyGpg)).toBe(true)
        const written = vendorSourcesText(pkg, arch)
        expect(postinst).toContain(written.replace(`Signed-By: ${r.keyring}`, 'Signed-By: $TRUSTED_PART'))
        expect(written).toContain(`Architectures: ${pkg === 'code' ? arch : 'amd64,arm64'}\n`)
      }
    }
  })

  it('packs Antigravity.tar.gz per architecture: one top-level Antigravity/, root-owned, runnable here', async () => {
    for (const arch of DEB_ARCHES) {
      const t = await run(['tar', '-tvzf', s.byArch[arch].files.tarball])
      const names = t.stdout.split('\n').map((l) => l.split(/\s+/).slice(5).join(' '))
      expect(new Set(names.map((n) => n.split('/')[0]))).toEqual(new Set([TARBALL_TOP]))
      expect(names).toEqual(
        expect.arrayContaining([
          'Antigravity/antigravity',
          'Antigravity/bin/antigravity',
          'Antigravity/resources/app/standin.sh',
          'Antigravity/resources/app/resources/linux/code.png',
        ]),
      )
      expect(t.stdout.split('\n').every((l) => l.includes(' 0/0 '))).toBe(true)
    }
    expect(s.files.tarball).toBe(s.byArch[s.arch].files.tarball)
    const x = path.join(out, 'tar')
    await mkdir(x)
    await run(['tar', '-xzf', s.files.tarball, '-C', x])
    expect((await run([path.join(x, 'Antigravity/antigravity'), '--version'])).stdout).toBe(
      s.versionOutput.antigravity,
    )
    expect((await run([path.join(x, 'Antigravity/bin/antigravity'), '--version'])).stdout).toBe(
      s.versionOutput.antigravity,
    )
    const png = await readFile(path.join(x, 'Antigravity/resources/app/resources/linux/code.png'))
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(
      true,
    )
  })

  it('builds the broken repositories: apt-unsigned without signatures, apt-wrongkey signed by another key', async () => {
    const dists = (repo: string) => path.join(s.dir, repo, 'dists', s.repo.suite)
    const good = await readFile(path.join(dists(s.repo.path), 'Release'), 'utf8')
    expect((await readdir(dists(s.brokenRepos.unsigned.path))).sort()).toEqual(['Release', 'main'])
    expect(await readFile(path.join(dists(s.brokenRepos.unsigned.path), 'Release'), 'utf8')).toBe(good)
    expect((await readdir(dists(s.brokenRepos.wrongKey.path))).sort()).toEqual([
      'InRelease',
      'Release',
      'Release.gpg',
      'main',
    ])
    expect(s.brokenRepos.wrongKey.fingerprint).toMatch(/^[0-9A-F]{40}$/)
    expect(s.brokenRepos.wrongKey.fingerprint).not.toBe(s.fingerprint)
    const home = await mkdtemp(path.join(tmpdir(), 'lab-gpgcheck-'))
    try {
      const env = { PATH: '/usr/bin:/bin', GNUPGHOME: home }
      const wrong = dists(s.brokenRepos.wrongKey.path)
      const p = await run(['gpg', '--batch', '--list-packets', path.join(wrong, 'Release.gpg')], { env })
      expect(p.stdout).toContain(`issuer fpr v4 ${s.brokenRepos.wrongKey.fingerprint}`)
      // gpg names the signing key even without it ("using EDDSA key <fpr>", then "No public key")
      const v = await run(['gpg', '--batch', '--verify', path.join(wrong, 'InRelease')], {
        env,
        allowFailure: true,
      })
      expect(v.exitCode).not.toBe(0)
      expect(v.stderr).toContain(s.brokenRepos.wrongKey.fingerprint)
      expect(`${p.stdout}${v.stderr}`).not.toContain(s.fingerprint)
    } finally {
      await run(['gpgconf', '--kill', 'all'], {
        env: { PATH: '/usr/bin:/bin', GNUPGHOME: home },
        allowFailure: true,
      })
      await rm(home, { recursive: true, force: true })
    }
  })

  it.skipIf(!hasDesktopValidate)('ships .desktop files that pass desktop-file-validate', async () => {
    const x = path.join(out, 'x')
    for (const deb of [s.files.codeDeb, s.files.cursorDeb, s.files.antigravityDeb]) {
      await run(['dpkg-deb', '-x', deb, x])
    }
    for (const pkg of ['code', 'cursor', 'antigravity']) {
      expect(await validateDesktopFile(path.join(x, 'usr/share/applications', `${pkg}.desktop`))).toBe('')
    }
    const ex = path.join(out, 'extract')
    await mkdir(ex)
    const r = await run([s.files.appImage, '--appimage-extract'], { cwd: ex })
    expect(r.stdout).toContain('squashfs-root/AppRun')
    expect(await validateDesktopFile(path.join(ex, 'squashfs-root/antigravity.desktop'))).toBe('')
    const v = await run([path.join(ex, 'squashfs-root/AppRun'), '--version'])
    expect(v.stdout).toBe(s.versionOutput.antigravity)
  })

  it('is reproducible: byte for byte, except the repository key the code and cursor postinsts embed', async () => {
    const again = await buildStandIns(path.join(out, 'b'))
    expect(again.fingerprint).not.toBe(s.fingerprint)
    expect(again.sha256.appImage).toBe(s.sha256.appImage)
    for (const arch of DEB_ARCHES) {
      const [a, b] = [s.byArch[arch], again.byArch[arch]]
      expect(b.sha256.antigravityDeb).toBe(a.sha256.antigravityDeb)
      expect(b.sha256.tarball).toBe(a.sha256.tarball)
      for (const k of ['codeDeb', 'cursorDeb'] as const) {
        // the files (data.tar) are the same bytes...
        const data = async (deb: string) =>
          (await run(['sh', '-c', 'dpkg-deb --fsys-tarfile "$1" | sha256sum', 'sh', deb])).stdout
        expect(await data(b.files[k])).toBe(await data(a.files[k]))
        // ...and the control files too, once the embedded keyring is masked
        const ctl = async (deb: string, dest: string) => {
          await run(['dpkg-deb', '-e', deb, dest])
          const outp: Record<string, string> = {}
          for (const f of (await readdir(dest)).sort()) {
            outp[f] = (await readFile(path.join(dest, f), 'utf8')).replace(
              new RegExp(`<<'${KEYRING_HEREDOC}'\n[^]*?\n${KEYRING_HEREDOC}\n`),
              '<keyring>',
            )
          }
          return outp
        }
        const ca = await ctl(a.files[k], path.join(out, `repro-a-${arch}-${k}`))
        expect(ca.postinst).toContain('<keyring>')
        expect(await ctl(b.files[k], path.join(out, `repro-b-${arch}-${k}`))).toEqual(ca)
      }
    }
  })

  it('signs with SHA-512 and an ed25519 key bound without SHA-1', async () => {
    expect(await readFile(s.files.inRelease, 'utf8')).toMatch(/^Hash: SHA512$/m)
    const home = await mkdtemp(path.join(tmpdir(), 'lab-gpgcheck-'))
    try {
      const p = await run(['gpg', '--batch', '--list-packets', s.files.keyGpg], {
        env: { PATH: '/usr/bin:/bin', GNUPGHOME: home },
      })
      expect(p.stdout).toMatch(/algo 22/) // EdDSA
      expect(p.stdout).toMatch(/digest algo 10/) // SHA-512
      expect(p.stdout).not.toMatch(/digest algo 2,/) // SHA-1
      expect(await readFile(s.files.keyAsc, 'utf8')).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/)
    } finally {
      await run(['gpgconf', '--kill', 'all'], {
        env: { PATH: '/usr/bin:/bin', GNUPGHOME: home },
        allowFailure: true,
      })
      await rm(home, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------------

describe.skipIf(chrootSkip !== '')('lab: trixie root, chroot and stand-in apt repository', () => {
  const timings: Record<string, number> = {}
  let pristine: string
  let root: string
  let out: string
  let s: StandIns
  let srv: ServedDir
  const apt = { DEBIAN_FRONTEND: 'noninteractive' }

  beforeAll(async () => {
    let t = Date.now()
    pristine = await ensureTrixieRoot({ include: LAB_INCLUDE, log: (l) => console.log(`[lab] ${l}`) })
    timings['ensureTrixieRoot (this run)'] = Date.now() - t
    timings['debootstrap (when the cache was built)'] = (await readStamp(pristine))?.debootstrapMs ?? -1
    t = Date.now()
    root = await cloneRoot(
      pristine,
      path.join(DEFAULT_CACHE_DIR, 'clones', `lab-test-${process.pid}-${Date.now()}`),
    )
    timings.cloneRoot = Date.now() - t
    out = await mkdtemp(path.join(tmpdir(), 'lab-standins-'))
    t = Date.now()
    s = await buildStandIns(path.join(out, 'srv'))
    timings.buildStandIns = Date.now() - t
    srv = await serveDir(s.dir)
  }, 1_800_000)

  afterAll(async () => {
    await srv?.close()
    if (root) {
      const t = Date.now()
      await removeRoot(root)
      timings.removeRoot = Date.now() - t
      expect(await mountsUnder(root)).toEqual([])
    }
    if (out) await rm(out, { recursive: true, force: true })
    console.log(
      `[lab] timings (ms):\n${Object.entries(timings)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    )
  }, 600_000)

  it('refuses /, a directory that is not a Debian root, and the pristine cache', async () => {
    const noop = async () => undefined
    await expect(withChroot('/', noop)).rejects.toThrow(/refusing to use \//)
    await expect(withChroot(tmpdir(), noop)).rejects.toThrow(/not a debootstrapped Debian root/)
    await expect(withChroot(pristine, noop)).rejects.toThrow(/pristine/)
    expect(await mountsUnder(pristine)).toEqual([])
  })

  it('mounts /proc, /sys, /dev read-only (pts and shm writable), cleans the env, and unmounts', async () => {
    await withChroot(root, async (ch) => {
      expect((await ch.readFile('/etc/debian_version')).trim()).toMatch(/^13(\.|$)/)
      const mounts = await mountsUnder(root)
      expect([...mounts].sort()).toEqual(
        ['dev', 'dev/pts', 'dev/shm', 'proc', 'sys'].map((m) => path.join(root, m)),
      )
      const opts = new Map(
        (await readFile('/proc/mounts', 'utf8'))
          .split('\n')
          .map((l) => l.split(' '))
          .filter((f) => f[1]?.startsWith(`${root}/`))
          .map((f) => [path.relative(root, f[1] ?? ''), (f[3] ?? '').split(',')[0]]),
      )
      expect(Object.fromEntries(opts)).toEqual({
        proc: 'ro',
        sys: 'ro',
        dev: 'ro',
        'dev/pts': 'rw',
        'dev/shm': 'rw',
      })

      const env = await ch.exec(['env'])
      expect(env.stdout.split('\n').sort()).toEqual([
        'HOME=/root',
        'LANG=C.UTF-8',
        `PATH=${CLEAN_PATH}`,
        'TERM=dumb',
      ])

      const policy = await ch.exec(['/usr/sbin/policy-rc.d', 'ssh', 'start'], { allowFailure: true })
      expect(policy.exitCode).toBe(101)
      expect(await ch.readFile('/etc/resolv.conf')).toBe(await readFile('/etc/resolv.conf', 'utf8'))

      // /proc is read-only: sysctl writes cannot reach the host kernel. (Writing the host's own
      // hostname back is harmless even if the mount were writable.)
      const hostname = (await readFile('/proc/sys/kernel/hostname', 'utf8')).trim()
      const sysw = await ch.exec(['sh', '-c', 'printf %s "$1" > /proc/sys/kernel/hostname', 'sh', hostname], {
        allowFailure: true,
      })
      expect(sysw.exitCode).not.toBe(0)
      expect(sysw.stderr).toMatch(/Read-only file system/)
      expect((await ch.sh('echo x > /dev/null && echo ok')).stdout).toBe('ok')
      const mk = await ch.exec(['touch', '/dev/lab-should-not-exist'], { allowFailure: true })
      expect(mk.exitCode).not.toBe(0)
      expect((await ch.sh('echo hi > /dev/shm/x && cat /dev/shm/x')).stdout).toBe('hi')
    })
    expect(await mountsUnder(root)).toEqual([])
    expect((await listMountPoints()).some((m) => m.startsWith(`${root}/`))).toBe(false)
  })

  it("restores the root's own policy-rc.d afterwards", async () => {
    const own = "#!/bin/sh\n# the root's own\nexit 0\n"
    await withChroot(root, (ch) => ch.writeFile('/usr/sbin/policy-rc.d', own, { mode: 0o755 }), {
      policyRcD: false,
    })
    await withChroot(root, async (ch) => {
      expect(await ch.readFile('/usr/sbin/policy-rc.d')).toBe(POLICY_RC_D)
    })
    await withChroot(
      root,
      async (ch) => {
        expect(await ch.readFile('/usr/sbin/policy-rc.d')).toBe(own)
        await ch.exec(['rm', '/usr/sbin/policy-rc.d'])
      },
      { policyRcD: false },
    )
  })

  it('always unmounts: when the callback throws, and when a command times out', async () => {
    await expect(
      withChroot(root, async () => {
        throw new Error('boom inside')
      }),
    ).rejects.toThrow('boom inside')
    expect(await mountsUnder(root)).toEqual([])

    const started = Date.now()
    let leftInside: number[] = [-1]
    await withChroot(root, async (ch) => {
      // a daemon that escapes the command's process group, and a plain long command
      await ch.sh('setsid sleep 300 </dev/null >/dev/null 2>&1 &')
      const r = ch.exec(['sh', '-c', 'sleep 300 & sleep 300'], { timeoutMs: 1_500 })
      await expect(r).rejects.toThrow(/timed out after/)
      leftInside = await processesRootedIn(root)
    })
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(leftInside).toEqual([]) // the timeout ended everything running in the root
    expect(await processesRootedIn(root)).toEqual([])
    expect(await mountsUnder(root)).toEqual([])
    // policy-rc.d was ours: gone again
    expect(
      await withChroot(root, async (ch) => ch.exists('/usr/sbin/policy-rc.d'), { policyRcD: false }),
    ).toBe(false)
  })

  it('installs code and antigravity from the signed stand-in repository, and cursor from a .deb', async () => {
    await withChroot(root, async (ch) => {
      // 127.0.0.1 in the chroot is the host's loopback (same network namespace).
      const ping = await ch.exec([
        'node',
        '-e',
        'fetch(process.argv[1]).then(r => r.text()).then(t => process.stdout.write(t))',
        `${srv.url}/${s.urlPaths.keyAsc}`,
      ])
      expect(ping.stdout).toBe((await readFile(s.files.keyAsc, 'utf8')).trimEnd())

      const keyring = '/etc/apt/keyrings/vps-provision-standin.gpg'
      await ch.copyIn(s.files.keyGpg, keyring, { mode: 0o644 })
      await ch.writeFile('/etc/apt/sources.list.d/standin.sources', standInSources(srv.url, keyring, s.arch))

      let t = Date.now()
      const update = await ch.exec(['apt-get', 'update'], { env: apt })
      timings['apt-get update (Debian mirror + stand-in repo)'] = Date.now() - t
      const updateOut = `${update.stdout}\n${update.stderr}`
      expect(updateOut).toContain(`${srv.url}/apt stable InRelease`)
      expect(updateOut).not.toMatch(/^(W|E):/m)
      expect(updateOut).not.toMatch(/NO_PUBKEY|not signed|signature|sqv|OpenPGP|SHA1/i)
      expect(srv.requestsFor(`/${s.repo.path}/dists/stable/InRelease`).some((r) => r.status === 200)).toBe(
        true,
      )

      t = Date.now()
      const install = await ch.exec(
        ['apt-get', 'install', '-y', '--no-install-recommends', 'code', 'antigravity'],
        {
          env: apt,
        },
      )
      timings['apt-get install code antigravity'] = Date.now() - t
      expect(`${install.stdout}\n${install.stderr}`).not.toMatch(/^(W|E):/m)
      const versions = await ch.exec(['dpkg-query', '-W', 'code', 'antigravity'])
      expect(versions.stdout).toBe(`antigravity\t${s.versions.antigravity}\ncode\t${s.versions.code}`)

      expect((await ch.exec(['code', '--version'])).stdout).toBe(s.versionOutput.code)
      expect((await ch.exec(['antigravity', '--version'])).stdout).toBe(s.versionOutput.antigravity)
      expect((await ch.exec(['runuser', '-u', 'nobody', '--', 'code', '--version'])).stdout).toBe(
        s.versionOutput.code,
      )
      const asRoot = await ch.exec(['code', '/tmp'], { allowFailure: true })
      expect(asRoot.exitCode).toBe(1)
      expect(asRoot.stderr).toMatch(/super user.*--no-sandbox/)
      expect(await ch.exists('/usr/share/applications/code.desktop')).toBe(true)

      // A real ELF linked against the root's own libc; /usr/bin/code made by the postinst.
      expect((await ch.exec(['ldd', '/usr/share/code/code'])).stdout).toMatch(
        /^\s*libc\.so\.6 => \/lib\/\S+\/libc\.so\.6 /m,
      )
      expect((await ch.exec(['readlink', '/usr/bin/code'])).stdout).toBe('/usr/share/code/bin/code')
      expect((await ch.exec(['dpkg', '-S', '/usr/bin/code'], { allowFailure: true })).exitCode).toBe(1)
      // With the default debconf answer the code postinst adds the vendor's repository, like the
      // real one; antigravity adds none.
      expect(await ch.readFile(VENDOR_REPOS.code.sources)).toBe(vendorSourcesText('code', s.arch))
      expect((await ch.exec(['sha256sum', VENDOR_REPOS.code.keyring])).stdout.split(' ')[0]).toBe(
        s.sha256.keyGpg,
      )
      expect((await ch.exec(['ls', '/etc/apt/sources.list.d'])).stdout.split('\n').sort()).toEqual([
        'standin.sources',
        'vscode.sources',
      ])

      // Cursor: a plain download, pinned by sha256, installed as a local .deb.
      await ch.exec([
        'node',
        '-e',
        'fetch(process.argv[1]).then(r => { if (!r.ok) throw new Error(r.status); return r.arrayBuffer() })' +
          '.then(b => require("fs").writeFileSync(process.argv[2], Buffer.from(b)))',
        `${srv.url}/${s.urlPaths.cursorDeb}`,
        '/tmp/cursor.deb',
      ])
      expect((await ch.exec(['sha256sum', '/tmp/cursor.deb'])).stdout.split(' ')[0]).toBe(s.sha256.cursorDeb)
      t = Date.now()
      const local = await ch.exec(['apt-get', 'install', '-y', './cursor.deb'], { cwd: '/tmp', env: apt })
      timings['apt-get install ./cursor.deb'] = Date.now() - t
      expect(`${local.stdout}\n${local.stderr}`).not.toMatch(/^(W|E):/m)
      expect((await ch.exec(['cursor', '--version'])).stdout).toBe(s.versionOutput.cursor)
      expect(await ch.readFile(VENDOR_REPOS.cursor.sources)).toBe(vendorSourcesText('cursor', s.arch))
      expect((await ch.exec(['sha256sum', VENDOR_REPOS.cursor.keyring])).stdout.split(' ')[0]).toBe(
        s.sha256.keyGpg,
      )

      // The AppImage stand-in needs FUSE 2 like a real one; extracted, it runs anywhere.
      await ch.exec(['mkdir', '-p', '/opt/lab'])
      await ch.copyIn(s.files.appImage, '/opt/lab/Antigravity.AppImage')
      const direct = await ch.exec(['/opt/lab/Antigravity.AppImage', '--version'], { allowFailure: true })
      expect(direct.exitCode).toBe(1)
      expect(direct.stderr).toMatch(/libfuse\.so\.2/)
      await ch.exec(['/opt/lab/Antigravity.AppImage', '--appimage-extract'], { cwd: '/opt/lab' })
      expect((await ch.exec(['/opt/lab/squashfs-root/AppRun', '--version'])).stdout).toBe(
        s.versionOutput.antigravity,
      )
    })
    expect(await mountsUnder(root)).toEqual([])
  })

  it('runs maintainer scripts like the vendors: debconf answer, refresh, keyring kept, postrm and purge', async () => {
    await withChroot(root, async (ch) => {
      const { code, cursor } = VENDOR_REPOS
      const sources = async () => (await ch.exec(['ls', '/etc/apt/sources.list.d'])).stdout.split('\n').sort()
      const debconf = async (pkg: string) => (await ch.exec(['debconf-show', pkg])).stdout
      // The previous test left code, antigravity and cursor installed with the default answers.
      expect(await sources()).toEqual(['cursor.sources', 'standin.sources', 'vscode.sources'])
      expect((await ch.exec(['update-alternatives', '--query', 'editor'])).stdout).toMatch(
        /^Alternative: \/usr\/bin\/code$/m,
      )

      // cursor: whether the vendor's postrm removes its source is unknown, so the stand-in's
      // removes nothing; a purge leaves cursor.sources and anysphere.gpg behind, forgets debconf.
      await ch.exec(['apt-get', 'purge', '-y', 'cursor'], { env: apt })
      expect(await ch.exists('/usr/bin/cursor')).toBe(false)
      expect(await ch.readFile(cursor.sources)).toBe(vendorSourcesText('cursor', s.arch))
      expect(await ch.exists(cursor.keyring)).toBe(true)
      expect(await debconf('cursor')).toBe('')
      await ch.exec(['rm', cursor.sources, cursor.keyring])

      // code, default answer (true): postrm deletes vscode.sources and microsoft.gpg.
      await ch.exec(['apt-get', 'purge', '-y', 'code'], { env: apt })
      expect(await ch.exists('/usr/bin/code')).toBe(false)
      expect(await ch.exists(code.sources)).toBe(false)
      expect(await ch.exists(code.keyring)).toBe(false)
      expect((await ch.exec(['update-alternatives', '--query', 'editor'])).stdout).not.toContain(
        '/usr/bin/code',
      )

      // Preseeded false: the postinst writes nothing, on install and on reinstall, and leaves an
      // existing vscode.sources (ours) alone; so does the postrm, even on purge.
      const ours = 'Types: deb\nURIs: http://mirror.invalid/code\nSuites: stable\nComponents: main\n'
      await ch.exec(['debconf-set-selections'], { stdin: `code ${code.question} boolean false\n` })
      await ch.exec(['apt-get', 'install', '-y', 'code'], { env: apt })
      expect(await debconf('code')).toContain(`${code.question}: false`)
      expect(await ch.exists(code.sources)).toBe(false)
      expect(await ch.exists(code.keyring)).toBe(false)
      await ch.writeFile(code.sources, ours)
      await ch.exec(['apt-get', 'install', '-y', '--reinstall', 'code'], { env: apt })
      expect(await ch.readFile(code.sources)).toBe(ours)
      await ch.exec(['apt-get', 'purge', '-y', 'code'], { env: apt })
      expect(await ch.readFile(code.sources)).toBe(ours)
      expect(await debconf('code')).toBe('') // purged answers: the next install asks again

      // Default answer with vscode.sources already there: the postinst overwrites it (refresh), and
      // installs microsoft.gpg only where there is none: an existing keyring stays as it is.
      await ch.writeFile(code.keyring, 'our keyring\n')
      await ch.exec(['apt-get', 'install', '-y', 'code'], { env: apt })
      expect(await ch.readFile(code.sources)).toBe(vendorSourcesText('code', s.arch))
      expect(await ch.readFile(code.keyring)).toBe('our keyring\n')
      // ...and the postrm deletes both, ours included, on a plain remove already.
      await ch.exec(['apt-get', 'remove', '-y', 'code'], { env: apt })
      expect(await ch.exists(code.sources)).toBe(false)
      expect(await ch.exists(code.keyring)).toBe(false)
      await ch.exec(['apt-get', 'purge', '-y', 'code'], { env: apt })
      expect(await sources()).toEqual(['standin.sources'])
    })
    expect(await mountsUnder(root)).toEqual([])
  })

  it('serves Antigravity.tar.gz: it unpacks to Antigravity/ and Antigravity/antigravity answers', async () => {
    await withChroot(root, async (ch) => {
      await ch.exec([
        'node',
        '-e',
        'fetch(process.argv[1]).then(r => { if (!r.ok) throw new Error(r.status); return r.arrayBuffer() })' +
          '.then(b => require("fs").writeFileSync(process.argv[2], Buffer.from(b)))',
        `${srv.url}/${s.urlPaths.tarball}`,
        '/tmp/Antigravity.tar.gz',
      ])
      expect((await ch.exec(['sha256sum', '/tmp/Antigravity.tar.gz'])).stdout.split(' ')[0]).toBe(
        s.sha256.tarball,
      )
      await ch.exec(['mkdir', '-p', '/opt/lab-tar'])
      await ch.exec(['tar', '-xzf', '/tmp/Antigravity.tar.gz', '-C', '/opt/lab-tar'])
      expect((await ch.exec(['ls', '/opt/lab-tar'])).stdout).toBe('Antigravity')
      expect((await ch.exec(['Antigravity/antigravity', '--version'], { cwd: '/opt/lab-tar' })).stdout).toBe(
        s.versionOutput.antigravity,
      )
      expect(
        (
          await ch.exec([
            'runuser',
            '-u',
            'nobody',
            '--',
            '/opt/lab-tar/Antigravity/bin/antigravity',
            '--version',
          ])
        ).stdout,
      ).toBe(s.versionOutput.antigravity)
      expect((await ch.exec(['ldd', '/opt/lab-tar/Antigravity/antigravity'])).stdout).toMatch(
        /libc\.so\.6 => /,
      )
      await ch.exec(['rm', '-rf', '/opt/lab-tar', '/tmp/Antigravity.tar.gz'])
    })
    expect(await mountsUnder(root)).toEqual([])
  })

  it('apt accepts the ASCII-armored key too, and rejects the repository signed by another key', async () => {
    await withChroot(root, async (ch) => {
      const onlyStandIn = ['-o', 'Dir::Etc::SourceList=/dev/null']
      await ch.copyIn(s.files.keyAsc, '/etc/apt/keyrings/vps-provision-standin.asc', { mode: 0o644 })
      await ch.exec(['rm', '-f', '/etc/apt/keyrings/vps-provision-standin.gpg'])
      await ch.writeFile(
        '/etc/apt/sources.list.d/standin.sources',
        standInSources(srv.url, '/etc/apt/keyrings/vps-provision-standin.asc', s.arch),
      )
      const ok = await ch.exec(['apt-get', 'update', ...onlyStandIn], { env: apt })
      expect(`${ok.stdout}\n${ok.stderr}`).not.toMatch(/^(W|E):/m)

      await ch.writeFile(
        '/etc/apt/sources.list.d/standin.sources',
        standInSources(srv.url, '/usr/share/keyrings/debian-archive-keyring.gpg', s.arch),
      )
      const bad = await ch.exec(['apt-get', 'update', ...onlyStandIn], { env: apt, allowFailure: true })
      const badOut = `${bad.stdout}\n${bad.stderr}`
      expect(badOut).toMatch(/^(W|E):.*(NO_PUBKEY|not signed|Missing key|signature)/im)
      await ch.exec(['rm', '-f', '/etc/apt/sources.list.d/standin.sources'])
    })
    expect(await mountsUnder(root)).toEqual([])
  })

  it('resolves code:arm64 and antigravity:arm64 from the repository with apt-get install --simulate', async () => {
    await withChroot(root, async (ch) => {
      const parts = '/etc/apt/lab-arm64.sources.d'
      const only = ['-o', 'Dir::Etc::SourceList=/dev/null', '-o', `Dir::Etc::SourceParts=${parts}`]
      await ch.copyIn(s.files.keyGpg, '/etc/apt/keyrings/lab-arm64.gpg', { mode: 0o644 })
      await ch.writeFile(
        `${parts}/standin.sources`,
        standInSources(srv.url, '/etc/apt/keyrings/lab-arm64.gpg', 'arm64'),
      )
      await ch.exec(['dpkg', '--add-architecture', 'arm64'])
      try {
        const update = await ch.exec(['apt-get', 'update', ...only], { env: apt })
        expect(`${update.stdout}\n${update.stderr}`).not.toMatch(/^(W|E):/m)
        const arm64Index = `/${s.repo.path}/dists/stable/main/binary-arm64/`
        expect(srv.requests.some((r) => r.path.startsWith(arm64Index) && r.status === 200)).toBe(true)
        const sim = await ch.exec(
          ['apt-get', 'install', '--simulate', '-y', ...only, 'code:arm64', 'antigravity:arm64'],
          { env: apt },
        )
        expect(sim.stdout).toMatch(
          new RegExp(`^Inst code:arm64 .*\\(${s.versions.code} .*\\[arm64\\]\\)`, 'm'),
        )
        expect(sim.stdout).toMatch(
          new RegExp(`^Inst antigravity:arm64 .*\\(${s.versions.antigravity} .*\\[arm64\\]\\)`, 'm'),
        )
        // a simulation: nothing of arm64 got installed
        expect(
          (await ch.exec(['dpkg-query', '-W', 'antigravity:arm64'], { allowFailure: true })).exitCode,
        ).toBe(1)
      } finally {
        await ch.exec(['rm', '-rf', parts, '/etc/apt/keyrings/lab-arm64.gpg'])
        await ch.exec(['dpkg', '--remove-architecture', 'arm64'])
      }
    })
    expect(await mountsUnder(root)).toEqual([])
  })

  it("fails apt-get update with apt's own errors for apt-unsigned and apt-wrongkey", async () => {
    await withChroot(root, async (ch) => {
      const parts = '/etc/apt/lab-broken.sources.d'
      const only = ['-o', 'Dir::Etc::SourceList=/dev/null', '-o', `Dir::Etc::SourceParts=${parts}`]
      await ch.copyIn(s.files.keyGpg, '/etc/apt/keyrings/lab-broken.gpg', { mode: 0o644 })
      const update = async (repoPath: string) => {
        await ch.writeFile(
          `${parts}/broken.sources`,
          standInSources(srv.url, '/etc/apt/keyrings/lab-broken.gpg', s.arch, repoPath),
        )
        const r = await ch.exec(['apt-get', 'update', ...only], { env: apt, allowFailure: true })
        return { exitCode: r.exitCode, out: `${r.stdout}\n${r.stderr}` }
      }
      try {
        const unsigned = await update(s.brokenRepos.unsigned.path)
        // trixie's apt 3.0, exit 100 (stdout shows "Ign: ... InRelease", "Get: ... Release",
        // "Ign: ... Release.gpg"), on stderr:
        //   E: The repository 'http://127.0.0.1:<port>/apt-unsigned stable Release' is not signed.
        expect(unsigned.exitCode).toBe(100)
        expect(unsigned.out).toMatch(
          /^E: The repository '\S+\/apt-unsigned stable Release' is not signed\.$/m,
        )

        const wrong = await update(s.brokenRepos.wrongKey.path)
        // exit 100; stdout "Err:1 ... InRelease" with the sqv line, and on stderr:
        //   W: OpenPGP signature verification failed: http://127.0.0.1:<port>/apt-wrongkey stable
        //      InRelease: Sub-process /usr/bin/sqv returned an error code (1), error message is:
        //      Missing key <fingerprint of the other key>, which is needed to verify signature.
        //   E: The repository 'http://127.0.0.1:<port>/apt-wrongkey stable InRelease' is not signed.
        expect(wrong.exitCode).toBe(100)
        expect(wrong.out).toMatch(
          new RegExp(
            `^W: OpenPGP signature verification failed: \\S+/apt-wrongkey stable InRelease: .*sqv.*Missing key ${s.brokenRepos.wrongKey.fingerprint}, which is needed to verify signature\\.$`,
            'm',
          ),
        )
        expect(wrong.out).toMatch(/^E: The repository '\S+\/apt-wrongkey stable InRelease' is not signed\.$/m)
      } finally {
        await ch.exec(['rm', '-rf', parts, '/etc/apt/keyrings/lab-broken.gpg'])
      }
    })
    expect(await mountsUnder(root)).toEqual([])
  })

  it('cleans up after a dead builder: unmounts and removes its half-built root, leaves a live one', async () => {
    const cacheDir = path.join(DEFAULT_CACHE_DIR, `test-stale-${process.pid}`)
    const dead = spawnSync('true').pid
    const deadBuild = path.join(cacheDir, `.build-trixie-minbase-000000000000-${dead}-abcdef`)
    const liveBuild = path.join(cacheDir, `.build-trixie-minbase-000000000000-${process.pid}-fedcba`)
    try {
      await mkdir(path.join(deadBuild, 'proc'), { recursive: true })
      await mkdir(liveBuild, { recursive: true })
      // what a debootstrap killed in its second stage leaves: a mount inside the target
      await run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'lab-stale-test', path.join(deadBuild, 'proc')])
      await writeFile(path.join(deadBuild, 'proc', 'marker'), 'x')
      expect(await mountsUnder(cacheDir)).toEqual([path.join(deadBuild, 'proc')])
      await cleanStaleBuilds(cacheDir)
      expect(await mountsUnder(cacheDir)).toEqual([])
      expect(await readdir(cacheDir)).toEqual([path.basename(liveBuild)])
    } finally {
      await removeTree(cacheDir)
    }
    expect(await mountsUnder(cacheDir)).toEqual([])
  })
})
