// Issue 5, cases 11 and 12 and case 1 (signals) on a real trixie root: rollback after someone edited
// a file the session wrote (refuse and list it; --force keeps a 0600 copy, then restores), a re-run
// after a manual change to a managed file (the phase runs again and restores our state), and
// SIGINT/SIGTERM/SIGHUP in the middle of a phase (the action in progress finishes and is recorded,
// exit 130/143/129, the resume completes).
//
//   sudo npx vitest run --project integration test/integration/faults/drift.test.ts

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chroot } from '../../lab/chroot.js'
import { compareManifests, type Manifest } from '../support/manifest.js'
import {
  ALLOW,
  compareIgnoringPassword,
  describeComparison,
  exitText,
  type FaultRoot,
  hasStackTrace,
  prepareFaultRoot,
  RUN_USER_CREATION,
  reasonOf,
  regenerateReportAfterAll,
  STATE_DIR,
  seenExit,
  sessionOf,
  skipReason,
  tail,
  USER,
  warnIfSkipped,
} from './fixture.js'

const FILE = 'drift.test.ts'
warnIfSkipped(FILE)
const SUDOERS = `/etc/sudoers.d/vps-provision-${USER}`
const XSESSION = `/home/${USER}/.xsession`

describe.skipIf(skipReason !== '')('faults: drifted files, manual changes, signals', () => {
  let fr: FaultRoot
  let reference: Manifest
  regenerateReportAfterAll()

  beforeAll(async () => {
    fr = await prepareFaultRoot({ label: 'drift', preinstall: ['sudo'] })
    await fr.inRoot(async (ch) => {
      const r = await fr.tool(ch, RUN_USER_CREATION)
      expect(r.exitCode, tail(r)).toBe(0)
      reference = await fr.manifest(ch)
      const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
      expect(rb.exitCode, tail(rb)).toBe(0)
    })
  }, 900_000)
  afterAll(async () => {
    await fr?.remove()
  }, 300_000)

  async function rollbackAll(ch: Chroot, seen: string[]) {
    let n = 0
    for (; n < 4; n++) {
      const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
      expect(rb.exitCode, tail(rb)).toBe(0)
      if (/Nothing to do/.test(rb.stdout)) break
    }
    const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
    seen.push(`${n} rollback(s): ${describeComparison('the baseline', c)}`)
    expect(c.problems).toEqual([])
    expect(await fr.audit(ch)).toBe('')
  }

  it('case 11: rollback after an admin edited files the session wrote: refuses and lists them; --force keeps 0600 copies, then restores', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-11.edited-then-rollback',
        area: '11 rollback after edits',
        case: 'the sudoers drop-in (and ~/.xsession) edited by hand after the run',
        injection: `append a line to ${SUDOERS} and to ${XSESSION}, then \`rollback latest --yes\``,
        expected: `exit 3 listing ${SUDOERS} (not ~/.xsession: it goes with the home userdel --remove deletes), nothing undone; \`--force\`: exit 0, a 0600 copy of the edited drop-in under the session backups, manifest = baseline`,
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const r = await fr.tool(ch, RUN_USER_CREATION)
          expect(r.exitCode, tail(r)).toBe(0)
          const id = sessionOf(r.stdout)
          await ch.sh(
            `echo '# admin: ops team also needs this' >> ${SUDOERS}; echo 'xset s off # mine' >> ${XSESSION}`,
          )
          const edited = await fr.manifest(ch)
          const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
          seen.push(seenExit(rb))
          expect(rb.exitCode, tail(rb)).toBe(3)
          expect(reasonOf(rb)).toMatch(/files changed since this session wrote them: /)
          expect(reasonOf(rb)).toContain(SUDOERS)
          expect(reasonOf(rb)).not.toContain(XSESSION)
          expect(hasStackTrace(rb)).toBe(false)
          const same = compareManifests(edited, await fr.manifest(ch), ALLOW)
          seen.push(`refused: ${describeComparison('the edited machine', same)}`)
          expect(same.problems).toEqual([])
          const forced = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain', '--force'])
          seen.push(`--force ${exitText(forced)}`)
          expect(forced.exitCode, tail(forced)).toBe(0)
          const copies = (
            await ch.sh(`find ${STATE_DIR}/backups/${id}/drifted -type f -printf '%m %u %f\\n' | sort`)
          ).stdout.trim()
          seen.push(`kept: ${copies.replace(/\n/g, '; ')}`)
          const lines = copies.split('\n')
          expect(lines).toHaveLength(1)
          for (const l of lines) expect(l).toMatch(/^600 root .*vps-provision-devuser$/)
          const kept = (await ch.sh(`cat ${STATE_DIR}/backups/${id}/drifted/*`)).stdout
          expect(kept).toContain('# admin: ops team also needs this')
          await rollbackAll(ch, seen)
        })
      },
    )
  })

  it('case 12: a re-run after manual changes to managed files runs the phase again and restores our state', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-12.manual-change-rerun',
        area: '12 re-run after a manual change',
        case: '~/.xsession rewritten and the sudoers drop-in chmod 0640 after a completed run',
        injection: `replace ${XSESSION}, chmod 0640 ${SUDOERS}, then \`run\` again`,
        expected:
          'user-creation no longer SKIPPED (its checkpoint no longer matches), both restored; manifest = an uninterrupted run',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const r = await fr.tool(ch, RUN_USER_CREATION)
          expect(r.exitCode, tail(r)).toBe(0)
          await ch.sh(`echo 'exec xterm' > ${XSESSION}; chmod 0640 ${SUDOERS}`)
          const again = await fr.tool(ch, RUN_USER_CREATION)
          const phase =
            again.stdout.split('\n').find((l) => /\[user-creation\] phase (completed|skipped)/.test(l)) ?? ''
          const restored = again.stdout
            .split('\n')
            .filter((l) => /action #\d+ \S+ (\/\S+): done/.test(l))
            .map((l) => /action #\d+ \S+ (\/\S+): done/.exec(l)?.[1])
          seen.push(
            `re-run ${exitText(again)}; ${phase.replace(/^\S+ /, '')}; rewrote ${restored.join(', ')}`,
          )
          expect(again.exitCode, tail(again)).toBe(0)
          expect(phase).toMatch(/phase completed/)
          expect(restored).toEqual(expect.arrayContaining([XSESSION, SUDOERS]))
          const c = compareIgnoringPassword(reference, await fr.manifest(ch))
          seen.push(describeComparison('an uninterrupted run', c))
          expect(c.problems).toEqual([])
        })
        // Rolling the re-run back would put the hand edits back (that is its undo); the next case
        // starts from a clean clone instead.
        await fr.fresh()
      },
    )
  })

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`case 1: ${sig} in the middle of user-creation: clean stop (${code}), everything recorded, the resume completes`, async () => {
      await fr.case(
        FILE,
        {
          id: `fault-1.${sig.toLowerCase()}`,
          area: '1 signals',
          case: `${sig} delivered to the tool while user-creation works`,
          injection: `kill -${sig.slice(3)} <tool pid> right after \`USER_CREATE devuser: begin\` appears`,
          expected: `exit ${code}, "Stopped by ${sig}: the action in progress was finished and recorded", no action in doubt; resume exit 0 = an uninterrupted run; rollback = baseline`,
        },
        async (seen) => {
          await fr.inRoot(async (ch) => {
            const p = fr.spawn(RUN_USER_CREATION)
            await p.waitFor((t) => /USER_CREATE devuser: begin/.test(t), 60_000, 'useradd to begin')
            p.kill(sig)
            const r = await p.done
            const stopped = r.stderr.split('\n').find((l) => l.startsWith('Stopped by')) ?? ''
            seen.push(`${exitText(r)}: ${stopped}`)
            expect(r.exitCode, tail(r)).toBe(code)
            expect(stopped).toBe(`Stopped by ${sig}: the action in progress was finished and recorded.`)
            expect(`${r.stdout}\n${r.stderr}`).toMatch(/Resume: +vps-provision run/)
            expect(hasStackTrace(r)).toBe(false)
            const id = sessionOf(r.stdout)
            const log = JSON.parse((await fr.tool(ch, ['log', id, '--json'])).stdout) as {
              entries: { state: string }[]
            }
            const states = log.entries.map((e) => e.state)
            seen.push(
              `journal: ${states.length} actions (${states.filter((x) => x === 'done').length} done, ${states.filter((x) => x === 'in-doubt').length} in doubt)`,
            )
            expect(states.length).toBeGreaterThan(0)
            expect(states.every((x) => x === 'done')).toBe(true)
            const status = JSON.parse((await fr.tool(ch, ['status', id, '--json'])).stdout) as {
              status: string
            }
            seen.push(`session ${status.status}`)
            const resume = await fr.tool(ch, RUN_USER_CREATION)
            seen.push(`resume ${exitText(resume)}`)
            expect(resume.exitCode, tail(resume)).toBe(0)
            const c = compareIgnoringPassword(reference, await fr.manifest(ch))
            seen.push(describeComparison('an uninterrupted run', c))
            expect(c.problems).toEqual([])
            await rollbackAll(ch, seen)
          })
        },
      )
    })
  }
})
