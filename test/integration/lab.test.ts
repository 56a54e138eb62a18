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
  IDES,
  type StandIns,
  sha256File,
  standInSources,
  standInToolsMissing,
  validateDesktopFile,
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

for (const [what, why] of [
  ['stand-in build tests', standInsSkip],
  ['desktop-file-validate test', hasDesktopValidate ? '' : 'missing host tool: desktop-file-validate'],
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

  it('builds three .debs with the promised names, versions and files', async () => {
    for (const [file, pkg] of [
      [s.files.codeDeb, 'code'],
      [s.files.cursorDeb, 'cursor'],
      [s.files.antigravityDeb, 'antigravity'],
    ] as const) {
      const f = await run(['dpkg-deb', '-f', file, 'Package', 'Version', 'Architecture', 'Depends'])
      expect(f.stdout).toContain(`Package: ${pkg}`)
      expect(f.stdout).toContain(`Version: ${IDES[pkg].debVersion}`)
      expect(f.stdout).not.toContain('Depends')
      const c = await run(['dpkg-deb', '-c', file])
      expect(c.stdout).toContain(`./usr/share/${pkg}/${pkg}`)
      expect(c.stdout).toContain(`./usr/bin/${pkg} -> /usr/share/${pkg}/bin/${pkg}`)
      expect(c.stdout).toContain(`./usr/share/applications/${pkg}.desktop`)
      expect(c.stdout).toMatch(/root\/root/)
    }
    expect(path.basename(s.files.cursorDeb)).toBe(`cursor_0.50.0_${s.arch}.deb`)
    for (const k of Object.keys(s.files) as (keyof typeof s.files)[]) {
      expect(await sha256File(s.files[k])).toBe(s.sha256[k])
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

  it('is reproducible: the same .debs and AppImage byte for byte (only the key differs)', async () => {
    const again = await buildStandIns(path.join(out, 'b'))
    expect(again.sha256.codeDeb).toBe(s.sha256.codeDeb)
    expect(again.sha256.cursorDeb).toBe(s.sha256.cursorDeb)
    expect(again.sha256.antigravityDeb).toBe(s.sha256.antigravityDeb)
    expect(again.sha256.appImage).toBe(s.sha256.appImage)
    expect(again.fingerprint).not.toBe(s.fingerprint)
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
