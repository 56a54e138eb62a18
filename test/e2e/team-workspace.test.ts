// Issue 22's "done when" on the booted trixie container: one configuration with two developers
// (alice with sudo, bob without), code-server for each, Docker with a volume, and one private
// repository each (git http-backend on the container's loopback, 401 without the token file). `plan`
// first shows every new change with its diff and no secret; the full run converges; a re-run
// journals 0 actions; rollback returns the machine to the baseline manifest. Docker needs
// `--system-call-filter=add_key keyctl bpf` on the container (see test/e2e/docker.test.ts).
//
//   E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/team-workspace.test.ts
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { buildCodeServerStandIn } from '../lab/code-server-stand-in.js'
import { caseOf } from '../support/reliability.js'
import { regenerateReportAfterAll } from './faults-support.js'
import { ROLLBACK_EXCLUSIONS } from './harness/exclusions.js'
import { serveGitOverHttp } from './harness/git-host.js'
import { diffManifests, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { stages } from './harness/stages.js'
import { collectToolState, journalActions, startWorldWithTool, TOOL_CONFIG, tool } from './harness/tool.js'
import { e2eSkipReason, standInConfig, type World } from './harness/world.js'

const skip = await e2eSkipReason({})
if (skip) console.warn(`\n*** SKIPPED e2e team-workspace (issue 22, done when): ${skip} ***\n`)

const FILE = 'test/e2e/team-workspace.test.ts'
const TOKEN = 'ghp_TeamWorkspaceTokenNotToLeak_9f8e7d6c5b4a'
const HTTP_PORT = 8418
const DEVS = ['alice', 'bob'] as const

describe.skipIf(skip !== null)(
  'e2e team-workspace: two developers, code-server, Docker, a repository each',
  () => {
    let w: World
    let git: Awaited<ReturnType<typeof serveGitOverHttp>>
    let baseline: Manifest
    let firstSession = ''
    const s = stages()
    regenerateReportAfterAll()

    const proof = caseOf({ area: '22 team workspace', file: FILE, backend: 'container' })
    const inside = async (script: string, stdin?: string) =>
      (
        await w.machine.sh(script, { allowFailure: true, ...(stdin === undefined ? {} : { stdin }) })
      ).stdout.trim()

    beforeAll(async () => {
      w = await startWorldWithTool({
        scenario: 'team-workspace',
        machineName: 'e2e-teamws',
        systemCallFilter: 'add_key keyctl bpf',
      })
      const m = w.machine
      // The git host on the container's loopback (its git installed before the baseline).
      git = await serveGitOverHttp(m, { port: HTTP_PORT, token: TOKEN, repos: ['web', 'api'] })
      await m.writeFile('/root/keys/git-token', `${TOKEN}\n`, 0o600)

      const cs = await buildCodeServerStandIn(w.standIns.dir)
      const csUrl = `${w.proxy.standInUrl('code-server')}/${cs.urlPath.replaceAll(cs.version, '{version}')}`
      const repo = (name: string) => [
        '    repos:',
        `      - url: ${git.url(name)}`,
        '        credentials: /root/keys/git-token',
      ]
      const config = [
        standInConfig(w).trimEnd(),
        '  codeServer:',
        `    url: ${csUrl}`,
        `    version: ${cs.version}`,
        `    sha256: ${cs.sha256}`,
        'users:',
        '  - name: alice',
        ...repo('web'),
        '  - name: bob',
        '    sudo: false',
        ...repo('api'),
        'codeServer:',
        '  enabled: true',
        'docker:',
        '  enabled: true',
        '  volumes: [teamdata]',
        '',
      ].join('\n')
      await m.writeFile(TOOL_CONFIG, config, 0o600)
    }, 40 * 60_000)

    afterAll(async () => {
      if (w) {
        await collectToolState(w).catch(() => undefined)
        await s.writeTimings(w.dir)
        await w.close()
      }
    }, 10 * 60_000)

    s.stage('baseline manifest', async () => {
      baseline = await takeManifest(w.machine)
      await writeFile(path.join(w.dir, 'manifest-baseline.json'), JSON.stringify(baseline, null, 2))
    })

    s.stage('plan shows every new change with its diff, and no secret', async () => {
      const r = await tool(w, ['plan'], { artifact: 'plan' })
      expect(r.exitCode, r.stdout.slice(-3000) + r.stderr).toBe(0)
      for (const want of [
        '+++ /etc/docker/daemon.json',
        'teamdata',
        `http://127.0.0.1:${HTTP_PORT}/web.git`,
        `http://127.0.0.1:${HTTP_PORT}/api.git`,
        '+++ /etc/sudoers.d/vps-provision-alice',
      ])
        expect(r.stdout, want).toContain(want)
      expect(r.stdout).toMatch(/^\s*\+\s*"ip": ?"127\.0\.0\.1"/m)
      expect(r.stdout).not.toContain(TOKEN)
      expect(r.stdout).not.toContain('/etc/sudoers.d/vps-provision-bob')
      // Files in a home the run has yet to create are planned once the account exists: plan says so.
      expect(r.stdout).toMatch(/user alice does not exist yet/)
    })

    s.stage('run: both developers with code-server, Docker and their repository', async () => {
      await proof(
        {
          id: 'container.team.workspace-run',
          case: 'two developers with code-server, Docker and a private repository each, in one run',
          injection:
            '`users: [alice, bob(sudo: false)]` with one repository each (token file), `codeServer.enabled`, `docker.enabled` with a volume; `vps-provision run --yes --plain` on a fresh booted trixie',
          expected:
            "exit 0; each developer's code-server on its own loopback port answers its own password and not the other's; both in the docker group and bob can run a container; each clone theirs; the token in no clone config",
        },
        async (seen) => {
          const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-1', timeoutMs: 60 * 60_000 })
          expect(r.exitCode, r.stdout.slice(-3000) + r.stderr).toBe(0)
          firstSession = r.sessionId as string
          for (const dev of DEVS)
            expect(r.stdout).toMatch(new RegExp(`ssh -L 800[12]:127\\.0\\.0\\.1:800[12] ${dev}@`))
          const creds = (await w.machine.readFile('/root/vps-provision-credentials')) ?? ''
          const passwords = DEVS.map(
            (dev) =>
              new RegExp(
                `# >>> vps-provision:code-server-${dev} >>>\\n[\\s\\S]*?^code-server-password=(.+)$`,
                'm',
              ).exec(creds)?.[1] ?? '',
          )
          for (const [i, dev] of DEVS.entries()) {
            const port = 8001 + i
            const login = (password: string) =>
              inside(
                `curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --data-urlencode password@- http://127.0.0.1:${port}/login`,
                password,
              )
            const own = await login(passwords[i] as string)
            const other = await login(passwords[1 - i] as string)
            // The stand-in, like the real code-server, is a process named node (User=%i of the unit).
            const owner = await inside(`ps -o user= -C node | sort -u | tr '\\n' ' '`)
            const cloneOwners = await inside(
              `find /home/${dev}/${i === 0 ? 'web' : 'api'} ! -user ${dev} | wc -l`,
            )
            const groups = await inside(`id -nG ${dev}`)
            seen.push(
              `${dev}: code-server :${port} own password ${own}, other's ${other}; docker group ${groups.includes('docker')}; paths in clone not theirs ${cloneOwners}`,
            )
            expect(own).toBe('302')
            expect(other).not.toBe('302')
            expect(owner).toContain(dev)
            expect(cloneOwners).toBe('0')
            expect(groups.split(' ')).toContain('docker')
            expect(await inside(`grep -rlF -f - /home/${dev} || true`, `${TOKEN}\n`)).toBe('')
          }
          const volume = await inside("docker volume inspect teamdata --format '{{json .Labels}}'")
          seen.push(`volume teamdata labels ${volume}`)
          expect(volume).toContain('vps-provision')
          expect(await inside('runuser -u bob -- docker info --format "{{.ServerVersion}}"')).toMatch(
            /^[0-9]/,
          )
          const verify = await tool(w, ['verify', '--json'], { artifact: 'verify', timeoutMs: 15 * 60_000 })
          expect(verify.exitCode, verify.stdout.slice(-3000)).toBe(0)
        },
      )
    })

    s.stage('re-run journals 0 actions and fetches nothing', async () => {
      const before = await git.requests()
      const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-2', timeoutMs: 30 * 60_000 })
      expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
      expect(await journalActions(w.machine, r.sessionId as string)).toEqual([])
      const after = await git.requests()
      expect(after).toBe(before)
    })

    s.stage('rollback of the first session returns the machine to its baseline', async () => {
      await proof(
        {
          id: 'container.team.workspace-rollback',
          case: 'rollback of the team workspace run',
          injection:
            '`vps-provision rollback <first session> --yes --plain`, then the manifest against the baseline',
          expected:
            'exit 0; packages, /etc, accounts, units and listeners as in the baseline (docs/e2e.md exclusions); no code-server, Docker, clone or developer left',
        },
        async (seen) => {
          const r = await tool(w, ['rollback', firstSession, '--yes', '--plain'], {
            artifact: 'rollback',
            timeoutMs: 30 * 60_000,
          })
          expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
          const after = await takeManifest(w.machine)
          await writeFile(path.join(w.dir, 'manifest-after-rollback.json'), JSON.stringify(after, null, 2))
          const all = formatDiff(diffManifests(baseline, after))
          const diff = formatDiff(diffManifests(baseline, after, ROLLBACK_EXCLUSIONS))
          await writeFile(
            path.join(w.dir, 'manifest-diff.txt'),
            `# after exclusions:\n${diff}\n\n# all:\n${all}\n`,
          )
          seen.push(
            `rollback exit ${r.exitCode}; manifest differences after the exclusions: ${diff || 'none'}`,
          )
          expect(diff).toBe('')
        },
      )
    })
  },
)
