// Issue 5, cases 6 and 7 on a real trixie root: two invocations at once (one proceeds, the other
// exits 75 and writes nothing), and the dpkg lock held by another process the way
// unattended-upgrades holds it (apt's own fcntl lock on /var/lib/dpkg/lock-frontend), and by an
// OFD lock apt cannot name the holder of (`flock --fcntl`). The tool waits aptLockTimeoutSeconds
// (4 s here instead of 600), names the holder, fails cleanly, and a re-run once it is gone completes.
//
// flock(1) without --fcntl takes a flock(2) lock, which apt's fcntl locks never see: it would not
// hold apt off at all (checked on trixie), so it is not what unattended-upgrades looks like.
//
//   sudo npx vitest run --project integration test/integration/faults/contention.test.ts

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chroot } from '../../lab/chroot.js'
import { compareManifests } from '../support/manifest.js'
import {
  ALLOW,
  describeComparison,
  exitText,
  type FaultRoot,
  hasStackTrace,
  LOG_DIR,
  prepareFaultRoot,
  RUN_USER_CREATION,
  reasonOf,
  regenerateReportAfterAll,
  STATE_DIR,
  seenExit,
  skipReason,
  spawnInRoot,
  tail,
  warnIfSkipped,
} from './fixture.js'

const FILE = 'contention.test.ts'
warnIfSkipped(FILE)
const LOCK_TIMEOUT_S = 4
// sudo is not preinstalled: user-creation's first action is `apt-get install sudo` (Debian mirror).

/** Takes apt's kind of lock (POSIX fcntl, like python-apt's SystemLock) and names itself like u-u. */
const POSIX_HOLDER = String.raw`
use Fcntl;
$0 = 'unattended-upgr';
open(my $f, '>>', '/var/lib/dpkg/lock-frontend') or die "open: $!";
my $lk = pack('s s x4 q q i x4', F_WRLCK, 0, 0, 0, 0);
fcntl($f, F_SETLK, $lk) or die "lock: $!";
print "locked\n";
$| = 1;
sleep 600;
`

describe.skipIf(skipReason !== '')('faults: concurrent invocations and a held dpkg lock', () => {
  let fr: FaultRoot
  regenerateReportAfterAll()

  beforeAll(async () => {
    fr = await prepareFaultRoot({ label: 'contention', config: { aptLockTimeoutSeconds: LOCK_TIMEOUT_S } })
  }, 900_000)
  afterAll(async () => {
    await fr?.remove()
  }, 300_000)

  const stateFiles = (ch: Chroot) =>
    ch
      .sh(
        `find ${STATE_DIR} ${LOG_DIR} -type f 2>/dev/null | sort; cat ${STATE_DIR}/sessions/* 2>/dev/null | sha256sum`,
      )
      .then((r) => r.stdout)

  async function baselineAgain(ch: Chroot, seen: string[]) {
    const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
    seen.push(describeComparison('the baseline', c))
    expect(c.problems).toEqual([])
    const audit = await fr.audit(ch)
    seen.push(`dpkg --audit ${audit === '' ? 'empty' : 'NOT empty'}`)
    expect(audit).toBe('')
  }

  it('case 7 + 6: dpkg lock held like unattended-upgrades; meanwhile runs and a rollback exit 75', async () => {
    await fr.inRoot(async (ch) => {
      const holder = spawnInRoot(fr.root, ['perl', '-e', POSIX_HOLDER])
      try {
        await holder.waitFor((t) => t.includes('locked'), 20_000, 'the holder to take the lock')
        const a = fr.spawn(RUN_USER_CREATION)
        await a.waitFor(
          (t) => /PACKAGE_INSTALL sudo: begin/.test(t),
          120_000,
          'apt-get install sudo to start',
        )

        await fr.case(
          FILE,
          {
            id: 'fault-6.run-vs-run',
            area: '6 concurrent invocations',
            case: 'a second run while the first one works',
            injection: '`run` started while another `run` holds the lock (waiting in apt-get)',
            expected: 'exit 75 naming the holder pid; no session, journal or checkpoint written',
          },
          async (seen) => {
            const before = await stateFiles(ch)
            const b = await fr.tool(ch, RUN_USER_CREATION, { timeoutMs: 60_000 })
            seen.push(seenExit(b))
            expect(b.exitCode, tail(b)).toBe(75)
            expect(reasonOf(b)).toMatch(new RegExp(`held by pid ${a.pid} \\(run session`))
            expect(hasStackTrace(b)).toBe(false)
            const same = (await stateFiles(ch)) === before
            seen.push(same ? 'state and log directories unchanged' : 'state CHANGED')
            expect(same).toBe(true)
          },
        )
        await fr.case(
          FILE,
          {
            id: 'fault-6.rollback-vs-run',
            area: '6 concurrent invocations',
            case: 'a rollback while a run works',
            injection: '`rollback latest --yes` while a `run` holds the lock',
            expected: 'exit 75 naming the holder; nothing undone, nothing written',
          },
          async (seen) => {
            const before = await stateFiles(ch)
            const c = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'], { timeoutMs: 60_000 })
            seen.push(seenExit(c))
            expect(c.exitCode, tail(c)).toBe(75)
            expect(reasonOf(c)).toContain(`held by pid ${a.pid}`)
            const same = (await stateFiles(ch)) === before
            seen.push(same ? 'state and log directories unchanged' : 'state CHANGED')
            expect(same).toBe(true)
          },
        )
        await fr.case(
          FILE,
          {
            id: 'fault-7.posix-holder',
            area: '7 dpkg lock held',
            case: "the dpkg frontend lock held the way unattended-upgrades holds it (apt's fcntl lock)",
            injection: `perl takes F_SETLK on /var/lib/dpkg/lock-frontend as "unattended-upgr"; aptLockTimeoutSeconds=${LOCK_TIMEOUT_S}`,
            expected: `waits ~${LOCK_TIMEOUT_S} s, exit 2 naming the holder pid and name; nothing installed; dpkg --audit empty`,
          },
          async (seen) => {
            const r = await a.done
            seen.push(`${exitText(r)} after ${(r.durationMs / 1000).toFixed(1)} s`)
            const failed = r.stderr.split('\n').find((l) => l.startsWith('Failed:')) ?? ''
            seen.push(failed.slice(0, 220))
            expect(r.exitCode, tail(r)).toBe(2)
            expect(failed).toMatch(
              new RegExp(
                `dpkg lock /var/lib/dpkg/lock-frontend is held by process ${holder.pid} \\(unattended-upgr\\); gave up after waiting ${LOCK_TIMEOUT_S} s`,
              ),
            )
            expect(r.durationMs).toBeGreaterThan(LOCK_TIMEOUT_S * 1000)
            expect(hasStackTrace(r)).toBe(false)
            await baselineAgain(ch, seen)
          },
        )
        await fr.case(
          FILE,
          {
            id: 'fault-6.simultaneous-runs',
            area: '6 concurrent invocations',
            case: 'two runs started together',
            injection:
              'two `run` processes spawned in the same tick (the dpkg lock still held, so the winner works for a while)',
            expected:
              'one takes the lock (and fails on the dpkg lock as above), the other exits 75 at once; one new session in all',
          },
          async (seen) => {
            const sessionsBefore = (await ch.sh(`ls ${STATE_DIR}/sessions | wc -l`)).stdout.trim()
            const rs = await Promise.all([fr.spawn(RUN_USER_CREATION).done, fr.spawn(RUN_USER_CREATION).done])
            const codes = rs.map((r) => r.exitCode).sort((p, q) => p - q)
            seen.push(`exits ${codes.join(' and ')}`)
            expect(codes, rs.map((r) => tail(r)).join('\n---\n')).toEqual([2, 75])
            const loser = rs.find((r) => r.exitCode === 75) as (typeof rs)[number]
            seen.push(
              `loser: ${reasonOf(loser).slice(0, 90)}; loser took ${(loser.durationMs / 1000).toFixed(1)} s`,
            )
            const sessionsAfter = (await ch.sh(`ls ${STATE_DIR}/sessions | wc -l`)).stdout.trim()
            seen.push(`sessions ${sessionsBefore} -> ${sessionsAfter}`)
            expect(Number(sessionsAfter) - Number(sessionsBefore)).toBe(1)
            await baselineAgain(ch, seen)
          },
        )
      } finally {
        holder.kill('SIGKILL', true)
        await holder.done
      }
      await fr.case(
        FILE,
        {
          id: 'fault-7.rerun-after-release',
          area: '7 dpkg lock held',
          case: 'the same run once the holder is gone',
          injection: 'the lock holder exits; `run` again',
          expected: 'exit 0 (sudo installed, user created); rollback back to the baseline',
        },
        async (seen) => {
          const r = await fr.tool(ch, RUN_USER_CREATION)
          seen.push(`re-run ${exitText(r)}`)
          expect(r.exitCode, tail(r, 60)).toBe(0)
          const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
          seen.push(`rollback ${exitText(rb)}`)
          expect(rb.exitCode, tail(rb)).toBe(0)
          await baselineAgain(ch, seen)
        },
      )
    })
  })

  it('case 7: an OFD lock (flock --fcntl) apt cannot attribute: the tool finds the holder in /proc', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-7.ofd-holder',
        area: '7 dpkg lock held',
        case: 'the lock held by a process apt cannot name (open file description lock)',
        injection: `\`flock --fcntl /var/lib/dpkg/lock-frontend sleep 600\`; aptLockTimeoutSeconds=${LOCK_TIMEOUT_S}`,
        expected: 'exit 2 naming the process that has the lock file open; manifest = baseline',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const holder = spawnInRoot(fr.root, [
            'flock',
            '--fcntl',
            '/var/lib/dpkg/lock-frontend',
            'sh',
            '-c',
            'echo locked; exec sleep 600',
          ])
          try {
            await holder.waitFor((t) => t.includes('locked'), 20_000, 'flock to take the lock')
            const r = await fr.tool(ch, RUN_USER_CREATION, { timeoutMs: 120_000 })
            const failed = r.stderr.split('\n').find((l) => l.startsWith('Failed:')) ?? reasonOf(r)
            seen.push(`${exitText(r)}: ${failed.slice(0, 220)}`)
            expect(r.exitCode, tail(r)).toBe(2)
            expect(failed).toMatch(new RegExp(`held by process ${holder.pid} \\(flock\\)`))
          } finally {
            holder.kill('SIGKILL', true)
            await holder.done
          }
          await baselineAgain(ch, seen)
        })
      },
    )
  })
})
