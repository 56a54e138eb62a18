// Issue 23 items 4 and 5 on a booted trixie container: `npm run release` (scripts/release.mjs) with a
// throwaway key makes a signed apt repository; served over HTTP from the host side of the veth (the
// harness's proxy, as any web server would), the container trusts it by a deb822 source with
// Signed-By, refuses it under another key, installs vps-provision V with apt and runs a short
// session; then V+1 (the same sources, --version bumped) is published into the same repository,
// apt upgrades to it, and V+1 rolls back the session V wrote.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { cleanEnv, hostHas, run } from '../lab/proc.js'
import { caseOf } from '../support/reliability.js'
import { regenerateReportAfterAll } from './faults-support.js'
import { stages } from './harness/stages.js'
import {
  collectToolState,
  journalActions,
  readSession,
  TOOL_CONFIG,
  TOOL_PATH,
  tool,
} from './harness/tool.js'
import { e2eSkipReason, REPO_ROOT, standInConfig, startWorld, type World } from './harness/world.js'

async function skipReason(): Promise<string | null> {
  const base = await e2eSkipReason({})
  if (base) return base
  const missing: string[] = []
  for (const b of ['apt-ftparchive', 'gpg', 'dpkg-deb']) if (!(await hostHas(b))) missing.push(b)
  if (missing.length === 0) return null
  const reason = `npm run release needs ${missing.join(', ')} on the host (apt-get install apt-utils gnupg dpkg-dev)`
  if (process.env.E2E_REQUIRED === '1') throw new Error(`E2E_REQUIRED=1 but ${reason}`)
  return reason
}
const skip = await skipReason()
if (skip) console.warn(`\n*** SKIPPED e2e release-repo (issue 23 items 4, 5): ${skip} ***\n`)

const FILE = 'test/e2e/release-repo.test.ts'
const AREA = '23.4 release artifacts'
const REPRODUCE = '`E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/release-repo.test.ts`:'
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not ours
const STATUS_FORMAT = '${Package} ${db:Status-Abbrev}\n'
const KEYRING = '/etc/apt/keyrings/vps-provision.pgp'
const SOURCES = '/etc/apt/sources.list.d/vps-provision.sources'

const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
const V = pkg.version
/** The next patch version: what a tag after this one would publish. */
const NEXT = V.replace(/(\d+)$/, (n) => String(Number(n) + 1))

const proven = caseOf({ area: AREA, file: FILE, backend: 'container', reproduce: REPRODUCE })

describe.skipIf(skip !== null)(
  'e2e release: install from the signed apt repository, upgrade, roll back',
  () => {
    let w: World
    let gnupg = ''
    let fpr = ''
    let releaseDir = ''
    let repoUrl = ''
    let session = ''
    const s = stages()
    regenerateReportAfterAll()

    /** `npm run release` as a team runs it, into the directory the web server serves. */
    const release = async (version: string) => {
      const t0 = Date.now()
      const r = await run(
        [
          process.execPath,
          'scripts/release.mjs',
          '--gpg-key-id',
          fpr,
          '--out',
          releaseDir,
          ...(version === V ? [] : ['--version', version]),
        ],
        { cwd: REPO_ROOT, env: cleanEnv({ RELEASE_GPG_HOME: gnupg }), timeoutMs: 10 * 60_000 },
      )
      w.log(`npm run release ${version}: ${Date.now() - t0} ms\n${r.stdout}`)
      return r
    }
    const apt = (args: string[], timeoutMs = 10 * 60_000) =>
      w.machine.exec(['apt-get', '-q', ...args], {
        allowFailure: true,
        timeoutMs,
        env: { DEBIAN_FRONTEND: 'noninteractive' },
      })
    const installed = async () => {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not ours
      const r = await w.machine.exec(['dpkg-query', '-W', '-f', '${Version}', 'vps-provision'], {
        allowFailure: true,
      })
      return r.stdout.trim()
    }
    const writeSource = (signedBy: string) =>
      w.machine.writeFile(
        SOURCES,
        [
          'Types: deb',
          `URIs: ${repoUrl}`,
          'Suites: stable',
          'Components: main',
          `Signed-By: ${signedBy}`,
          '',
        ].join('\n'),
      )

    beforeAll(async () => {
      gnupg = await mkdtemp('/var/tmp/vps-release-gnupg-')
      await chmod(gnupg, 0o700)
      const gpg = (args: string[]) =>
        run(['gpg', '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
          env: cleanEnv({ GNUPGHOME: gnupg }),
          timeoutMs: 120_000,
        })
      await gpg([
        '--quick-gen-key',
        'vps-provision e2e release <release@vps-provision.invalid>',
        'ed25519',
        'sign',
        '1d',
      ])
      fpr =
        /^fpr:+([0-9A-F]{40}):/m.exec((await gpg(['--with-colons', '--list-secret-keys'])).stdout)?.[1] ?? ''
      if (!fpr) throw new Error('gpg made no key')
      w = await startWorld({ scenario: 'release-repo', machineName: 'e2e-release' })
      // The stand-in server's directory is what the proxy serves at /standins/<alias>/: the web server.
      releaseDir = path.join(w.standIns.dir, 'release')
      repoUrl = `${w.proxy.standInUrl('team')}/release/apt`
      await w.machine.writeFile(TOOL_CONFIG, standInConfig(w), 0o600)
    }, 30 * 60_000)

    afterAll(async () => {
      if (gnupg) {
        await run(['gpgconf', '--kill', 'all'], { env: cleanEnv({ GNUPGHOME: gnupg }), allowFailure: true })
        await rm(gnupg, { recursive: true, force: true })
      }
      if (!w) return
      await collectToolState(w).catch(() => undefined)
      await s.writeTimings(w.dir, { versions: [V, NEXT] })
      await w.close()
    }, 10 * 60_000)

    s.stage(
      `npm run release ${V} refuses without a key, then builds a signed repository with a key`,
      async () => {
        const bare = await run([process.execPath, 'scripts/release.mjs', '--out', releaseDir], {
          cwd: REPO_ROOT,
          env: cleanEnv({}),
          allowFailure: true,
        })
        expect(bare.exitCode).toBe(1)
        expect(bare.stderr).toContain('Unable to release: no signing key given')
        const r = await release(V)
        expect(r.exitCode, r.stderr).toBe(0)
        const sums = await readFile(path.join(releaseDir, 'SHA256SUMS'), 'utf8')
        expect(sums).toContain(`vps-provision_${V}-1_all.deb`)
        expect(sums).toContain(`vps-provision-${V}.mjs`)
        for (const f of ['InRelease', 'Release.gpg', 'Release', 'main/binary-amd64/Packages.gz'])
          expect(
            await readFile(path.join(releaseDir, 'apt/dists/stable', f)).catch(() => null),
            f,
          ).not.toBeNull()
      },
    )

    s.stage(`apt refuses the repository under another key and installs ${V} under its own`, () =>
      proven(
        {
          id: 'container.release.install-from-repo',
          case: `apt install vps-provision from the repository npm run release made, served over HTTP`,
          injection:
            'a deb822 source with Signed-By the Debian archive keyring (wrong key), apt-get update; then Signed-By the release keyring, apt-get update, apt-get install vps-provision',
          expected: `wrong key: apt-get update fails naming the repository (NO_PUBKEY / not signed) and vps-provision is not installable; right key: update exit 0, install exit 0, dpkg says ${V}-1, vps-provision --version ${V}`,
        },
        async (seen) => {
          await writeSource('/usr/share/keyrings/debian-archive-keyring.gpg')
          const wrong = await apt(['update'])
          const wrongText = `${wrong.stdout}\n${wrong.stderr}`
          seen.push(
            `wrong key: update exit ${wrong.exitCode}, ${/NO_PUBKEY \w+|not signed|is not signed|signatures? (couldn't|could not) be verified/i.exec(wrongText)?.[0] ?? 'no signature error'}`,
          )
          expect(wrongText).toMatch(/NO_PUBKEY|not signed|couldn't be verified|could not be verified/)
          const policy = await w.machine.exec(['apt-cache', 'policy', 'vps-provision'], {
            allowFailure: true,
          })
          expect(policy.stdout).not.toMatch(/Candidate: \d/)

          await w.machine.copyIn(
            path.join(releaseDir, 'apt/vps-provision-archive-keyring.pgp'),
            KEYRING,
            0o644,
          )
          await writeSource(KEYRING)
          const update = await apt(['update'])
          seen.push(`right key: update exit ${update.exitCode}`)
          expect(update.exitCode, update.stdout + update.stderr).toBe(0)
          expect(`${update.stdout}\n${update.stderr}`).not.toMatch(/NO_PUBKEY|not signed/)
          const install = await apt(['install', '-y', 'vps-provision'])
          seen.push(`install exit ${install.exitCode}`)
          expect(install.exitCode, install.stdout + install.stderr).toBe(0)
          const version = await installed()
          const cli = await w.machine.exec(['vps-provision', '--version'])
          seen.push(`dpkg ${version}, --version ${cli.stdout.trim()}`)
          expect(version).toBe(`${V}-1`)
          expect(cli.stdout.trim()).toBe(V)
          // tool() runs /usr/local/bin/vps-provision: the packaged command behind it.
          await w.machine.exec(['ln', '-sfn', '/usr/bin/vps-provision', TOOL_PATH])
        },
      ),
    )

    s.stage(`${V} runs a short session (run --only system-prep)`, async () => {
      const r = await tool(w, ['run', '--yes', '--plain', '--only', 'system-prep'], { artifact: 'run-old' })
      expect(r.exitCode, r.stdout + r.stderr).toBe(0)
      session = r.sessionId ?? ''
      expect(session).not.toBe('')
      const written = await readSession(w.machine, session)
      expect(written.written_by).toBe(`vps-provision ${V}`)
      expect(written.format).toBe(1)
    })

    s.stage(
      `${NEXT} published into the same repository; apt upgrades to it; it rolls back ${V}'s session`,
      () =>
        proven(
          {
            id: 'container.release.upgrade-rolls-back-old-session',
            case: 'after apt upgrades vps-provision to a newer release from the same repository, the new version rolls back a session the old one wrote',
            injection: `npm run release -- --version ${NEXT} into the served directory; apt-get update; apt-get install --only-upgrade vps-provision; vps-provision rollback <the ${V} session> --yes --plain`,
            expected: `dpkg says ${NEXT}-1 and --version ${NEXT}; rollback exit 0; the session ROLLED_BACK, written by ${NEXT}; its journal undamaged with an undone record for every action; the packages system-prep installed are purged`,
          },
          async (seen) => {
            const r = await release(NEXT)
            expect(r.exitCode, r.stderr).toBe(0)
            const update = await apt(['update'])
            expect(update.exitCode, update.stdout + update.stderr).toBe(0)
            const candidate = await w.machine.exec(['apt-cache', 'policy', 'vps-provision'])
            expect(candidate.stdout).toContain(`Candidate: ${NEXT}-1`)
            const up = await apt(['install', '--only-upgrade', '-y', 'vps-provision'])
            expect(up.exitCode, up.stdout + up.stderr).toBe(0)
            const version = await installed()
            const cli = await w.machine.exec(['vps-provision', '--version'])
            seen.push(`upgraded: dpkg ${version}, --version ${cli.stdout.trim()}`)
            expect(version).toBe(`${NEXT}-1`)
            expect(cli.stdout.trim()).toBe(NEXT)

            const before = await journalActions(w.machine, session)
            const purged = before.flatMap((a) => (a.undo.kind === 'purge-packages' ? a.undo.packages : []))
            seen.push(
              `${V}'s session ${session}: ${before.length} actions, ${purged.length} packages installed`,
            )
            const back = await tool(w, ['rollback', session, '--yes', '--plain'], {
              artifact: 'rollback-new',
            })
            seen.push(`rollback by ${NEXT}: exit ${back.exitCode}`)
            expect(back.exitCode, back.stdout + back.stderr).toBe(0)
            const after = await readSession(w.machine, session)
            seen.push(`session ${after.status}, written by ${after.written_by}`)
            expect(after.status).toBe('ROLLED_BACK')
            expect(after.written_by).toBe(`vps-provision ${NEXT}`)
            const actions = await journalActions(w.machine, session)
            expect(actions.filter((a) => a.undone === null)).toEqual([])
            if (purged.length > 0) {
              const q = await w.machine.exec(['dpkg-query', '-W', '-f', STATUS_FORMAT, ...purged], {
                allowFailure: true,
              })
              const still = q.stdout.split('\n').filter((l) => /\sii\s*$/.test(l))
              seen.push(`still installed after rollback: ${still.length}`)
              expect(still).toEqual([])
            }
          },
        ),
    )
  },
)
