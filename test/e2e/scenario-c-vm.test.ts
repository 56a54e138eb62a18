// Scenario C, VM half (issue 5, case 3: power loss): a cloud-init VM like scenario B's is reset
// with QMP system_reset (no shutdown, nothing flushed by the guest) while desktop-install's dpkg
// works. At the next boot the first-boot unit starts again by itself and the run resumes: it must
// complete, leave `dpkg --audit` empty, every checkpoint valid (old or new, never empty or torn),
// the interrupted session FAILED, and the machine like scenario B's undisturbed one.
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { z } from 'zod'
import { DEV_GROUP } from '../../phases/user-creation.js'
import { Checkpoint } from '../../src/model/schemas.js'
import { sleep } from '../lab/mounts.js'
import { recordCase } from '../support/reliability.js'
import { DEV_USER, PROVISIONED_EXCLUSIONS } from './harness/exclusions.js'
import { diffManifests, type Exclusion, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { stages } from './harness/stages.js'
import { collectToolState, journalActions, readSession, tool } from './harness/tool.js'
import {
  expectUnitSucceeded,
  followFirstBoot,
  makeSeed,
  sessionIdsIn,
  whereIsSecret,
} from './harness/vm-cloud-init.js'
import { imagePackages } from './harness/vm-image.js'
import { startVmWorld, type VmWorld, vmFullRunSkipReason, vmSkipReason } from './harness/vm-world.js'
import { ARTIFACTS, buildTool } from './harness/world.js'

const skip = (await vmSkipReason()) ?? vmFullRunSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e scenario C (VM): ${skip} ***\n`)

/** Two cloud-init VMs differ in what each instance generates at its first boot. */
const INSTANCE_EXCLUSIONS: Exclusion[] = [
  {
    pattern: /^units:session-\d+\.scope$/,
    why: "logind's transient scope of each SSH login of the harness (exec, file copies): runtime state, no unit file",
  },
  {
    pattern: /^etc:\/etc\/ssh\/ssh_host_\w+_key(\.pub)?$/,
    why: "SSH host keys: cloud-init deletes the image's and generates new ones per instance (ssh_deletekeys)",
  },
  {
    pattern: /^etc:\/etc\/machine-id$/,
    why: 'systemd generates the machine id at the first boot of each machine',
  },
  {
    pattern: /^etc:\/etc\/sudoers(\.d\/90-cloud-init-users)?$/,
    why: "cloud-init writes both at first boot with its version and the time in a comment ('# Added by cloud-init v. … on <date>'); two scenario B runs differ in exactly these",
  },
]

describe.skipIf(skip !== null)(
  'e2e scenario C (VM): hard reset in desktop-install, the first-boot unit resumes',
  () => {
    let w: VmWorld
    let interrupted = ''
    let resumed = ''
    let resetAt = 0
    /** The run's last log line before the reset: where it really was cut off. */
    let resetDuring = ''
    const s = stages()

    beforeAll(async () => {
      await buildTool()
      w = await startVmWorld({
        scenario: 'scenario-c-vm',
        warmAptCache: true,
        machineName: 'e2e-cvm',
        seed: (partial) => makeSeed(partial, `e2e-cvm-${Date.now()}`),
        waitForBoot: false,
      })
    }, 40 * 60_000)

    afterAll(async () => {
      if (!w) return
      await collectToolState(w).catch(() => undefined)
      await s.writeTimings(w.dir, { accel: w.machine.accel })
      await w.close()
    }, 10 * 60_000)

    s.stage(
      'QMP system_reset while dpkg works in desktop-install',
      async () => {
        const { log, state, stoppedEarly } = await followFirstBoot(w, {
          timeoutMs: 90 * 60_000,
          pollMs: 3000,
          stopWhen: async (text) => {
            const id = sessionIdsIn(text)[0]
            if (!id) return false
            const begun = (await journalActions(w.machine, id).catch(() => [])).some(
              (a) =>
                a.phase === 'desktop-install' &&
                a.action_type === 'PACKAGE_INSTALL' &&
                a.state === 'in-doubt',
            )
            if (!begun) return false
            return (await w.machine.ssh(['pgrep', '-x', 'dpkg'], { timeoutMs: 30_000 })).exitCode === 0
          },
        })
        // The run ended (failed or done) before desktop-install's dpkg: nothing to interrupt.
        const tail = `unit ${JSON.stringify(state)}:\n${log.slice(-2000)}`
        expect(stoppedEarly, `desktop-install never reached dpkg (${tail})`).toBe(true)
        interrupted = sessionIdsIn(log)[0] ?? ''
        expect(interrupted, 'desktop-install never reached dpkg').not.toBe('')
        await sleep(3000) // inside dpkg's unpack/configure, not at its first byte
        await w.machine.hardReset()
        resetAt = Date.now()
        resetDuring = log.trim().split('\n').at(-1) ?? ''
      },
      95 * 60_000,
    )

    s.stage(
      'after the reset the unit starts again by itself and the resumed run completes',
      async () => {
        await w.machine.waitForSsh(25 * 60_000)
        w.log(`SSH back ${Math.round((Date.now() - resetAt) / 1000)} s after the reset`)
        const { state, log } = await followFirstBoot(w, { timeoutMs: 90 * 60_000, minSessions: 2 })
        expectUnitSucceeded(state, log)
        const ids = sessionIdsIn(log)
        resumed = ids.at(-1) as string
        expect(ids[0]).toBe(interrupted)
        const before = await readSession(w.machine, interrupted)
        const after = await readSession(w.machine, resumed)
        w.log(
          `interrupted ${interrupted}: ${before.status}; resumed ${resumed}: ${after.status} in ${after.duration_seconds} s`,
        )
        expect(before.status).toBe('FAILED')
        expect(after.status).toBe('COMPLETED')
        const dpkgRecovered = /dpkg --configure -a/.test(log)
        const audit = await w.machine.exec(['dpkg', '--audit'], { allowFailure: true })
        const checkpoints = await w.machine.exec([
          'sh',
          '-c',
          'for f in /var/vps-provision/checkpoints/*; do echo "@@$f"; cat "$f"; echo; done',
        ])
        const bad: string[] = []
        let count = 0
        for (const part of checkpoints.stdout.split('@@').filter(Boolean)) {
          const nl = part.indexOf('\n')
          const file = part.slice(0, nl)
          // <phase>.done is one checkpoint; metadata.json the index of them all (checkpoints.ts).
          const schema = file.endsWith('/metadata.json') ? z.record(z.string(), Checkpoint) : Checkpoint
          count++
          try {
            schema.parse(JSON.parse(part.slice(nl + 1)))
          } catch (e) {
            bad.push(`${file}: ${(e as Error).message.replace(/\s+/g, ' ').slice(0, 300)}`)
          }
        }
        const observed = `reset with dpkg running, last run line: ${resetDuring.slice(0, 160)}; after reboot the unit resumed: ${after.status}, interrupted session ${before.status}; dpkg --audit ${audit.stdout.trim() === '' ? 'empty' : `NOT empty: ${audit.stdout.trim().slice(0, 200)}`}; ${count} checkpoints, ${bad.length} invalid; dpkg --configure -a ${dpkgRecovered ? 'run by the resumed run' : 'not needed'}`
        w.log(observed)
        recordCase(
          {
            id: 'vm.hard-reset-desktop-install',
            area: '5 power loss',
            case: 'hard reset (QMP system_reset) while dpkg works in desktop-install',
            injection:
              'cloud-init first-boot run on a qemu VM; system_reset once PACKAGE_INSTALL is begun and dpkg runs',
            expected:
              'the first-boot unit resumes at the next boot and completes; dpkg --audit empty; checkpoints valid',
            observed,
            backend: 'vm',
            passed: after.status === 'COMPLETED' && audit.stdout.trim() === '' && bad.length === 0,
          },
          { file: 'test/e2e/scenario-c-vm.test.ts', durationMs: Date.now() - resetAt },
        )
        expect(audit.stdout.trim()).toBe('')
        expect(bad).toEqual([])
      },
      100 * 60_000,
    )

    s.stage("the machine ends as scenario B's undisturbed one, the password in no log", async () => {
      const mine = await takeManifest(w.machine)
      await writeFile(path.join(w.dir, 'manifest-provisioned.json'), JSON.stringify(mine, null, 2))
      const cred = (await w.machine.readFile('/root/vps-provision-credentials')) ?? ''
      const password = /^password=(.+)$/m.exec(cred)?.[1] ?? ''
      expect(password.length).toBeGreaterThanOrEqual(20)
      expect(await whereIsSecret(w.machine, password)).toEqual(['file: /root/vps-provision-credentials'])
      const fromB = await readFile(
        path.join(ARTIFACTS, 'scenario-b', 'manifest-provisioned.json'),
        'utf8',
      ).catch(() => null)
      // npm run e2e runs the files in name order, so scenario B has written it by now.
      expect(
        fromB,
        'scenario B saves artifacts/scenario-b/manifest-provisioned.json: run it first',
      ).not.toBeNull()
      if (fromB === null) return
      const exclusions = [...PROVISIONED_EXCLUSIONS, ...INSTANCE_EXCLUSIONS]
      const diff = diffManifests(JSON.parse(fromB) as Manifest, mine, exclusions)
      await writeFile(
        path.join(w.dir, 'manifest-diff-vs-b.txt'),
        `# left after the exclusions (must be none):\n${formatDiff(diff)}\n\n# all:\n${formatDiff(diffManifests(JSON.parse(fromB) as Manifest, mine))}\n`,
      )
      expect(formatDiff(diff)).toBe('')
    })

    s.stage(
      'rollback of both sessions leaves the packages the machine had before the run, no user, no 3389',
      async () => {
        const interruptedSession = await readSession(w.machine, interrupted)
        // The baseline: the image's packages plus what cloud-init installed before the tool ran
        // (its `packages:`), read from apt's history, not from the tool's own journal.
        // Keyed by name alone: apt's history names an arch:all package NAME:amd64, dpkg NAME:all.
        const byName = (p: Record<string, string>) =>
          Object.fromEntries(Object.entries(p).map(([k, v]) => [k.replace(/:[^:]+$/, ''), v]))
        const expected = byName(await imagePackages())
        const history = (await w.machine.readFile('/var/log/apt/history.log')) ?? ''
        const before = Date.parse(interruptedSession.start_time)
        for (const block of history.split(/\n\s*\n/)) {
          const start = /^Start-Date: (\S+)\s+(\S+)$/m.exec(block)
          if (!start || Date.parse(`${start[1]}T${start[2]}Z`) >= before) continue
          for (const m of (/^Install: (.*)$/m.exec(block)?.[1] ?? '').matchAll(/([^\s,]+) \(([^,)]+)/g)) {
            expected[(m[1] as string).replace(/:[^:]+$/, '')] = `${m[2]} ii `
          }
        }
        for (const id of [resumed, interrupted]) {
          const r = await tool(w, ['rollback', id, '--yes', '--plain'], {
            artifact: `rollback-${id}`,
            timeoutMs: 60 * 60_000,
          })
          expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
          expect((await journalActions(w.machine, id)).filter((a) => a.state !== 'undone')).toEqual([])
        }
        const after = await takeManifest(w.machine)
        await writeFile(path.join(w.dir, 'manifest-after-rollback.json'), JSON.stringify(after, null, 2))
        const mine = { ...after, packages: byName(after.packages) }
        const packages = diffManifests({ ...mine, packages: expected }, mine).filter(
          (d) => d.section === 'packages',
        )
        await writeFile(path.join(w.dir, 'packages-diff.txt'), `${formatDiff(packages)}\n`)
        expect(formatDiff(packages)).toBe('')
        const developerAccounts = [`:${DEV_USER}`, `:${DEV_GROUP}`]
        expect(
          Object.keys(after.accounts).filter((k) => developerAccounts.some((t) => k.endsWith(t))),
        ).toEqual([])
        // The only home left is that of cloud-init's default user (`debian`, from the image's
        // cloud.cfg), made at first boot before the tool ran: read from cloud-init's own log.
        const cloudInitLog = (await w.machine.readFile('/var/log/cloud-init.log')) ?? ''
        const cloudInitUsers = [...cloudInitLog.matchAll(/\bAdding user (\S+)$/gm)].map((m) => m[1])
        expect(cloudInitUsers.length, 'cloud-init.log names the users it added').toBeGreaterThan(0)
        expect(after.homes).toEqual([...new Set(cloudInitUsers)].sort())
        expect(after.listening.filter((l) => /:3389$/.test(l))).toEqual([])
        const audit = await w.machine.exec(['dpkg', '--audit'], { allowFailure: true })
        expect(audit.stdout.trim()).toBe('')
      },
      70 * 60_000,
    )
  },
)
