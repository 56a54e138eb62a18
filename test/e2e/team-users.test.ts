// Issue 22 item 2 on the booted trixie container: `users:` with two developers (alice with sudo, bob
// without, with an SSH key from the configuration). Both log in over RDP at the same time and each
// gets their own xrdp session (own sesman session, own Xorg display, own XFCE); a re-run journals 0
// actions; `user remove bob --keep-home` while bob is still logged in ends his session, archives his
// home (0600) and removes only what was made for him; rollback then returns to the baseline manifest.
//
//   sudo E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/team-users.test.ts
import { copyFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { caseOf } from '../support/reliability.js'
import { regenerateReportAfterAll } from './faults-support.js'
import { ROLLBACK_EXCLUSIONS } from './harness/exclusions.js'
import { diffManifests, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { connectRdp, type RdpClient, runningAs, waitForDesktop } from './harness/rdp.js'
import { stages } from './harness/stages.js'
import { collectToolState, journalActions, startWorldWithTool, TOOL_CONFIG, tool } from './harness/tool.js'
import { e2eSkipReason, standInConfig, type World } from './harness/world.js'

const skip = await e2eSkipReason({ rdp: true })
if (skip) console.warn(`\n*** SKIPPED e2e team-users (issue 22 item 2): ${skip} ***\n`)

const FILE = 'test/e2e/team-users.test.ts'
const BOB_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlYW0tdXNlcnMtZTJlLWJvYi1rZXktZm9yLXRlc3Q bob@laptop'
const TEAM = [
  'users:',
  '  - name: alice',
  '    fullName: Alice Example',
  '  - name: bob',
  '    sudo: false',
  '    sshKeys:',
  `      - ${BOB_KEY}`,
  '',
].join('\n')

describe.skipIf(skip !== null)('e2e team-users: two developers, two RDP sessions, user remove', () => {
  let w: World
  let baseline: Manifest
  let firstSession = ''
  const passwords: Record<string, string> = {}
  const clients: RdpClient[] = []
  const s = stages()
  regenerateReportAfterAll()

  beforeAll(async () => {
    w = await startWorldWithTool({ scenario: 'team-users', machineName: 'e2e-team' })
    await w.machine.writeFile(TOOL_CONFIG, `${standInConfig(w)}${TEAM}`, 0o600)
  }, 30 * 60_000)

  afterAll(async () => {
    if (!w) return
    for (const c of clients) await c.close().catch(() => undefined)
    await collectToolState(w).catch(() => undefined)
    await copyFile(w.machine.hostPath('/var/log/xrdp-sesman.log'), path.join(w.dir, 'xrdp-sesman.log')).catch(
      () => undefined,
    )
    await s.writeTimings(w.dir)
    await w.close()
  }, 10 * 60_000)

  const proof = caseOf({ area: '22.2 several developers', file: FILE, backend: 'container' })

  const sesmanLog = async () => (await w.machine.readFile('/var/log/xrdp-sesman.log')) ?? ''
  const sh = async (script: string) => (await w.machine.sh(script, { allowFailure: true })).stdout.trim()

  s.stage('baseline manifest', async () => {
    baseline = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-baseline.json'), JSON.stringify(baseline, null, 2))
  })

  s.stage(
    'run creates both developers: their own password files, sudo for alice only, bob has his key',
    async () => {
      const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-1' })
      expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
      firstSession = r.sessionId as string
      expect(r.stdout).toMatch(/^Username: alice$/m)
      expect(r.stdout).toMatch(/^Also: +bob: password in \/root\/vps-provision-credentials-bob$/m)
      for (const [name, file] of [
        ['alice', '/root/vps-provision-credentials'],
        ['bob', '/root/vps-provision-credentials-bob'],
      ] as const) {
        const text = (await w.machine.readFile(file)) ?? ''
        expect(text).toMatch(new RegExp(`^username=${name}$`, 'm'))
        passwords[name] = /^password=(.+)$/m.exec(text)?.[1] ?? ''
        expect(passwords[name]?.length).toBeGreaterThanOrEqual(20)
        expect(await sh(`stat -c %a:%U ${file}`)).toBe('600:root')
      }
      expect((await sh('id -nG alice')).split(' ')).toContain('sudo')
      expect((await sh('id -nG bob')).split(' ')).not.toContain('sudo')
      expect(await sh('runuser -u alice -- sudo -n true && echo yes || echo no')).toBe('yes')
      expect(await sh('runuser -u bob -- sudo -n true 2>/dev/null && echo yes || echo no')).toBe('no')
      expect((await w.machine.readFile('/home/bob/.ssh/authorized_keys')) ?? '').toContain(BOB_KEY)
      expect(await sh('stat -c %a:%U /home/bob/.ssh/authorized_keys')).toBe('600:bob')
    },
  )

  s.stage('alice and bob log in over RDP at the same time, each in their own session', async () => {
    await proof(
      {
        id: 'container.team.two-rdp-sessions',
        case: 'two developers logged in over RDP at the same time, each with their own desktop',
        injection:
          '`users: [alice, bob]`, `run --yes --plain`, then two FreeRDP clients (two Xvfb displays on the host) logging in as alice and bob at once',
        expected:
          'sesman creates a session for each; each has their own Xorg display and XFCE running as themselves; both screens drawn',
      },
      async (seen) => {
        const before = (await sesmanLog()).length
        for (const name of ['alice', 'bob'])
          clients.push(
            await connectRdp({
              host: w.machine.address,
              port: 3389,
              username: name,
              password: passwords[name] as string,
              logFile: path.join(w.dir, `freerdp-${name}.log`),
              home: w.dir,
            }),
          )
        const desktops = await Promise.all(
          ['alice', 'bob'].map((name, i) =>
            waitForDesktop({
              client: clients[i] as RdpClient,
              user: name,
              sesmanLog: async () => (await sesmanLog()).slice(before),
              running: runningAs(w.machine, name),
              shot: path.join(w.dir, `rdp-${name}.png`),
              timeoutMs: 180_000,
            }),
          ),
        )
        const displays: string[] = []
        for (const [i, name] of ['alice', 'bob'].entries()) {
          const d = desktops[i]
          // Xorg runs as the user with its display as the first argument (xorgxrdp: ":10", ":11").
          const xorg = await sh(`pgrep -u ${name} -a Xorg | grep -o ' :[0-9]*' | head -1`)
          displays.push(xorg.trim())
          seen.push(
            `${name}: session created ${d?.created}, XFCE ${d?.session}, display ${xorg.trim()}, screen mean ${d?.mean.toFixed(3)}`,
          )
          expect(d?.created, name).toBe(true)
          expect(d?.session, name).toBe(true)
          expect(d?.mean, name).toBeGreaterThan(0.1)
        }
        expect(displays.every((d) => /^:[0-9]+$/.test(d))).toBe(true)
        expect(new Set(displays).size).toBe(2)
        // Both still there: the second login did not take over the first.
        for (const name of ['alice', 'bob'])
          expect(await sh(`pgrep -u ${name} xfce4-session >/dev/null && echo up`), name).toBe('up')
      },
    )
  })

  s.stage('re-run journals 0 actions', async () => {
    const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-2' })
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
    expect(await journalActions(w.machine, r.sessionId as string)).toEqual([])
  })

  s.stage(
    'user remove bob --keep-home, while bob is logged in: archive, session ended, alice untouched',
    async () => {
      await proof(
        {
          id: 'container.team.user-remove',
          case: '`user remove` of a developer who is logged in over RDP',
          injection:
            '`vps-provision user remove bob --keep-home --yes --plain` while bob and alice have RDP sessions',
          expected:
            "bob's processes end, his account, home, password file and memberships go, his home is in a 0600 tarball; alice's session and account stay",
        },
        async (seen) => {
          await w.machine.sh('runuser -u bob -- sh -c "echo draft > /home/bob/notes.txt"')
          const bobUid = await sh('id -u bob')
          const r = await tool(w, ['user', 'remove', 'bob', '--keep-home', '--yes', '--plain'], {
            artifact: 'user-remove',
          })
          seen.push(
            `exit ${r.exitCode}; ${r.stdout
              .split('\n')
              .filter((l) => /bob/.test(l))
              .join(' | ')}`,
          )
          expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
          const archive = /archived to (\S+)/.exec(r.stdout)?.[1] ?? ''
          expect(archive).toMatch(/^\/var\/backups\/vps-provision\/home-bob-.*\.tar\.gz$/)
          expect(await sh(`stat -c %a:%U ${archive}`)).toBe('600:root')
          const listing = await sh(`tar --list --gzip --file ${archive}`)
          expect(listing).toMatch(/\.\/notes\.txt/)
          expect(listing).toMatch(/\.\/\.xsession/)
          expect(await sh('getent passwd bob || echo gone')).toBe('gone')
          expect(await sh('test -e /home/bob && echo there || echo gone')).toBe('gone')
          expect(await sh('test -e /root/vps-provision-credentials-bob && echo there || echo gone')).toBe(
            'gone',
          )
          expect(await sh(`pgrep -u ${bobUid} -c . || true`)).toBe('0')
          expect(await sh('getent group devusers | cut -d: -f4')).toBe('alice')
          expect(await sh('pgrep -u alice xfce4-session >/dev/null && echo up')).toBe('up')
          seen.push(
            `archive ${archive}: ${listing.split('\n').length} entries; bob gone; alice's XFCE still up`,
          )
          const again = await tool(w, ['user', 'remove', 'bob', '--yes', '--plain'], {
            artifact: 'user-remove-2',
          })
          expect(again.exitCode, again.stdout).toBe(0)
          expect(again.stdout).toMatch(/already removed/)
        },
      )
    },
  )

  s.stage('rollback of the first session returns the machine to its baseline', async () => {
    for (const c of clients.splice(0)) await c.close()
    // The home archive is bob's data, kept on purpose by --keep-home: no rollback removes it.
    await w.machine.sh('rm -rf /var/backups/vps-provision')
    const r = await tool(w, ['rollback', firstSession, '--yes', '--plain'], {
      artifact: 'rollback',
      timeoutMs: 20 * 60_000,
    })
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
    const after = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-after-rollback.json'), JSON.stringify(after, null, 2))
    const diff = diffManifests(baseline, after, ROLLBACK_EXCLUSIONS)
    await writeFile(path.join(w.dir, 'manifest-diff.txt'), formatDiff(diffManifests(baseline, after)))
    expect(formatDiff(diff)).toBe('')
  })
})
