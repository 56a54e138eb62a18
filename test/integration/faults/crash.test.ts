// Issue 5, cases 2 and 10 on a real trixie root: the built tool is SIGKILLed at named failpoints
// (VPS_PROVISION_FAILPOINT=name@N, honoured by the bundle) during a real run (apt from a signed
// loopback repository, useradd, visudo), and during rollback; and the whole process group is
// killed while dpkg works (a power cut as far as a chroot can imitate one). After each: the resumed
// run's manifest equals an uninterrupted run's, rollback's equals the baseline, `dpkg --audit` is
// empty.
//
//   sudo npx vitest run --project integration test/integration/faults/crash.test.ts

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chroot } from '../../lab/chroot.js'
import type { Manifest } from '../support/manifest.js'
import { compareManifests } from '../support/manifest.js'
import {
  ALLOW,
  compareIgnoringPassword,
  describeComparison,
  exitText,
  type FaultRoot,
  LOG_DIR,
  prepareFaultRoot,
  RUN_USER_CREATION,
  reasonOf,
  regenerateReportAfterAll,
  seenExit,
  skipReason,
  type ToolResult,
  tail,
  waitForProcessIn,
  warnIfSkipped,
} from './fixture.js'

const FILE = 'crash.test.ts'
warnIfSkipped(FILE)
/** useradd, chpasswd, visudo and files: fast (~2 s), for most failpoints. */
/**
 * Plus real apt: Cursor's .deb downloaded from 127.0.0.1 and installed with apt-get (simulated first
 * for the undo set, purged on rollback). The signed-repository path (apt source, apt-get update,
 * `code`) is left to network.test.ts and chroot-provision: it adds ~10 s to every run here.
 */
const RUN_APT = ['run', '--yes', '--plain', '--only', 'user-creation,ide-installations', '--ides', 'cursor']

interface BeginRecord {
  type: string
  seq: number
  action_type: string
  target: string
}

describe.skipIf(skipReason !== '')('faults: SIGKILL at failpoints, rollback killed halfway', () => {
  let fr: FaultRoot
  const reference: Record<string, Manifest> = {}
  const seqs: Record<string, number> = {}
  regenerateReportAfterAll()

  beforeAll(async () => {
    fr = await prepareFaultRoot({
      label: 'crash',
      standIns: true,
      preinstall: ['sudo'],
      config: { ides: ['vscode', 'cursor'] },
    })
  }, 900_000)
  afterAll(async () => {
    await fr?.remove()
  }, 300_000)

  const tool = (ch: Chroot, args: string[], env?: Record<string, string>) =>
    fr.tool(ch, args, { ...(env ? { env } : {}), timeoutMs: 5 * 60_000 })

  /** `rollback latest` until it says there is nothing left; returns each result. */
  async function rollbackAll(ch: Chroot): Promise<ToolResult[]> {
    const out: ToolResult[] = []
    for (let i = 0; i < 5; i++) {
      const r = await tool(ch, ['rollback', 'latest', '--yes', '--plain'])
      out.push(r)
      expect(r.exitCode, tail(r)).toBe(0)
      if (/Nothing to do|nothing left to roll back/i.test(r.stdout)) return out
    }
    throw new Error('rollback latest never reached "nothing to do"')
  }

  async function backToBaseline(ch: Chroot, seen: string[]): Promise<void> {
    const rbs = await rollbackAll(ch)
    seen.push(`${rbs.length - 1} more rollback(s) exit 0, then "nothing to do"`)
    const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
    seen.push(`then ${describeComparison('the baseline', c)}`)
    expect(c.problems).toEqual([])
    const audit = await fr.audit(ch)
    seen.push(`dpkg --audit ${audit === '' ? 'empty' : `NOT empty: ${audit.slice(0, 120)}`}`)
    expect(audit).toBe('')
  }

  async function resumeEqualsReference(ch: Chroot, args: string[], seen: string[]): Promise<void> {
    const r = await tool(ch, args)
    seen.push(`resume ${exitText(r)}`)
    expect(r.exitCode, tail(r, 60)).toBe(0)
    const c = compareIgnoringPassword(reference[args.join(' ')] as Manifest, await fr.manifest(ch))
    seen.push(`${describeComparison('an uninterrupted run', c)}`)
    expect(c.problems).toEqual([])
    expect(await fr.audit(ch)).toBe('')
  }

  /** The killed session's journal, as `log latest --json` reads it. */
  async function journalState(ch: Chroot, seen: string[]): Promise<void> {
    const log = await tool(ch, ['log', 'latest', '--json'])
    const view = JSON.parse(log.stdout) as { entries: { state: string }[]; damage: string | null }
    const inDoubt = view.entries.filter((e) => e.state === 'in-doubt').length
    seen.push(`journal: ${view.entries.length} actions, ${inDoubt} in doubt, damage ${view.damage ?? 'none'}`)
    expect(view.damage).toBeNull()
  }

  for (const args of [RUN_USER_CREATION, RUN_APT]) {
    const apt = args === RUN_APT
    it(`reference: ${args.slice(3).join(' ')} uninterrupted, then rollback to the baseline`, async () => {
      await fr.case(
        FILE,
        {
          id: `fault-2.reference${apt ? '-apt' : ''}`,
          area: '2 SIGKILL at failpoints',
          case: `uninterrupted run and rollback: the reference of the ${apt ? 'apt' : 'useradd'} crash cases`,
          injection: `none: \`${args.slice(0, 1).concat(args.slice(3)).join(' ')}\` (sudo preinstalled${apt ? '; the cursor stand-in .deb' : ''})`,
          expected: 'exit 0; rollback exit 0; manifest equal to the baseline; dpkg --audit empty',
        },
        async (seen) => {
          await fr.inRoot(async (ch) => {
            const r = await tool(ch, args)
            seen.push(`run ${exitText(r)} in ${(r.durationMs / 1000).toFixed(1)} s`)
            expect(r.exitCode, tail(r, 60)).toBe(0)
            reference[args.join(' ')] = await fr.manifest(ch)
            const id = /session (\d{8}-\d{6}-[0-9a-z]{6})/.exec(r.stdout)?.[1] ?? ''
            const begins = (await ch.readFile(`${LOG_DIR}/transaction-${id}.log`))
              .split('\n')
              .filter((l) => l.includes('"type":"begin"'))
              .map((l) => JSON.parse(l) as BeginRecord)
            const seqOf = (pred: (b: BeginRecord) => boolean, what: string) => {
              const b = begins.find(pred)
              if (!b) throw new Error(`no ${what} in the reference journal`)
              return b.seq
            }
            seqs.useradd = seqOf((b) => b.action_type === 'USER_CREATE' && b.target === 'devuser', 'useradd')
            if (apt)
              seqs.aptCursor = seqOf(
                (b) => b.action_type === 'PACKAGE_INSTALL' && b.target.startsWith('cursor'),
                'apt',
              )
            seen.push(
              `${begins.length} actions (useradd #${seqs.useradd}${apt ? `, apt-get install ./cursor.deb #${seqs.aptCursor}` : ''})`,
            )
            await backToBaseline(ch, seen)
          })
        },
      )
    })
  }

  const crashes: { id: string; fp: string; at: () => number; args: string[]; what: string }[] = [
    {
      id: 'after-begin.useradd',
      fp: 'action.after-begin',
      at: () => seqs.useradd as number,
      args: RUN_USER_CREATION,
      what: "useradd journaled (begin fsync'd), never run",
    },
    {
      id: 'after-change.useradd',
      fp: 'action.after-change',
      at: () => seqs.useradd as number,
      args: RUN_USER_CREATION,
      what: 'useradd ran, its done record never written (in doubt)',
    },
    {
      id: 'checkpoint-before-rename',
      fp: 'checkpoint.before-rename',
      at: () => 1,
      args: RUN_USER_CREATION,
      what: "user-creation's checkpoint in its temp file, never renamed",
    },
    {
      id: 'after-change.apt',
      fp: 'action.after-change',
      at: () => seqs.aptCursor as number,
      args: RUN_APT,
      what: 'apt-get install ./cursor.deb finished, its done record never written (in doubt)',
    },
  ]
  for (const c of crashes) {
    it(`SIGKILL at ${c.fp}: ${c.what}; resume = uninterrupted run; rollback = baseline`, async () => {
      const n = c.at()
      await fr.case(
        FILE,
        {
          id: `fault-2.${c.id}`,
          area: '2 SIGKILL at failpoints',
          case: c.what,
          injection: `VPS_PROVISION_FAILPOINT=${c.fp}@${n} (the bundle SIGKILLs itself there) on \`run --only ${c.args[4]}\``,
          expected:
            'killed; resume exit 0 with the manifest of an uninterrupted run; rollback to the baseline; dpkg --audit empty',
        },
        async (seen) => {
          await fr.inRoot(async (ch) => {
            const r = await tool(ch, c.args, { VPS_PROVISION_FAILPOINT: `${c.fp}@${n}` })
            seen.push(`run ${exitText(r)}`)
            expect(r.signal, tail(r)).toBe('SIGKILL')
            await journalState(ch, seen)
            await resumeEqualsReference(ch, c.args, seen)
            await backToBaseline(ch, seen)
          })
        },
      )
    })
  }

  for (const [fp, k] of [
    ['undo.before-undone', 4],
    ['undo.after-undone', 9],
  ] as const) {
    it(`rollback SIGKILLed at ${fp}@${k}: a second rollback resumes, a third is a no-op`, async () => {
      await fr.case(
        FILE,
        {
          id: `fault-10.${fp.replace('undo.', '')}`,
          area: '10 rollback killed halfway',
          case: `rollback killed at ${fp} of its ${k}th undo`,
          injection: `VPS_PROVISION_FAILPOINT=${fp}@${k} on \`rollback latest\` after \`run --only user-creation\``,
          expected:
            'killed; rollback again exit 0 (resumes); a third says nothing to do; manifest = baseline',
        },
        async (seen) => {
          await fr.inRoot(async (ch) => {
            const r = await tool(ch, RUN_USER_CREATION)
            expect(r.exitCode, tail(r)).toBe(0)
            const killed = await tool(ch, ['rollback', 'latest', '--yes', '--plain'], {
              VPS_PROVISION_FAILPOINT: `${fp}@${k}`,
            })
            seen.push(`rollback ${exitText(killed)}`)
            expect(killed.signal, tail(killed)).toBe('SIGKILL')
            const again = await tool(ch, ['rollback', 'latest', '--yes', '--plain'])
            seen.push(`again: ${seenExit(again)}`)
            expect(again.exitCode, tail(again)).toBe(0)
            expect(again.stdout).toMatch(/Rolled back \d+ action/)
            await backToBaseline(ch, seen)
          })
        },
      )
    })
  }

  it('power cut: the process group (node, apt-get, dpkg) killed while dpkg unpacks, then while it purges', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-2.power-cut-dpkg',
        area: '2 SIGKILL at failpoints',
        case: "node, apt-get and dpkg killed together in dpkg --unpack, then in the rollback's dpkg --purge",
        injection:
          'kill -KILL -<pgid> the moment `dpkg … --unpack` (then `dpkg … --purge`/`--remove`) runs in the root',
        expected:
          'resume exit 0 with the manifest of an uninterrupted run; rollback (cut the same way, then again) reaches the baseline; dpkg --audit empty',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const run1 = fr.spawn(RUN_APT)
          const unpack = await waitForProcessIn(fr.root, /^(\/usr\/bin\/)?dpkg .*--unpack/, 120_000)
          run1.kill('SIGKILL', true)
          const r1 = await run1.done
          seen.push(
            `run ${exitText(r1)} during \`${unpack.argv.replace(/ \/var\/cache\/apt\/archives\//g, ' ').slice(0, 60)}…\``,
          )
          const audit = await fr.audit(ch)
          seen.push(
            `dpkg --audit after the cut: ${audit === '' ? 'empty' : audit.split('\n')[0]?.slice(0, 80)}`,
          )
          await resumeEqualsReference(ch, RUN_APT, seen)
          const rb = fr.spawn(['rollback', 'latest', '--yes', '--plain'])
          const purge = await waitForProcessIn(fr.root, /^(\/usr\/bin\/)?dpkg .*--(purge|remove)/, 120_000)
          rb.kill('SIGKILL', true)
          const r2 = await rb.done
          seen.push(`rollback ${exitText(r2)} during \`${purge.argv.slice(0, 50)}…\``)
          await backToBaseline(ch, seen)
        })
      },
    )
  })
  it('Ctrl-C on a terminal: SIGINT to the whole foreground process group while dpkg unpacks', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-1.ctrl-c-process-group',
        area: '1 signals',
        case: 'SIGINT to the tool and to apt-get and dpkg with it, as a terminal sends Ctrl-C (or SIGHUP when SSH drops)',
        injection: 'kill -INT -<pgid> the moment `dpkg … --unpack` runs',
        expected:
          'exit 130; the install in progress finished and recorded (none in doubt, none failed); dpkg --audit empty; resume exit 0 = an uninterrupted run; rollback = baseline',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const p = fr.spawn(RUN_APT)
          await waitForProcessIn(fr.root, /^(\/usr\/bin\/)?dpkg .*--unpack/, 120_000)
          p.kill('SIGINT', true)
          const r = await p.done
          seen.push(
            `${exitText(r)}: ${(r.stderr.split('\n').find((l) => l.startsWith('Stopped by')) ?? reasonOf(r)).slice(0, 100)}`,
          )
          const log = JSON.parse((await tool(ch, ['log', 'latest', '--json'])).stdout) as {
            entries: { state: string; target: string }[]
          }
          const code = log.entries.find((e) => e.target.startsWith('cursor'))
          seen.push(`apt-get install ./cursor.deb: ${code?.state ?? 'not journaled'}`)
          const audit = await fr.audit(ch)
          seen.push(`dpkg --audit ${audit === '' ? 'empty' : 'NOT empty'}`)
          expect(r.exitCode, tail(r)).toBe(130)
          expect(code?.state).toBe('done')
          expect(log.entries.filter((e) => e.state === 'in-doubt')).toEqual([])
          expect(audit).toBe('')
          await resumeEqualsReference(ch, RUN_APT, seen)
          await backToBaseline(ch, seen)
        })
      },
    )
  })
})
