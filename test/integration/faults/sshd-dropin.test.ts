// Issue 5, case 14 on a real trixie root with the real OpenSSH: an sshd drop-in that `sshd -t`
// rejects is never installed. The configuration has no free-form sshd option (only the
// ssh.disableRootLogin / ssh.disablePasswordAuth booleans), so the content itself cannot be made
// invalid; instead the real `sshd -t -f CANDIDATE` is made to fail the way it does on a machine
// whose host keys are gone: /etc/ssh/ssh_host_* are deleted, and sshd exits "no hostkeys available".
// Then, as the positive control in the same root, `ssh-keygen -A` and the same run installs the
// drop-in, and the full configuration passes the real `sshd -t`.
// (The fake-system proof of the same case stays in test/unit/detached-engine.test.ts.)
//
// A chroot has no systemd, so no sshd reload step is planned (facts.systemd is false); the
// privilege separation directory /run/sshd, which ssh.service's RuntimeDirectory makes on a real
// machine, is created by hand before the control, since `sshd -t` requires it.
//
//   sudo npx vitest run --project integration test/integration/faults/sshd-dropin.test.ts

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chroot } from '../../lab/chroot.js'
import { compareManifests, type Manifest } from '../support/manifest.js'
import {
  ALLOW_OTHER_PASSWORD,
  describeComparison,
  exitText,
  type FaultRoot,
  hasStackTrace,
  LOG_DIR,
  prepareFaultRoot,
  RUN_USER_CREATION,
  regenerateReportAfterAll,
  sessionOf,
  skipReason,
  tail,
  warnIfSkipped,
} from './fixture.js'

const FILE = 'sshd-dropin.test.ts'
warnIfSkipped(FILE)
const DROPIN = '/etc/ssh/sshd_config.d/00-vps-provision.conf'
const CANDIDATE = '/etc/ssh/sshd_config.d/.00-vps-provision.conf.vps-provision-tmp'
const failedLine = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('Failed:')) ?? ''

/** The manifest's entries under /etc/ssh (type, mode, owner, sha256 of every file). */
const etcSsh = (m: Manifest) =>
  Object.fromEntries(Object.entries(m.files).filter(([p]) => p === '/etc/ssh' || p.startsWith('/etc/ssh/')))

describe.skipIf(skipReason !== '')('faults: an sshd drop-in the real sshd -t rejects', () => {
  let fr: FaultRoot
  regenerateReportAfterAll()

  beforeAll(async () => {
    fr = await prepareFaultRoot({
      label: 'sshd-dropin',
      // A cloud image ships both; openssh-server's postinst generates the host keys.
      preinstall: ['sudo', 'openssh-server'],
      config: { ssh: { disablePasswordAuth: true } },
    })
  }, 900_000)
  afterAll(async () => {
    await fr?.remove()
  }, 300_000)

  /** Journal records (any session) whose target is in sshd_config.d. */
  const dropinRecords = (ch: Chroot) =>
    ch
      .sh(`cat ${LOG_DIR}/transaction-*.log 2>/dev/null | grep -c 'sshd_config\\.d' || true`)
      .then((r) => Number(r.stdout.trim()))

  it('case 14: host keys gone, real sshd -t fails: no drop-in; with keys back it is installed', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-14.invalid-sshd-dropin-real',
        area: '14 SSH and firewall',
        case: 'an sshd drop-in that the real sshd -t rejects (real OpenSSH on trixie)',
        injection:
          'openssh-server installed, /etc/ssh/ssh_host_* deleted, so the real `sshd -t -f CANDIDATE` fails ("no hostkeys available"); ssh.disablePasswordAuth on; `run --only user-creation`',
        expected:
          "exit 2 naming the drop-in and sshd's reason; no drop-in, no candidate left, no journaled action on sshd_config.d, /etc/ssh otherwise unchanged; after `ssh-keygen -A` the re-run exits 0, installs PasswordAuthentication no and the full `sshd -t` passes; rollback of both sessions reaches the baseline (host keys excepted)",
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          // Sanity: the real sshd accepts the stock configuration before the injection.
          await ch.exec(['mkdir', '-p', '/run/sshd'])
          const stock = await ch.exec(['sshd', '-t'], { allowFailure: true })
          expect(stock.exitCode, stock.stderr).toBe(0)

          await ch.sh('rm -f /etc/ssh/ssh_host_*')
          const before = await fr.manifest(ch)
          const r = await fr.tool(ch, RUN_USER_CREATION)
          const failed = failedLine(r.stderr)
          // The line without its hint (what to do), so the row keeps sshd's own reason.
          seen.push(`${exitText(r)}: ${failed.split(' (hint')[0]?.replace(/^Failed: /, '')}`)
          expect(r.exitCode, tail(r, 60)).toBe(2)
          expect(failed).toContain(`Unable to validate ${DROPIN}`)
          expect(failed).toMatch(/no hostkeys available/)
          expect(hasStackTrace(r)).toBe(false)

          const after = await fr.manifest(ch)
          const dropin = after.files[DROPIN]
          const candidate = after.files[CANDIDATE]
          const records = await dropinRecords(ch)
          const sshBefore = etcSsh(before)
          const sshAfter = etcSsh(after)
          const sshChanged = [...new Set([...Object.keys(sshBefore), ...Object.keys(sshAfter)])].filter(
            (p) => sshBefore[p] !== sshAfter[p],
          )
          seen.push(
            `drop-in ${dropin ? 'PRESENT' : 'absent'}, candidate ${candidate ? 'LEFT' : 'gone'}, journal records on sshd_config.d ${records}, /etc/ssh entries changed ${sshChanged.length}/${Object.keys(sshBefore).length}`,
          )
          expect(dropin).toBeUndefined()
          expect(candidate).toBeUndefined()
          expect(records).toBe(0)
          expect(sshChanged).toEqual([])

          // Positive control: host keys back, the same run installs the drop-in.
          await ch.exec(['ssh-keygen', '-A'])
          const ok = await fr.tool(ch, RUN_USER_CREATION)
          seen.push(`ssh-keygen -A, re-run ${exitText(ok)}`)
          expect(ok.exitCode, tail(ok, 60)).toBe(0)
          const text = await ch.readFile(DROPIN)
          const left = (await ch.exec(['ls', '-A', '/etc/ssh/sshd_config.d'])).stdout.trim().split('\n')
          const full = await ch.exec(['sshd', '-t'], { allowFailure: true })
          const effective = await ch.exec(['sshd', '-T'], { allowFailure: true })
          const pwAuth = /^passwordauthentication (\S+)$/m.exec(effective.stdout)?.[1] ?? '?'
          seen.push(
            `drop-in "PasswordAuthentication no" ${/^PasswordAuthentication no$/m.test(text)}, sshd_config.d: ${left.join(' ')}, sshd -t exit ${full.exitCode}, sshd -T passwordauthentication ${pwAuth}`,
          )
          expect(text).toMatch(/^PasswordAuthentication no$/m)
          expect(left).toEqual(['00-vps-provision.conf'])
          expect(full.exitCode, full.stderr).toBe(0)
          expect(pwAuth).toBe('no')

          // Both sessions rolled back, newest first: the baseline, except the regenerated host keys.
          const firstId = sessionOf(r.stdout)
          const secondId = sessionOf(ok.stdout)
          expect(firstId).not.toBe('')
          expect(secondId).not.toBe('')
          const rollbacks: string[] = []
          for (const id of [secondId, firstId]) {
            const rb = await fr.tool(ch, ['rollback', id, '--yes', '--plain'])
            rollbacks.push(exitText(rb))
            expect(rb.exitCode, tail(rb)).toBe(0)
          }
          seen.push(`rollback of both sessions: ${rollbacks.join(', ')}`)
          const keys = Object.keys(etcSsh(fr.baseline)).filter((p) => p.startsWith('/etc/ssh/ssh_host_'))
          const c = compareManifests(fr.baseline, await fr.manifest(ch), {
            ...ALLOW_OTHER_PASSWORD,
            mayChange: {
              ...ALLOW_OTHER_PASSWORD.mayChange,
              ...Object.fromEntries(keys.map((k) => [k, 'host key regenerated by the test (ssh-keygen -A)'])),
            },
          })
          seen.push(describeComparison('the baseline (host keys regenerated)', c))
          expect(c.problems).toEqual([])
        })
      },
    )
  })
})
