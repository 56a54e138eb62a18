// Issue 5, cases 4 and 5 on a real trixie root, and hostile strings in the journal: a torn tail is
// dropped with a warning; damage in the middle refuses rollback (exit 3) with the reason; the disk
// filling up while the journal is written stops the run before the action whose begin record could
// not be written; strings planted in journal fields are shown, never executed.
//
// Disk full without touching the host's mounts: `unshare --mount --propagation private` gives the
// run a private copy of the mount table, where /var/log/vps-provision of the root is an 8 KiB tmpfs.
// When that one command ends, its namespace and the tmpfs are gone; the host's mount table never
// had them. The journal is copied out of the tmpfs inside the namespace, then put back where it
// belongs, as an admin who freed space would find it.
//
//   sudo npx vitest run --project integration test/integration/faults/journal.test.ts

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256 } from '../../../src/util/hash.js'
import { CHROOT_BASE_ENV, type Chroot } from '../../lab/chroot.js'
import { run } from '../../lab/proc.js'
import { compareManifests, type Manifest } from '../support/manifest.js'
import {
  ALLOW,
  compareIgnoringPassword,
  describeComparison,
  exitText,
  type FaultRoot,
  hasStackTrace,
  LOG_DIR,
  prepareFaultRoot,
  RUN_USER_CREATION,
  reasonOf,
  regenerateReportAfterAll,
  seenExit,
  sessionOf,
  skipReason,
  TOOL_IN_ROOT,
  tail,
  USER,
  WORK_DIR,
  warnIfSkipped,
} from './fixture.js'

const FILE = 'journal.test.ts'
warnIfSkipped(FILE)

interface Rec {
  type: string
  seq: number
  target?: string
  action_type?: string
  sum: string
  [k: string]: unknown
}

describe.skipIf(skipReason !== '')('faults: torn, damaged and unwritable journals', () => {
  let fr: FaultRoot
  let afterRun: Manifest
  let referenceBegins: Rec[] = []
  regenerateReportAfterAll()

  beforeAll(async () => {
    fr = await prepareFaultRoot({ label: 'journal', preinstall: ['sudo'] })
  }, 900_000)
  afterAll(async () => {
    await fr?.remove()
  }, 300_000)

  const journalPath = (id: string) => `${LOG_DIR}/transaction-${id}.log`
  const records = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Rec)

  async function freshRun(ch: Chroot): Promise<string> {
    const r = await fr.tool(ch, RUN_USER_CREATION)
    expect(r.exitCode, tail(r)).toBe(0)
    return sessionOf(r.stdout)
  }

  async function expectBaseline(ch: Chroot, seen: string[]) {
    const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
    seen.push(describeComparison('the baseline', c))
    expect(c.problems).toEqual([])
    expect(await fr.audit(ch)).toBe('')
  }

  it('case 4: a torn last record is dropped with a warning, and rollback goes on', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-4.torn-tail',
        area: '4 torn or corrupt journal',
        case: 'the last record half-written (no newline), as a crash mid-append leaves it',
        injection: 'append `{"v":1,"type":"done","seq":1` without a newline to the journal of a finished run',
        expected:
          '`log` and `rollback` warn that a torn last record was dropped; rollback exit 0; manifest = baseline',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const id = await freshRun(ch)
          afterRun = await fr.manifest(ch)
          const text = await ch.readFile(journalPath(id))
          referenceBegins = records(text).filter((r) => r.type === 'begin')
          await ch.writeFile(journalPath(id), `${text}{"v":1,"type":"done","seq":1`, { mode: 0o600 })
          const log = await fr.tool(ch, ['log', id])
          const warning = `${log.stdout}\n${log.stderr}`.split('\n').find((l) => /torn/i.test(l)) ?? ''
          seen.push(`log ${exitText(log)}, warns: ${warning.trim().slice(0, 120)}`)
          expect(log.exitCode, tail(log)).toBe(0)
          expect(warning).toMatch(/dropped a torn last record/)
          const rb = await fr.tool(ch, ['rollback', id, '--yes', '--plain'])
          const rbWarn = rb.stdout.split('\n').find((l) => /torn/.test(l)) ?? ''
          seen.push(`rollback ${exitText(rb)}, warns: ${rbWarn.replace(/^\S+ /, '').slice(0, 100)}`)
          expect(rb.exitCode, tail(rb)).toBe(0)
          expect(rbWarn).toMatch(/dropped a torn last record/)
          await expectBaseline(ch, seen)
        })
      },
    )
  })

  for (const damage of ['checksum', 'missing-line'] as const) {
    it(`case 4: damage in the middle (${damage}) refuses rollback with the reason; undamaged, it works`, async () => {
      await fr.case(
        FILE,
        {
          id: `fault-4.damaged-middle.${damage}`,
          area: '4 torn or corrupt journal',
          case: damage === 'checksum' ? 'one byte changed in the 3rd record' : 'the 3rd record deleted',
          injection:
            damage === 'checksum'
              ? 'rewrite the target of record 3 (its checksum no longer matches)'
              : 'delete line 3 of the journal (the hash chain breaks)',
          expected:
            'rollback exit 3 naming the line and why; nothing undone; with the journal restored, rollback reaches the baseline',
        },
        async (seen) => {
          await fr.inRoot(async (ch) => {
            const id = await freshRun(ch)
            const text = await ch.readFile(journalPath(id))
            const lines = text.split('\n')
            const broken =
              damage === 'checksum'
                ? lines.map((l, i) => (i === 2 ? l.replace(/"target":"[^"]*"/, '"target":"/etc/shadow"') : l))
                : lines.filter((_, i) => i !== 2)
            expect(broken.join('\n')).not.toBe(text)
            await ch.writeFile(journalPath(id), broken.join('\n'), { mode: 0o600 })
            const rb = await fr.tool(ch, ['rollback', id, '--yes', '--plain'])
            seen.push(seenExit(rb))
            expect(rb.exitCode, tail(rb)).toBe(3)
            expect(reasonOf(rb)).toMatch(
              damage === 'checksum'
                ? /damaged \(line 3: checksum mismatch\)/
                : /damaged \(line 3: chain broken/,
            )
            expect(hasStackTrace(rb)).toBe(false)
            const c = compareIgnoringPassword(afterRun, await fr.manifest(ch))
            seen.push(`refused: ${describeComparison('the state before the attempt', c)}`)
            expect(c.problems).toEqual([])
            await ch.writeFile(journalPath(id), text, { mode: 0o600 })
            const ok = await fr.tool(ch, ['rollback', id, '--yes', '--plain'])
            seen.push(`journal restored: rollback ${exitText(ok)}`)
            expect(ok.exitCode, tail(ok)).toBe(0)
            await expectBaseline(ch, seen)
          })
        },
      )
    })
  }

  it('case 5: the disk fills up while the journal is written: the unjournaled action never happens', async () => {
    await fr.case(
      FILE,
      {
        id: 'fault-5.journal-enospc',
        area: '5 disk full',
        case: '/var/log/vps-provision fills up in the middle of user-creation',
        injection:
          "an 8 KiB tmpfs on the root's /var/log/vps-provision, mounted only in a private mount namespace (`unshare --mount --propagation private`) around the run",
        expected:
          'exit 2 "Unable to append to journal …: ENOSPC"; the action after the last journaled begin never happened; once space is back, rollback reaches the baseline',
      },
      async (seen) => {
        const save = await mkdtemp(path.join(WORK_DIR, 'enospc-'))
        try {
          await fr.inRoot(async (ch) => {
            await ch.exec(['mkdir', '-p', '-m', '0700', LOG_DIR])
            const hostMountsBefore = await readFile('/proc/self/mountinfo', 'utf8')
            const envArgs = Object.entries(CHROOT_BASE_ENV).map(([k, v]) => `${k}=${v}`)
            const script =
              'set -u; root=$1; save=$2; shift 2; ' +
              'mount -t tmpfs -o size=8k,mode=0700 vps-provision-full "$root/var/log/vps-provision" || exit 90; ' +
              'chroot "$root" "$@"; echo "tool-exit=$?"; ' +
              'cp -a "$root/var/log/vps-provision/." "$save/"'
            const r = await run(
              [
                'unshare',
                '--mount',
                '--propagation',
                'private',
                '--',
                'sh',
                '-c',
                script,
                'sh',
                fr.root,
                save,
              ].concat(['env', '-i', ...envArgs, 'node', TOOL_IN_ROOT, ...RUN_USER_CREATION]),
              { timeoutMs: 300_000, allowFailure: true },
            )
            const toolExit = Number(/tool-exit=(\d+)/.exec(r.stdout)?.[1] ?? -1)
            const reason = (r.stderr.split('\n').find((l) => l.startsWith('Failed:')) ?? reasonOf(r)).trim()
            seen.push(`exit ${toolExit}: ${reason.slice(0, 160)}`)
            expect(toolExit, r.stdout + r.stderr).toBe(2)
            expect(reason).toMatch(/Unable to append to journal .*(ENOSPC|no space left)/i)
            expect(hasStackTrace(r)).toBe(false)
            expect(await readFile('/proc/self/mountinfo', 'utf8')).toBe(hostMountsBefore)
            seen.push('host mount table unchanged')

            // What the journal says happened, and the first action it has no begin for.
            const [file] = (await readdir(save)).filter((f) => f.startsWith('transaction-'))
            const text = await readFile(path.join(save, file as string), 'utf8')
            const complete = text.slice(0, text.lastIndexOf('\n') + 1)
            const recs = records(complete)
            const begins = recs.filter((x) => x.type === 'begin')
            const next = referenceBegins[begins.length]
            expect(next, 'the journal held every action: the tmpfs was not small enough').toBeDefined()
            const torn = text.length - complete.length
            seen.push(
              `journal: ${recs.length} whole records (${begins.length} begins)${torn ? `, ${torn} torn bytes` : ''}; first unjournaled action #${next?.seq} ${next?.action_type} ${next?.target}`,
            )
            const happened = await effectPresent(ch, next as Rec)
            seen.push(happened ? 'it HAPPENED' : 'it never happened')
            expect(happened).toBe(false)

            // Space is back: the journal where it belongs, rollback undoes what it records.
            await run([
              'cp',
              '--',
              path.join(save, file as string),
              path.join(fr.root, LOG_DIR, file as string),
            ])
            const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
            seen.push(`rollback ${exitText(rb)}`)
            expect(rb.exitCode, tail(rb)).toBe(0)
            await expectBaseline(ch, seen)
          })
        } finally {
          await rm(save, { recursive: true, force: true })
        }
      },
    )
  })

  it('hostile strings in journal fields on disk are shown as text, never executed', async () => {
    await fr.case(
      FILE,
      {
        id: 'hostile.journal-fields',
        area: 'hostile input',
        case: 'shell and terminal injection in a journal record (valid checksums and chain)',
        injection:
          'a record appended with step `$(touch /tmp/pwned-step)`, target `` `touch /tmp/pwned-target`; rm -rf / `` + ESC sequences, error `$(touch /tmp/pwned-error)`, undo remove-file `/tmp/x; touch /tmp/pwned-path`',
        expected:
          '`log` shows them without escape sequences; rollback exit 0; no /tmp/pwned-*; manifest = baseline',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const id = await freshRun(ch)
          const text = await ch.readFile(journalPath(id))
          const recs = records(text)
          const last = recs.at(-1) as Rec
          const seq = Math.max(...recs.map((x) => x.seq)) + 1
          const ts = new Date().toISOString()
          const sign = (body: Record<string, unknown>) => ({ ...body, sum: sha256(JSON.stringify(body)) })
          const begin = sign({
            v: 1,
            type: 'begin',
            seq,
            phase: 'user-creation',
            step: '$(touch /tmp/pwned-step)',
            action_type: 'FILE_CREATE',
            target: '`touch /tmp/pwned-target`; rm -rf / #\u001b]0;evil title\u0007\u001b[2J',
            undo: { kind: 'remove-file', path: '/tmp/x; touch /tmp/pwned-path' },
            ts,
            prev: last.sum,
          })
          const failed = sign({
            v: 1,
            type: 'failed',
            seq,
            error: '$(touch /tmp/pwned-error)\n\u001b[31mred\u001b[0m',
            ts,
            prev: begin.sum,
          })
          await ch.writeFile(
            journalPath(id),
            `${text}${JSON.stringify(begin)}\n${JSON.stringify(failed)}\n`,
            {
              mode: 0o600,
            },
          )
          const log = await fr.tool(ch, ['log', id])
          const shown = `${log.stdout}${log.stderr}`
          seen.push(
            `log ${exitText(log)}; shows the target: ${shown.includes('touch /tmp/pwned-target')}; ESC in output: ${shown.includes('\u001b')}`,
          )
          expect(log.exitCode, tail(log)).toBe(0)
          expect(shown).toContain('touch /tmp/pwned-target')
          expect(shown).not.toContain('\u001b')
          const rb = await fr.tool(ch, ['rollback', id, '--yes', '--plain'])
          seen.push(
            `rollback ${exitText(rb)}; ESC in output: ${`${rb.stdout}${rb.stderr}`.includes('\u001b')}`,
          )
          expect(rb.exitCode, tail(rb)).toBe(0)
          expect(`${rb.stdout}${rb.stderr}`).not.toContain('\u001b')
          const pwned = (await ch.sh('ls /tmp | grep -c pwned || true')).stdout.trim()
          seen.push(`/tmp/pwned-* files: ${pwned}`)
          expect(pwned).toBe('0')
          await expectBaseline(ch, seen)
        })
      },
    )
  })
})

/** Whether the change a begin record announces is on the machine (for the kinds user-creation makes). */
async function effectPresent(ch: Chroot, b: Rec): Promise<boolean> {
  const target = b.target ?? ''
  const group = /^(\S+) \+(\S+)$/.exec(target)
  if (b.action_type === 'USER_MODIFY' && group) {
    const r = await ch.exec(['id', '-nG', group[1] as string], { allowFailure: true })
    return r.stdout.split(/\s+/).includes(group[2] as string)
  }
  if (b.action_type === 'USER_MODIFY' && target.startsWith('password of ')) {
    const r = await ch.exec(['passwd', '--status', USER], { allowFailure: true })
    return /^\S+ P /.test(r.stdout)
  }
  if (b.action_type === 'USER_CREATE') {
    const name = target.replace(/^group /, '')
    const db = target.startsWith('group ') ? 'group' : 'passwd'
    return (await ch.exec(['getent', db, name], { allowFailure: true })).exitCode === 0
  }
  if (target.startsWith('/')) return ch.exists(target)
  throw new Error(`cannot tell whether ${b.action_type} ${target} happened`)
}
