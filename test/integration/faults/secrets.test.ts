// Issue 5, secrets and permissions on a real trixie root: after a run the generated password is in
// the 0600 credentials file and nowhere else in the root (logs, state, journal, /run, /tmp) nor in
// the tool's output; state and log paths are root-only 0700/0600; symlinks planted where the tool
// writes (the state directory -> /etc, the log directory -> /etc, a journal -> /etc/shadow, a
// download or its .part -> a file in /etc) are refused and their targets unchanged.
//
//   sudo npx vitest run --project integration test/integration/faults/secrets.test.ts

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
  sampleProcesses,
  sessionOf,
  skipReason,
  type ToolResult,
  tail,
  USER,
  warnIfSkipped,
} from './fixture.js'

const FILE = 'secrets.test.ts'
warnIfSkipped(FILE)
const RUN_CURSOR = [
  'run',
  '--yes',
  '--plain',
  '--only',
  'user-creation,ide-installations',
  '--ides',
  'cursor',
]
const CREDENTIALS = '/root/vps-provision-credentials'
const DOWNLOADS = '/var/cache/vps-provision/downloads'
const failedLine = (r: ToolResult) =>
  (r.stderr.split('\n').find((l) => l.startsWith('Failed:')) ?? reasonOf(r)).trim()

describe.skipIf(skipReason !== '')('faults: secrets, permissions, planted symlinks', () => {
  let fr: FaultRoot
  regenerateReportAfterAll()

  beforeAll(async () => {
    fr = await prepareFaultRoot({ label: 'secrets', standIns: true, preinstall: ['sudo'] })
  }, 900_000)
  afterAll(async () => {
    await fr?.remove()
  }, 300_000)

  async function rollbackToBaseline(ch: Chroot, seen: string[]) {
    for (let i = 0; i < 4; i++) {
      const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
      expect(rb.exitCode, tail(rb)).toBe(0)
      if (/Nothing to do/.test(rb.stdout)) break
    }
    const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
    seen.push(`after rollback: ${describeComparison('the baseline', c)}`)
    expect(c.problems).toEqual([])
  }

  it('the password is in the 0600 credentials file and nowhere else; state is root-only 0700/0600', async () => {
    await fr.inRoot(async (ch) => {
      const run = fr.spawn(RUN_USER_CREATION)
      const ps = await sampleProcesses(fr.root, run.done)
      const r = await run.done
      expect(r.exitCode, tail(r)).toBe(0)
      const id = sessionOf(r.stdout)
      const password = /^password=(.*)$/m.exec(await ch.readFile(CREDENTIALS))?.[1] ?? ''
      expect(password.length).toBeGreaterThanOrEqual(16)

      await fr.case(
        FILE,
        {
          id: 'secrets.password-nowhere-else',
          area: 'secrets',
          case: 'the generated password after a non-interactive run',
          injection:
            '`run --plain` (no terminal), then `grep -rF <password>` over the whole root (but /proc /sys /dev), the tool output, `log --json`, `status --json`',
          expected: `only ${CREDENTIALS} holds it, mode 0600 root:root; not in /var/log, /var/vps-provision, the journal, /run, /tmp, nor any output`,
        },
        async (seen) => {
          const hits = (
            await ch.exec(
              [
                'grep',
                '-rlF',
                '--exclude-dir=proc',
                '--exclude-dir=sys',
                '--exclude-dir=dev',
                '-e',
                password,
                '/',
              ],
              { allowFailure: true, timeoutMs: 120_000 },
            )
          ).stdout
            .split('\n')
            .filter(Boolean)
          seen.push(`files holding it: ${hits.join(', ') || 'none'}`)
          expect(hits).toEqual([CREDENTIALS])
          const mode = (await ch.exec(['stat', '-c', '%a %U:%G', CREDENTIALS])).stdout.trim()
          seen.push(`${CREDENTIALS} ${mode}`)
          expect(mode).toBe('600 root:root')
          const outputs = [
            r,
            await fr.tool(ch, ['log', id, '--json']),
            await fr.tool(ch, ['status', id, '--json']),
          ]
          const leaked = outputs.filter((o) => `${o.stdout}${o.stderr}`.includes(password)).length
          seen.push(`outputs holding it: ${leaked} of ${outputs.length} (run, log --json, status --json)`)
          expect(leaked).toBe(0)
          const journal = await ch.readFile(`${LOG_DIR}/transaction-${id}.log`)
          seen.push(
            `journal records the change as "password of ${USER}": ${journal.includes(`password of ${USER}`)}`,
          )
          expect(journal).toContain(`password of ${USER}`)
        },
      )

      await fr.case(
        FILE,
        {
          id: 'secrets.ps-sampling',
          area: 'secrets',
          case: 'the password in no process argv or environment during the run',
          injection:
            'read /proc/<pid>/cmdline and environ of every process in the root, in a loop, for the whole run',
          expected: 'no sampled argv or environment holds the password (chpasswd gets it on stdin)',
        },
        async (seen) => {
          const comms = [...new Set(ps.seen.values())]
          const leaks = [...ps.seen.entries()].filter(([k]) => k.includes(password)).map(([, c]) => c)
          seen.push(
            `${ps.samples} samples, ${ps.seen.size} distinct processes (${comms.slice(0, 12).join(', ')}${comms.length > 12 ? ', …' : ''}); chpasswd caught: ${comms.includes('chpasswd')}; holding the password: ${leaks.join(', ') || 'none'}`,
          )
          expect(ps.samples).toBeGreaterThan(10)
          expect(leaks).toEqual([])
        },
      )

      await fr.case(
        FILE,
        {
          id: 'secrets.state-permissions',
          area: 'secrets',
          case: 'modes and owners of everything the tool keeps',
          injection: `find ${STATE_DIR} ${LOG_DIR} after a run`,
          expected: 'every directory 0700 root:root, every file 0600 root:root',
        },
        async (seen) => {
          const entries = (await ch.sh(`find ${STATE_DIR} ${LOG_DIR} -printf '%y %m %u:%g %p\\n'`)).stdout
            .split('\n')
            .filter(Boolean)
          const bad = entries.filter((e) => !/^(d 700|f 600) root:root /.test(e))
          seen.push(
            `${entries.length} entries; not root-only: ${bad.length ? bad.slice(0, 4).join('; ') : 'none'}`,
          )
          expect(bad).toEqual([])
        },
      )
      const seen: string[] = []
      await rollbackToBaseline(ch, seen)
    })
  })

  const plantedDir = (dir: string, id: string) =>
    it(`a symlink planted as ${dir} (-> /etc) is refused; /etc unchanged`, async () => {
      await fr.case(
        FILE,
        {
          id: `secrets.symlink.${id}`,
          area: 'secrets',
          case: `${dir} replaced by a symlink to /etc`,
          injection: `mv ${dir} aside; ln -s /etc ${dir}; \`run\``,
          expected: 'refused before any change ("… is a symbolic link"), no stack trace; /etc unchanged',
        },
        async (seen) => {
          await fr.inRoot(async (ch) => {
            await ch.sh(`[ -e ${dir} ] && mv ${dir} ${dir}.away; ln -s /etc ${dir}`)
            let r: ToolResult
            try {
              r = await fr.tool(ch, RUN_USER_CREATION)
            } finally {
              await ch.sh(`rm -f ${dir}; [ -e ${dir}.away ] && mv ${dir}.away ${dir}; true`)
            }
            seen.push(`${exitText(r)}: ${failedLine(r).slice(0, 180)}`)
            expect(r.exitCode, tail(r)).not.toBe(0)
            expect(`${r.stdout}${r.stderr}`).toMatch(
              new RegExp(`${dir.replace(/\//g, '\\/')} is a symbolic link`),
            )
            expect(hasStackTrace(r)).toBe(false)
            const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
            seen.push(describeComparison('the baseline', c))
            expect(c.problems).toEqual([])
          })
        },
      )
    })
  plantedDir(STATE_DIR, 'state-dir')
  plantedDir(LOG_DIR, 'log-dir')

  it("a session's journal replaced by a symlink to /etc/shadow: rollback and log refuse it, shadow untouched and unshown", async () => {
    await fr.case(
      FILE,
      {
        id: 'secrets.symlink.journal',
        area: 'secrets',
        case: 'transaction-<id>.log replaced by a symlink to /etc/shadow',
        injection:
          'after a run: ln -sf /etc/shadow /var/log/vps-provision/transaction-<id>.log; `rollback <id> --yes`; `log <id>`',
        expected:
          'both refuse naming the symlink; /etc/shadow unchanged and never printed; journal restored, rollback reaches the baseline',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const r = await fr.tool(ch, RUN_USER_CREATION)
          expect(r.exitCode, tail(r)).toBe(0)
          const id = sessionOf(r.stdout)
          const journal = `${LOG_DIR}/transaction-${id}.log`
          const saved = await ch.readFile(journal)
          const shadow = await ch.readFile('/etc/shadow')
          await ch.exec(['ln', '-sf', '/etc/shadow', journal])
          for (const args of [
            ['rollback', id, '--yes', '--plain'],
            ['log', id],
          ]) {
            const x = await fr.tool(ch, args)
            const out = `${x.stdout}${x.stderr}`
            seen.push(`${args[0]} ${exitText(x)}: ${reasonOf(x).slice(0, 140)}`)
            expect(x.exitCode, tail(x)).not.toBe(0)
            expect(out).toMatch(/symbolic link/)
            expect(hasStackTrace(x)).toBe(false)
            expect(shadow.split('\n').filter((l) => l.includes(':') && out.includes(l))).toEqual([])
          }
          expect(await ch.readFile('/etc/shadow')).toBe(shadow)
          await ch.exec(['rm', '-f', journal])
          await ch.writeFile(journal, saved, { mode: 0o600 })
          await rollbackToBaseline(ch, seen)
        })
      },
    )
  })

  for (const [name, target] of [
    // Files the run itself leaves alone (it changes /etc/passwd and /etc/shadow: it adds a user).
    ['cursor.deb', '/etc/issue'],
    ['cursor.deb.part', '/etc/debian_version'],
  ] as const) {
    it(`a download planted as ${DOWNLOADS}/${name} -> ${target} is refused; ${target} unchanged`, async () => {
      await fr.case(
        FILE,
        {
          id: `secrets.symlink.download-${name.replace(/\./g, '-')}`,
          area: 'secrets',
          case: `${DOWNLOADS}/${name} is a symlink to ${target}`,
          injection: `mkdir -p ${DOWNLOADS}; ln -s ${target} ${DOWNLOADS}/${name}; \`run --only user-creation,ide-installations --ides cursor\``,
          expected: `the download step refuses (exit 2); ${target} unchanged; nothing of cursor installed; rollback = baseline`,
        },
        async (seen) => {
          await fr.inRoot(async (ch) => {
            const before = await ch.readFile(target)
            await ch.sh(`mkdir -p ${DOWNLOADS} && ln -s ${target} ${DOWNLOADS}/${name}`)
            let r: ToolResult
            try {
              r = await fr.tool(ch, RUN_CURSOR)
            } finally {
              await ch.sh(`rm -f ${DOWNLOADS}/${name}`)
            }
            seen.push(`${exitText(r)}: ${failedLine(r).slice(0, 180)}`)
            expect(r.exitCode, tail(r)).toBe(2)
            expect(failedLine(r)).toMatch(
              new RegExp(
                `${DOWNLOADS}/${name.replace(/\./g, '\\.')}(: it)? is a symlink, not a regular file`,
              ),
            )
            expect(hasStackTrace(r)).toBe(false)
            const same = (await ch.readFile(target)) === before
            seen.push(`${target} ${same ? 'unchanged' : 'CHANGED'}`)
            expect(same).toBe(true)
            expect((await ch.exec(['dpkg-query', '-W', 'cursor'], { allowFailure: true })).exitCode).not.toBe(
              0,
            )
            // The planted directories were not ours: they stay out of the rollback's way.
            await ch.sh('rmdir /var/cache/vps-provision/downloads /var/cache/vps-provision 2>/dev/null; true')
            await rollbackToBaseline(ch, seen)
          })
        },
      )
    })
  }
})
