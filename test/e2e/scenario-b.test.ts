// Scenario B: a new server provisioned by cloud-init alone. A trixie VM boots with a NoCloud seed
// whose user-data is exactly what `vps-provision cloud-init --config FILE --from-bundle URL
// --sha256 HEX` prints; nobody logs in until it is done. Then: cloud-init finished cleanly, the
// first-boot unit's run COMPLETED, the generated password is nowhere but the credentials file
// (0600), ufw is active and a fresh SSH login (root and the developer) still works, the running
// kernel has the sysctl the run set, and RDP through the 127.0.0.1 forward logs the developer in.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { INOTIFY_WATCHES, SYSCTL_DROPIN } from '../../phases/terminal-setup.js'
import { FIRST_BOOT_LOG, FIRST_BOOT_UNIT_FILE } from '../../src/cli/cloud-init.js'
import { recordCase } from '../support/reliability.js'
import { takeManifest } from './harness/manifest.js'
import { connectRdp, DRAWN_DESKTOP, rdpToolsMissing, runningAs, waitForDesktop } from './harness/rdp.js'
import { stages } from './harness/stages.js'
import { collectToolState, readSession } from './harness/tool.js'
import {
  expectUnitSucceeded,
  followFirstBoot,
  makeSeed,
  sessionIdsIn,
  whereIsSecret,
} from './harness/vm-cloud-init.js'
import { startVmWorld, type VmWorld, vmFullRunSkipReason, vmSkipReason } from './harness/vm-world.js'
import { buildTool } from './harness/world.js'

const skip = (await vmSkipReason()) ?? vmFullRunSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e scenario B: ${skip} ***\n`)
const noRdp = (await rdpToolsMissing()).join(', ')

describe.skipIf(skip !== null)('e2e scenario B: cloud-init provisions a new VM on its first boot', () => {
  let w: VmWorld
  let password = ''
  let sessionId = ''
  const s = stages()
  const phaseTimes: Record<string, number> = {}

  beforeAll(async () => {
    await buildTool()
    w = await startVmWorld({
      scenario: 'scenario-b',
      warmAptCache: true,
      machineName: 'e2e-b',
      seed: (partial) => makeSeed(partial, `e2e-b-${Date.now()}`),
      waitForBoot: false,
    })
  }, 40 * 60_000)

  afterAll(async () => {
    if (!w) return
    await collectToolState(w).catch(() => undefined)
    for (const f of ['/var/log/cloud-init.log', '/var/log/cloud-init-output.log', FIRST_BOOT_LOG]) {
      const text = await w.machine.readFile(f).catch(() => null)
      // The password is in none of them (asserted below), so they are safe to keep as artifacts.
      if (text !== null && (password === '' || !text.includes(password)))
        await writeFile(path.join(w.dir, path.basename(f)), text)
    }
    await s.writeTimings(w.dir, { accel: w.machine.accel, phaseSeconds: phaseTimes })
    await w.close()
  }, 10 * 60_000)

  s.stage(
    'cloud-init finishes with status done',
    async () => {
      const r = await w.machine.exec(['cloud-init', 'status', '--wait', '--long'], {
        allowFailure: true,
        timeoutMs: 40 * 60_000,
      })
      w.log(`cloud-init status: exit ${r.exitCode}\n${r.stdout}`)
      expect(r.exitCode, r.stdout + r.stderr).toBe(0)
      // `--wait` prints a dot per second on the same line before "status: done".
      expect(r.stdout).toMatch(/^\.*status: done$/m)
    },
    45 * 60_000,
  )

  s.stage(
    'the first-boot unit runs vps-provision to a COMPLETED session, then deletes its unit file',
    async () => {
      const { state, log } = await followFirstBoot(w, { timeoutMs: 100 * 60_000 })
      expectUnitSucceeded(state, log)
      const ids = sessionIdsIn(log)
      expect(ids.length, log.slice(-3000)).toBe(1)
      sessionId = ids[0] as string
      const session = await readSession(w.machine, sessionId)
      for (const p of session.phases) phaseTimes[p.phase_name] = p.duration_seconds
      w.log(
        `session ${sessionId}: ${session.status} in ${session.duration_seconds} s; phases ${JSON.stringify(phaseTimes)}`,
      )
      expect(session.status).toBe('COMPLETED')
      expect(session.phases.every((p) => p.status === 'COMPLETED')).toBe(true)
      expect(await w.machine.exists(FIRST_BOOT_UNIT_FILE)).toBe(false)
      // What an undisturbed cloud-init provisioning leaves: scenario C (VM) compares with it.
      const provisioned = await takeManifest(w.machine)
      await writeFile(path.join(w.dir, 'manifest-provisioned.json'), JSON.stringify(provisioned, null, 2))
    },
    105 * 60_000,
  )

  s.stage('the password is only in /root/vps-provision-credentials (0600), in no log', async () => {
    const st = await w.machine.exec(['stat', '-c', '%a %U:%G', '/root/vps-provision-credentials'])
    expect(st.stdout.trim()).toBe('600 root:root')
    const cred = (await w.machine.readFile('/root/vps-provision-credentials')) ?? ''
    password = /^password=(.+)$/m.exec(cred)?.[1] ?? ''
    expect(password.length).toBeGreaterThanOrEqual(20)
    const started = Date.now()
    const found = await whereIsSecret(w.machine, password)
    w.log(`the password was found in: ${found.join('; ')}`)
    recordCase(
      {
        id: 'vm.cloud-init.password-in-no-log',
        area: 'secrets',
        case: 'cloud-init first-boot run: the password only in the 0600 credentials file',
        injection:
          'a VM provisioned by cloud-init user-data from `vps-provision cloud-init`; grep -F inside (secret on stdin) over the cloud-init logs, the tool logs, journalctl -b and every file on /',
        expected: 'found only in /root/vps-provision-credentials (0600 root:root)',
        observed: `found in: ${found.join('; ')}`,
        backend: 'vm',
        passed: found.join('|') === 'file: /root/vps-provision-credentials',
      },
      { file: 'test/e2e/scenario-b.test.ts', durationMs: Date.now() - started },
    )
    expect(found).toEqual(['file: /root/vps-provision-credentials'])
  })

  s.stage('ufw is active and a fresh SSH login still works, as root and as the developer', async () => {
    const started = Date.now()
    const ufw = await w.machine.exec(['ufw', 'status', 'verbose'])
    expect(ufw.stdout).toMatch(/^Status: active$/m)
    const root = await w.machine.ssh(['id', '-un'], { timeoutMs: 60_000 })
    const user = /^username=(.+)$/m.exec(
      (await w.machine.readFile('/root/vps-provision-credentials')) ?? '',
    )?.[1]
    const dev = await w.machine.sshAs(user ?? 'devuser', path.join(w.runDir, 'qemu', 'id_ed25519'), [
      'id',
      '-un',
    ])
    const observed = `ufw: ${/^Status: .*$/m.exec(ufw.stdout)?.[0]}; new SSH as root: exit ${root.exitCode} (${root.stdout.trim()}); as ${user}: exit ${dev.exitCode} (${dev.stdout.trim()}${dev.stderr.trim()})`
    w.log(observed)
    const passed = root.exitCode === 0 && dev.exitCode === 0 && ufw.stdout.includes('Status: active')
    recordCase(
      {
        id: 'vm.firewall-keeps-ssh',
        area: '5 firewall',
        case: 'ufw enabled by the run keeps SSH open (real kernel netfilter)',
        injection:
          'cloud-init first-boot run on a qemu VM, then new SSH connections through the 127.0.0.1 forward',
        expected: 'ufw active; new SSH logins as root and as the developer succeed',
        observed,
        backend: 'vm',
        passed,
      },
      { file: 'test/e2e/scenario-b.test.ts', durationMs: Date.now() - started },
    )
    expect(root.exitCode, root.stderr).toBe(0)
    expect(dev.exitCode, dev.stderr).toBe(0)
  })

  // A container's /proc/sys is read-only, so only here does terminal-setup apply its sysctl.
  s.stage('the running kernel has the inotify watch limit the run set with sysctl', async () => {
    const started = Date.now()
    const live = Number((await w.machine.readFile('/proc/sys/fs/inotify/max_user_watches'))?.trim())
    const dropIn = (await w.machine.readFile(SYSCTL_DROPIN)) ?? ''
    const setting = `max_user_watches = ${INOTIFY_WATCHES}`
    const observed = `fs.inotify.max_user_watches = ${live} in the running kernel; ${SYSCTL_DROPIN} ${dropIn ? 'present' : 'absent'}`
    w.log(observed)
    const passed = live === INOTIFY_WATCHES && dropIn.includes(setting)
    recordCase(
      {
        id: 'vm.sysctl-applied',
        area: 'kernel settings',
        case: 'terminal-setup raises the inotify watch limit in the running kernel (real kernel)',
        injection: 'cloud-init first-boot run on a qemu VM, then /proc/sys read inside',
        expected: `${setting} now, and the drop-in that keeps it after a reboot`,
        observed,
        backend: 'vm',
        passed,
      },
      { file: 'test/e2e/scenario-b.test.ts', durationMs: Date.now() - started },
    )
    expect(live).toBe(INOTIFY_WATCHES)
    expect(dropIn).toContain(setting)
  })

  s.stage(
    'RDP through the 127.0.0.1 forward logs the developer in to a drawn XFCE desktop',
    async () => {
      if (noRdp) {
        console.warn(`*** SKIPPED RDP in scenario B: host tools missing: ${noRdp} ***`)
        return
      }
      const cred = (await w.machine.readFile('/root/vps-provision-credentials')) ?? ''
      const user = /^username=(.+)$/m.exec(cred)?.[1] ?? 'devuser'
      const before = ((await w.machine.readFile('/var/log/xrdp-sesman.log')) ?? '').length
      const client = await connectRdp({
        host: '127.0.0.1',
        port: w.machine.rdpPort,
        username: user,
        password,
        logFile: path.join(w.dir, 'freerdp.log'),
      })
      try {
        // Under TCG the first XFCE login takes minutes (scenario A's container: ~10 s).
        const seen = await waitForDesktop({
          client,
          user,
          sesmanLog: async () => ((await w.machine.readFile('/var/log/xrdp-sesman.log')) ?? '').slice(before),
          running: runningAs(w.machine, user),
          shot: path.join(w.dir, 'rdp-desktop.png'),
          timeoutMs: 12 * 60_000,
        })
        w.log(
          `RDP: session ${seen.created ? 'created' : 'NOT created'}, XFCE ${seen.session ? 'running' : 'NOT running'}, screenshot mean ${seen.mean.toFixed(3)} after ${seen.seconds} s, ${seen.settled ? 'picture settled' : 'picture never settled'}`,
        )
        expect(seen.created, 'xrdp-sesman created a session').toBe(true)
        expect(seen.session, 'xfce4-session, xfdesktop and xfce4-panel run as the user').toBe(true)
        expect(seen.mean, 'the screenshot shows a drawn desktop').toBeGreaterThan(DRAWN_DESKTOP)
      } finally {
        await client.close()
      }
    },
    20 * 60_000,
  )
})
