// Scenario A: a fresh Debian 13 "VPS" (a booted trixie in systemd-nspawn, apt through the host's
// proxy, IDE stand-ins), provisioned by the real bundle: all eight phases, an RDP login from the
// host with a real client and a screenshot, verify, an idempotent re-run, and a rollback back to
// the baseline manifest. See docs/e2e.md.
import { copyFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { sleep } from '../lab/mounts.js'
import { run } from '../lab/proc.js'
import { ROLLBACK_EXCLUSIONS } from './harness/exclusions.js'
import { diffManifests, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { connectRdp, DRAWN_DESKTOP, type RdpClient, runningAs, waitForDesktop } from './harness/rdp.js'
import { stages } from './harness/stages.js'
import { collectToolState, journalActions, readSession, startWorldWithTool, tool } from './harness/tool.js'
import { e2eSkipReason, type World } from './harness/world.js'

const skip = await e2eSkipReason({ rdp: true })
if (skip) console.warn(`\n*** SKIPPED e2e scenario A: ${skip} ***\n`)

const USER = 'devuser'
const PHASES = [
  'preflight',
  'system-prep',
  'desktop-install',
  'rdp-config',
  'user-creation',
  'ide-installations',
  'terminal-setup',
  'workspaces',
  'verification',
]
const READ_ONLY = new Set(['preflight', 'verification'])

/**
 * What may differ between the baseline and the machine after rollback, and why that hides nothing
 * the tool should have undone. Everything else in the manifest must be equal.
 */
describe.skipIf(skip !== null)('e2e scenario A: fresh trixie, full run, RDP, re-run, rollback', () => {
  let w: World
  let baseline: Manifest
  let firstSession = ''
  let password = ''
  const s = stages()

  beforeAll(async () => {
    w = await startWorldWithTool({ scenario: 'scenario-a', machineName: 'e2e-a' })
  }, 30 * 60_000)

  afterAll(async () => {
    if (!w) return
    await collectToolState(w).catch(() => undefined)
    for (const [from, to] of [
      ['/var/log/xrdp-sesman.log', 'xrdp-sesman.log'],
      ['/var/log/xrdp.log', 'xrdp.log'],
    ] as const) {
      await copyFile(w.machine.hostPath(from), path.join(w.dir, to)).catch(() => undefined)
    }
    const apt = w.proxy.requests
    await s.writeTimings(w.dir, {
      proxy: {
        requests: apt.length,
        bytes: apt.reduce((n, r) => n + r.bytes, 0),
        cacheHits: apt.filter((r) => r.cache === 'hit').length,
      },
    })
    await w.close()
  }, 10 * 60_000)

  s.stage('the harness confines commands to the container', async () => {
    const host = (await run(['hostname'])).stdout.trim()
    const inside = await w.machine.exec(['hostname'])
    expect(inside.stdout.trim()).toBe(w.machine.name)
    expect(inside.stdout.trim()).not.toBe(host)
    // CAP_SYS_TIME (25) and CAP_SYS_MODULE (16) are outside the container's bounding set...
    const caps = await w.machine.exec(['grep', '^CapBnd:', '/proc/self/status'])
    const bnd = BigInt(`0x${caps.stdout.trim().split(/\s+/)[1]}`)
    expect(bnd & (1n << 25n)).toBe(0n)
    expect(bnd & (1n << 16n)).toBe(0n)
    // ...so setting the clock fails inside (to the current second: harmless even if it did not).
    const date = await w.machine.exec(['date', '-s', `@${Math.floor(Date.now() / 1000)}`], {
      allowFailure: true,
    })
    expect(date.exitCode).not.toBe(0)
    expect(date.stderr).toMatch(/not permitted/i)
    expect((await w.machine.exec(['systemd-detect-virt'])).stdout.trim()).toBe('systemd-nspawn')
  })

  s.stage('baseline manifest', async () => {
    baseline = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-baseline.json'), JSON.stringify(baseline, null, 2))
    expect(Object.keys(baseline.packages).length).toBeGreaterThan(100)
    expect(baseline.accounts[`passwd:${USER}`]).toBeUndefined()
  })

  s.stage('vps-provision run --yes --plain exits 0 with all eight phases completed', async () => {
    const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-1' })
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
    expect(r.sessionId).not.toBeNull()
    firstSession = r.sessionId as string
    const session = await readSession(w.machine, firstSession)
    expect(session.status).toBe('COMPLETED')
    expect(session.phases.map((p) => [p.phase_name, p.status])).toEqual(PHASES.map((p) => [p, 'COMPLETED']))
    // The container is announced, and the sysctl is written but not applied.
    expect(r.stdout).toMatch(/systemd-nspawn container/)
    expect(r.stdout).not.toMatch(/terminal-setup\.sysctl-apply/)
    // Swap is the host's here: the run says so and goes on. The summary prints the fingerprint.
    expect(r.stdout).toMatch(/no swap file: swap cannot be enabled in a systemd-nspawn container/)
    expect(r.stdout).toMatch(/^Cert: +SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m)
    expect(await w.machine.exists('/etc/sysctl.d/60-vps-provision-inotify.conf')).toBe(true)
    const ufw = await w.machine.exec(['ufw', 'status'])
    expect(ufw.stdout).toMatch(/Status: active/)
    expect(ufw.stdout).toMatch(/3389\/tcp\s+ALLOW/)
    const cred = (await w.machine.readFile('/root/vps-provision-credentials')) ?? ''
    password = /^password=(.+)$/m.exec(cred)?.[1] ?? ''
    expect(password.length).toBeGreaterThanOrEqual(20)
    expect(r.stdout).not.toContain(password)
    // What a provisioned machine looks like: scenario C's resumed run must end the same way.
    const provisioned = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-provisioned.json'), JSON.stringify(provisioned, null, 2))
  })

  s.stage(
    "issue 21's defaults: fail2ban's two jails, security updates, sound, the certificate's fingerprint",
    async () => {
      const jails = await w.machine.exec(['fail2ban-client', 'status'])
      expect(jails.stdout).toMatch(/Jail list:\s+sshd, xrdp/)
      expect((await w.machine.exec(['systemctl', 'is-active', 'fail2ban'])).stdout.trim()).toBe('active')
      const origins = await w.machine.exec(['apt-config', 'dump', 'Unattended-Upgrade::Origins-Pattern'])
      expect(origins.stdout).toContain('label=Debian-Security')
      expect(origins.stdout).not.toMatch(/codename=\$\{distro_codename\}-updates/)
      const periodic = await w.machine.exec(['apt-config', 'dump', 'APT::Periodic::Unattended-Upgrade'])
      expect(periodic.stdout).toContain('"1"')
      for (const pkg of ['unattended-upgrades', 'pipewire', 'pipewire-module-xrdp', 'fail2ban']) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not ours
        const q = await w.machine.exec(['dpkg-query', '-W', '-f', '${Status}', pkg], { allowFailure: true })
        expect(q.stdout, pkg).toBe('install ok installed')
      }
      // The summary's fingerprint is the certificate's, as openssl computes it.
      const run1 = (await tool(w, ['status', firstSession, '--json'], { artifact: 'status-1' })).stdout
      const printed = (JSON.parse(run1) as { rdp_certificate?: { sha256_fingerprint: string } })
        .rdp_certificate
      const openssl = await w.machine.exec([
        'openssl',
        'x509',
        '-noout',
        '-fingerprint',
        '-sha256',
        '-in',
        '/etc/xrdp/vps-provision-cert.pem',
      ])
      expect(openssl.stdout.trim().split('=')[1]).toBe(printed?.sha256_fingerprint)
      // In a container swap is the host's: no swap file, and the run said why.
      expect(await w.machine.exists('/swapfile')).toBe(false)
    },
  )

  const sesmanLog = async () => (await w.machine.readFile('/var/log/xrdp-sesman.log')) ?? ''
  const sessionsOf = (user: string) => runningAs(w.machine, user)('xfce4-session')

  s.stage('a wrong password does not log in over RDP (AUTHFAIL)', async () => {
    const before = (await sesmanLog()).length
    const client = await connectRdp({
      host: w.machine.address,
      port: 3389,
      username: USER,
      password: `${password}x`,
      logFile: path.join(w.dir, 'freerdp-wrong-password.log'),
    })
    try {
      let log = ''
      for (let i = 0; i < 60 && !/AUTHFAIL/.test(log); i++) {
        await sleep(1000)
        log = (await sesmanLog()).slice(before)
      }
      await client.screenshot(path.join(w.dir, 'rdp-wrong-password.png')).catch(() => undefined)
      expect(log).toMatch(new RegExp(`AUTHFAIL: user=${USER}`))
      expect(log).not.toMatch(new RegExp(`create a session for user ${USER}`))
      expect(await sessionsOf(USER)).toBe(false)
    } finally {
      await client.close()
    }
  })

  s.stage('the developer logs in over RDP and gets the XFCE desktop', async () => {
    const before = (await sesmanLog()).length
    let client: RdpClient | null = null
    try {
      client = await connectRdp({
        host: w.machine.address,
        port: 3389,
        username: USER,
        password,
        logFile: path.join(w.dir, 'freerdp.log'),
      })
      const shot = path.join(w.dir, 'rdp-desktop.png')
      const seen = await waitForDesktop({
        client,
        user: USER,
        sesmanLog: async () => (await sesmanLog()).slice(before),
        running: runningAs(w.machine, USER),
        shot,
        timeoutMs: 90_000,
      })
      w.log(
        `screenshot ${shot}: mean brightness ${seen.mean.toFixed(3)} after ${seen.seconds} s, ${seen.settled ? 'picture settled' : 'picture never settled'}`,
      )
      expect(seen.created).toBe(true)
      expect(seen.session).toBe(true)
      expect(seen.mean).toBeGreaterThan(DRAWN_DESKTOP)
    } finally {
      await client?.close()
    }
  })

  s.stage('vps-provision verify exits 0', async () => {
    const r = await tool(w, ['verify', '--plain'], { artifact: 'verify', timeoutMs: 10 * 60_000 })
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
  })

  s.stage('a re-run exits 0, skips every phase that changes things, and journals nothing', async () => {
    const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-2', timeoutMs: 15 * 60_000 })
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
    const id = r.sessionId as string
    const session = await readSession(w.machine, id)
    for (const p of session.phases) {
      expect([p.phase_name, p.status]).toEqual([
        p.phase_name,
        READ_ONLY.has(p.phase_name) ? 'COMPLETED' : 'SKIPPED',
      ])
    }
    expect(await journalActions(w.machine, id)).toEqual([])
  })

  s.stage('rollback of the first session returns the machine to its baseline', async () => {
    const r = await tool(w, ['rollback', firstSession, '--yes', '--plain'], {
      artifact: 'rollback',
      timeoutMs: 20 * 60_000,
    })
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
    expect((await journalActions(w.machine, firstSession)).filter((a) => a.state !== 'undone')).toEqual([])
    const after = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-after-rollback.json'), JSON.stringify(after, null, 2))
    // What logind still holds after the rollback (a session scope left behind is a manifest difference).
    const sessions = await w.machine.sh(
      'loginctl list-sessions --no-pager; systemctl status --no-pager "session-*.scope" 2>&1; ps -eo pid,uid,unit,args',
      { allowFailure: true },
    )
    await writeFile(path.join(w.dir, 'sessions-after-rollback.txt'), `${sessions.stdout}${sessions.stderr}`)
    const diff = diffManifests(baseline, after, ROLLBACK_EXCLUSIONS)
    const all = diffManifests(baseline, after)
    await writeFile(
      path.join(w.dir, 'manifest-diff.txt'),
      `# differences left after the exclusions (must be none):\n${formatDiff(diff)}\n\n# every difference, excluded ones included:\n${formatDiff(all)}\n`,
    )
    expect(formatDiff(diff)).toBe('')
    expect(after.listening.some((l) => /:3389$/.test(l))).toBe(false)
    const user = await w.machine.exec(['getent', 'passwd', USER], { allowFailure: true })
    expect(user.exitCode).not.toBe(0)
  })
})
