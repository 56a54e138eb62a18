// Lock-out insurance (issue 21 item 7) in the VM backend: a Debian 13 VM under qemu (TCG here),
// reached only through its own sshd on a forwarded port, as a VPS is. test/e2e/ssh-guard.test.ts
// proves the same in the booted container, with the confirmed case too.
//
// The change that blocks SSH: `ssh.disableRootLogin: true` makes user-creation write the drop-in
// `PermitRootLogin no` and reload sshd. The harness reaches the VM as root over SSH, so from then on
// the harness itself is locked out. The run is started at a terminal (`ssh -tt`), so it arms the
// revert timer and waits for `vps-provision confirm`. While root is locked out, the developer (who
// got root's keys) SIGKILLs the worker unit through sudo, and the SSH client is dropped: the tool is
// dead. The timer must still fire, put the drop-in back and reload sshd, and root's SSH login (the
// harness's own way in) must answer again.
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { sleep } from '../lab/mounts.js'
import { type RunResult, run } from '../lab/proc.js'
import { recordCase } from '../support/reliability.js'
import { shq } from './harness/qemu.js'
import { stages } from './harness/stages.js'
import { collectToolState, installTool, journalActions, TOOL_CONFIG } from './harness/tool.js'
import { startVmWorld, type VmWorld, vmSkipReason } from './harness/vm-world.js'
import { buildTool, standInConfig } from './harness/world.js'

const skip = await vmSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e ssh-guard (VM): ${skip} ***\n`)

/** Said in each row, so docs/reliability.md tells how to see it again (as root). */
const REPRODUCE = 'reproduce: E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/ssh-guard-vm.test.ts'
const FILE = 'test/e2e/ssh-guard-vm.test.ts'
const SECONDS = 60
const DROPIN = '/etc/ssh/sshd_config.d/00-vps-provision.conf'

describe.skipIf(skip !== null)(
  'e2e lock-out insurance (VM): the timer undoes a change that locked SSH out',
  () => {
    let w: VmWorld
    const s = stages()
    const save = (name: string, text: string) => writeFile(path.join(w.dir, name), text)

    /** ssh to the VM as `user` with the harness's key (root's, which user-creation copies). */
    const sshArgv = (user: string, remote: readonly string[], extra: readonly string[] = []) => [
      'ssh',
      '-i',
      path.join(w.runDir, 'qemu', 'id_ed25519'),
      '-p',
      String(w.machine.sshPort),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=30',
      ...extra,
      `${user}@127.0.0.1`,
      '--',
      remote.map(shq).join(' '),
    ]
    const as = (user: string, remote: readonly string[]): Promise<RunResult> =>
      run(sshArgv(user, remote), { allowFailure: true, timeoutMs: 120_000 })

    beforeAll(async () => {
      await buildTool()
      w = await startVmWorld({ scenario: 'ssh-guard-vm', machineName: 'e2e-sgvm' })
      await installTool(w.machine)
      // The image's apt lists are not there yet (system-prep's apt update is not part of this run):
      // user-creation installs sudo itself, and needs the lists for it.
      await w.machine.exec(['apt-get', 'update', '-q'], { timeoutMs: 15 * 60_000 })
      await w.machine.writeFile(
        TOOL_CONFIG,
        `${standInConfig(w)}ssh:\n  disableRootLogin: true\n  confirmTimeoutSeconds: ${SECONDS}\n`,
        0o600,
      )
    }, 40 * 60_000)

    afterAll(async () => {
      if (!w) return
      await collectToolState(w).catch(() => undefined)
      await s.writeTimings(w.dir, { accel: w.machine.accel })
      await w.close()
    }, 10 * 60_000)

    s.stage('killed while root is locked out: the systemd timer reverts and SSH answers again', async () => {
      const started = Date.now()
      expect((await as('root', ['true'])).exitCode).toBe(0)
      const [file, ...args] = sshArgv(
        'root',
        ['vps-provision', 'run', '--only', 'user-creation', '--yes'],
        ['-tt'],
      )
      const client = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      client.stdout?.on('data', (b: Buffer) => {
        out += b.toString('utf8')
      })
      client.stderr?.on('data', (b: Buffer) => {
        out += b.toString('utf8')
      })
      // Root's login refused: the drop-in is in place and sshd reloaded it.
      let lockedAt = 0
      let refusal = ''
      while (Date.now() - started < 30 * 60_000) {
        const r = await as('root', ['true'])
        if (r.exitCode === 255 && /Permission denied/.test(r.stderr)) {
          lockedAt = Date.now()
          refusal = r.stderr.trim().split('\n')[0] ?? ''
          break
        }
        await sleep(3000)
      }
      expect(lockedAt, out.slice(-3000)).toBeGreaterThan(0)
      // The developer's view: the timer counts, the drop-in says PermitRootLogin no.
      const view = await as('devuser', [
        'sh',
        '-c',
        `sudo systemctl list-units --plain --no-legend --full --type=timer 'vps-provision-revert-*'; sudo cat ${DROPIN}`,
      ])
      const timer = /vps-provision-revert-(\d{8}-\d{6}-[0-9a-z]{6})\.timer/.exec(view.stdout)
      expect(timer, view.stdout + view.stderr).not.toBeNull()
      const session = timer?.[1] as string
      // The tool dies: its worker SIGKILLed, its SSH client dropped.
      const kill = await as('devuser', [
        'sudo',
        'systemctl',
        'kill',
        '--signal=SIGKILL',
        `vps-provision-${session}.service`,
      ])
      client.kill('SIGKILL')
      await save('killed-client.out', out)
      let back = -1
      let backAfterMs = -1
      while (Date.now() - lockedAt < (SECONDS + 240) * 1000) {
        back = (await as('root', ['true'])).exitCode
        if (back === 0) {
          backAfterMs = Date.now() - lockedAt
          break
        }
        await sleep(3000)
      }
      const dropinAfter = back === 0 ? await w.machine.readFile(DROPIN) : 'unreachable'
      const actions = back === 0 ? await journalActions(w.machine, session) : []
      const undone = actions.filter((a) => a.state === 'undone')
      const unitLog =
        back === 0
          ? (
              await w.machine.exec(
                [
                  'journalctl',
                  '--unit',
                  `vps-provision-revert-${session}.service`,
                  '--no-pager',
                  '--output=cat',
                ],
                { allowFailure: true },
              )
            ).stdout
          : ''
      await save('revert-unit.log', unitLog)
      const observed = `${w.machine.accel}; root ssh refused after the drop-in (${refusal}); timer ${timer?.[0]} armed, drop-in ${view.stdout.includes('PermitRootLogin no') ? 'PermitRootLogin no' : '?'}; worker SIGKILL (sudo, as the developer) exit ${kill.exitCode}; root ssh answered again ${backAfterMs >= 0 ? `${Math.round(backAfterMs / 1000)} s after it was refused` : 'NEVER'} (exit ${back}); drop-in after: ${dropinAfter === null ? 'absent' : 'present'}; ${undone.length} actions recorded undone; revert unit: ${unitLog.includes('reloaded ssh') ? 'reloaded ssh' : 'no reload seen'}`
      const passed =
        view.stdout.includes('PermitRootLogin no') &&
        kill.exitCode === 0 &&
        back === 0 &&
        dropinAfter === null &&
        undone.length > 0 &&
        unitLog.includes('reloaded ssh')
      recordCase(
        {
          id: 'ssh-guard.vm-killed-timer-reverts',
          area: 'lock-out insurance (issue 21 item 7)',
          case: "a change that locks the harness's own root SSH out of a VM, the tool killed while it waits",
          injection:
            `run --only user-creation with ssh.disableRootLogin at a terminal (ssh -tt), ssh.confirmTimeoutSeconds ${SECONDS}; once root's login is refused, the developer SIGKILLs the worker unit through sudo and the SSH client is killed` +
            `; ${REPRODUCE}`,
          expected:
            "the systemd transient timer fires, revert-pending removes the drop-in and reloads sshd, root's SSH login answers again; the undo is in the journal",
          observed,
          backend: 'vm',
          passed,
        },
        { file: FILE, durationMs: Date.now() - started },
      )
      expect(kill.exitCode, kill.stderr).toBe(0)
      expect(back).toBe(0)
      expect(dropinAfter).toBeNull()
      expect(undone.length).toBeGreaterThan(0)
    })
  },
)
