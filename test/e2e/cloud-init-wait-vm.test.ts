// Issue 23 item 3: cloud-init that can be waited on. A qemu VM boots with exactly the user-data
// `vps-provision cloud-init` prints (NoCloud seed); as soon as SSH answers, the test runs the
// documented wait command (FIRST_BOOT_WAIT_COMMAND, docs/cloud-init.md "Waiting for the run") in
// that one SSH connection. It must return only after the first-boot run ended, with the run's exit
// code: the session's end_time (status --json) is no later than the moment the command returned,
// and its code is the session's and the unit's (ExecMainStatus). The VM has 1 GiB of RAM, so the
// run fails in preflight (exit 1): a short run that still starts after cloud-init, as a full run
// does, and a non-zero code that a wait returning too early could not guess.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { FIRST_BOOT_UNIT, FIRST_BOOT_WAIT_COMMAND } from '../../src/cli/first-boot-names.js'
import { exitCodeOfSession } from '../../src/cli/wait.js'
import { MIN_MEMTOTAL_MIB } from '../../src/facts/requirements.js'
import { ProvisioningSession as SessionSchema } from '../../src/model/schemas.js'
import { recordCase } from '../support/reliability.js'
import { stages } from './harness/stages.js'
import { makeSeed } from './harness/vm-cloud-init.js'
import { startVmWorld, type VmWorld, vmSkipReason } from './harness/vm-world.js'
import { buildTool } from './harness/world.js'

const skip = await vmSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e cloud-init wait (VM): ${skip} ***\n`)

const FILE = 'test/e2e/cloud-init-wait-vm.test.ts'

/** Guest-side marks around the documented command, on stderr (its stdout is the session's status). */
const SCRIPT = `mark() { printf '@@%s %s\\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" >&2; }
mark begin
printf '@@cloud-init %s\\n' "$(cloud-init status 2>/dev/null | tr '\\n' ' ')" >&2
printf '@@installed %s\\n' "$(command -v vps-provision || echo none)" >&2
printf '@@sessions %s\\n' "$(ls /var/vps-provision/sessions 2>/dev/null | wc -l)" >&2
${FIRST_BOOT_WAIT_COMMAND}
rc=$?
mark end
exit $rc
`

describe.skipIf(skip !== null)(
  'e2e cloud-init wait (VM): the documented wait returns after the first-boot run, with its code',
  () => {
    let w: VmWorld
    let connectedAt = 0
    const s = stages()

    beforeAll(async () => {
      await buildTool()
      w = await startVmWorld({
        scenario: 'cloud-init-wait-vm',
        machineName: 'e2e-waitvm',
        memoryMiB: 1024,
        seed: (partial) => makeSeed(partial, `e2e-waitvm-${Date.now()}`),
        // Return as soon as SSH answers: the wait must start while cloud-init still works.
        waitForBoot: false,
      })
      connectedAt = Date.now()
    }, 45 * 60_000)

    afterAll(async () => {
      if (!w) return
      await s.writeTimings(w.dir, { accel: w.machine.accel })
      await w.close()
    }, 10 * 60_000)

    s.stage(
      'SSH at once, the documented wait: it returns after the run ended, with the run exit code',
      async () => {
        const t0 = Date.now()
        // One SSH connection, the documented command inside it (as an orchestrator's remote-exec runs it).
        const r = await w.machine.ssh(['sh', '-c', SCRIPT], { timeoutMs: 60 * 60_000 })
        const waitedMs = Date.now() - t0
        await writeFile(
          path.join(w.dir, 'wait-output.txt'),
          `exit ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n`,
        )
        const mark = (k: string) => new RegExp(`^@@${k} (.*)$`, 'm').exec(r.stderr)?.[1]?.trim() ?? ''
        const begin = mark('begin')
        const end = mark('end')
        w.log(
          `wait: exit ${r.exitCode} after ${Math.round(waitedMs / 1000)} s (SSH had answered ${Math.round((t0 - connectedAt) / 1000)} s before); at its start cloud-init "${mark('cloud-init')}", vps-provision ${mark('installed')}, ${mark('sessions')} sessions`,
        )
        expect(begin, r.stderr.slice(-2000)).not.toBe('')
        expect(end, r.stderr.slice(-2000)).not.toBe('')

        const json = await w.machine.ssh(['vps-provision', 'status', '--json', 'latest'], {
          timeoutMs: 5 * 60_000,
        })
        // status exits with 0 for a readable session, whatever its run's outcome.
        expect(json.exitCode, json.stderr).toBe(0)
        const session = SessionSchema.parse(JSON.parse(json.stdout))
        await writeFile(path.join(w.dir, 'session.json'), json.stdout)
        const unit = await w.machine.ssh(
          [
            'systemctl',
            'show',
            '-p',
            'ActiveState',
            '-p',
            'ExecMainStatus',
            '-p',
            'ExecMainExitTimestamp',
            `${FIRST_BOOT_UNIT}.service`,
          ],
          { timeoutMs: 60_000 },
        )
        const unitStatus = Number(/^ExecMainStatus=(\d+)$/m.exec(unit.stdout)?.[1] ?? Number.NaN)
        const sessions = await w.machine.ssh(['ls', '/var/vps-provision/sessions'], { timeoutMs: 60_000 })
        const sessionCount = sessions.stdout.split('\n').filter((l) => l.startsWith('session-')).length
        const derived = exitCodeOfSession(session)
        const endTime = session.end_time ?? ''
        const observed = `wait began ${begin} (cloud-init "${mark('cloud-init')}", vps-provision ${mark('installed')}), session ${session.session_id} ${session.status} ${session.start_time} .. ${endTime}, wait returned ${end} with exit ${r.exitCode}; session code ${derived}, unit ExecMainStatus ${unitStatus} (${/^ActiveState=(.*)$/m.exec(unit.stdout)?.[1]}); ${sessionCount} session(s)`
        w.log(observed)
        const passed =
          endTime !== '' &&
          Date.parse(begin) < Date.parse(session.start_time) &&
          Date.parse(endTime) <= Date.parse(end) &&
          r.exitCode === derived &&
          r.exitCode === unitStatus &&
          r.exitCode === 1 &&
          sessionCount === 1
        recordCase(
          {
            id: 'vm.cloud-init-wait',
            area: 'cloud-init (issue 23 item 3)',
            case: 'an orchestrator waits over SSH for the first-boot run, connecting as soon as SSH answers',
            injection: `qemu VM, NoCloud seed from vps-provision cloud-init, 1 GiB RAM (preflight requires MemTotal >= ${MIN_MEMTOTAL_MIB} MiB); one SSH command: ${FIRST_BOOT_WAIT_COMMAND}`,
            expected:
              "it began before the run's session existed, returned after its end_time, with the run's code (1) = the session's = the unit's",
            observed,
            backend: 'vm',
            passed,
          },
          { file: FILE, durationMs: waitedMs },
        )
        // The wait began before the run had a session: the race an orchestrator meets.
        expect(Date.parse(begin)).toBeLessThan(Date.parse(session.start_time))
        expect(endTime, 'the session has ended').not.toBe('')
        // It returned only after the run ended (both times from the guest's clock).
        expect(Date.parse(endTime)).toBeLessThanOrEqual(Date.parse(end))
        // With the run's exit code: preflight refused 1 GiB (docs/exit-codes.md), as the unit saw it.
        expect(session.status).toBe('FAILED')
        expect(r.exitCode).toBe(derived)
        expect(r.exitCode).toBe(unitStatus)
        expect(r.exitCode, r.stdout.slice(-2000)).toBe(1)
        expect(r.stdout).toContain(`Session ${session.session_id} (run): FAILED`)
        expect(sessionCount).toBe(1)
      },
      65 * 60_000,
    )
  },
)
