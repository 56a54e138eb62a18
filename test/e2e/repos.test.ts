// Issue 22 item 4 on the booted trixie container (systemd as PID 1, so runuser's PAM session is
// the real one): two private repositories on the container's own loopback, one over smart HTTP
// (git http-backend behind harness/git-http-server.mjs, 401 without the token) and one over SSH
// (a second sshd on 127.0.0.1:2222 for a `git` account holding a bare repository, a deploy key).
// The run clones both as the developer; no secret is in the clones, the tool's state, /run, or the
// system journal; a re-run changes nothing and asks neither server anything; local work refuses
// rollback naming the clone, and --force keeps it in a 0600 tarball and removes both.
//
//   E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/repos.test.ts
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { caseOf } from '../support/reliability.js'
import { regenerateReportAfterAll } from './faults-support.js'
import { stages } from './harness/stages.js'
import { collectToolState, startWorldWithTool, TOOL_CONFIG, tool } from './harness/tool.js'
import { e2eSkipReason, standInConfig, type World } from './harness/world.js'

const skip = await e2eSkipReason({})
if (skip) console.warn(`\n*** SKIPPED e2e repos (issue 22 item 4): ${skip} ***\n`)

const FILE = 'test/e2e/repos.test.ts'
const AREA = '22.4 repositories'
const REPRODUCE = '`E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/repos.test.ts`:'
const TOKEN = 'ghp_E2eTokenThatMustNotLeak_0123456789abcdef'
const HTTP_PORT = 8418
const SSH_PORT = 2222
const HTTP_URL = `http://127.0.0.1:${HTTP_PORT}/app.git`
const SSH_URL = `ssh://git@127.0.0.1:${SSH_PORT}/srv/git/tools.git`
const REQUEST_LOG = '/var/log/git-http-requests.log'
const SSH_LOG = '/var/log/git-sshd.log'
const sh = promisify(execFile)

const proven = caseOf({ area: AREA, file: FILE, backend: 'container', reproduce: REPRODUCE })

describe.skipIf(skip !== null)('e2e repositories: HTTP token and SSH deploy key, as the developer', () => {
  let w: World
  let host = ''
  let session = ''
  let keyLine = ''
  const s = stages()
  regenerateReportAfterAll()

  const git = (args: string[], cwd?: string) =>
    sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {
      cwd,
      env: { PATH: '/usr/bin:/bin' },
    })

  /** A bare repository with one commit, as a tarball the container unpacks. */
  async function bareTarball(name: string): Promise<string> {
    const bare = path.join(host, name)
    const work = path.join(host, `work-${name}`)
    await git(['init', '-q', '--bare', '--initial-branch=main', bare])
    await git(['clone', '-q', bare, work])
    await sh('sh', ['-c', 'echo "# repo" > README.md && mkdir src && echo "export {}" > src/index.ts'], {
      cwd: work,
    })
    await git(['add', '.'], work)
    await git(['commit', '-qm', 'first'], work)
    await git(['push', '-q', 'origin', 'HEAD:main'], work)
    await sh('tar', ['-C', host, '-czf', `${bare}.tar.gz`, name])
    return `${bare}.tar.gz`
  }

  beforeAll(async () => {
    host = await mkdtemp('/var/tmp/vps-provision-e2e-repos-')
    const app = await bareTarball('app.git')
    const tools = await bareTarball('tools.git')
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy', '-f', path.join(host, 'deploy')])
    // Line 1 of every unencrypted ed25519 key is the same (the host keys in /etc have it): line 3 is its private part.
    keyLine = (await readFile(path.join(host, 'deploy'), 'utf8')).split('\n')[3] as string

    w = await startWorldWithTool({ scenario: 'repos', machineName: 'e2e-repos' })
    const m = w.machine
    // The image's sources were just pointed at the harness's proxy: no lists yet.
    await m.exec(['apt-get', 'update', '-q'], { timeoutMs: 10 * 60_000 })
    await m.exec(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'git', 'openssh-server'], {
      timeoutMs: 15 * 60_000,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    })
    // The git host: an account with git-shell, the bare repositories, a second sshd without PAM
    // (pam_motd's banner would break git's protocol) on loopback, and the HTTP server.
    await m.exec(['useradd', '--create-home', '--shell', '/usr/bin/git-shell', 'git'])
    await m.exec(['usermod', '--password', '*', 'git'])
    await m.copyIn(app, '/srv/http/app.git.tar.gz')
    await m.copyIn(tools, '/srv/git/tools.git.tar.gz')
    await m.exec(['tar', '-C', '/srv/http', '-xzf', '/srv/http/app.git.tar.gz'])
    await m.exec(['tar', '-C', '/srv/git', '-xzf', '/srv/git/tools.git.tar.gz'])
    // /srv/http stays root's: git http-backend runs as root there and refuses a tree another user owns.
    await m.exec(['chown', '-R', 'git:git', '/srv/git'])
    await m.writeFile('/home/git/.ssh/authorized_keys', await readFile(path.join(host, 'deploy.pub')), 0o600)
    await m.exec(['chown', '-R', 'git:git', '/home/git/.ssh'])
    await m.exec(['chmod', '0700', '/home/git/.ssh'])
    await m.exec([
      'systemd-run',
      '--unit=git-sshd',
      '/usr/sbin/sshd',
      '-D',
      '-p',
      String(SSH_PORT),
      '-o',
      'ListenAddress=127.0.0.1',
      '-o',
      'UsePAM=no',
      '-o',
      'PasswordAuthentication=no',
      '-E',
      SSH_LOG,
    ])
    await m.writeFile('/srv/git-http-token', `${TOKEN}\n`, 0o600)
    await m.copyIn(path.join(import.meta.dirname, 'harness/git-http-server.mjs'), '/srv/git-http-server.mjs')
    await m.exec([
      'systemd-run',
      '--unit=git-http',
      'node',
      '/srv/git-http-server.mjs',
      '/srv/http',
      String(HTTP_PORT),
      '/srv/git-http-token',
      REQUEST_LOG,
    ])
    // The developer's credentials, as the docs ask: root's, 0600 and 0400.
    await m.writeFile('/root/keys/app-token', `${TOKEN}\n`, 0o600)
    await m.copyIn(path.join(host, 'deploy'), '/root/keys/tools-deploy-key', 0o400)
    const repos = [
      '    repos:',
      `      - url: ${HTTP_URL}`,
      '        credentials: /root/keys/app-token',
      `      - url: ${SSH_URL}`,
      '        credentials: /root/keys/tools-deploy-key',
    ]
    await m.writeFile(TOOL_CONFIG, `${standInConfig(w)}users:\n  - name: dev\n${repos.join('\n')}\n`, 0o600)
  }, 30 * 60_000)

  afterAll(async () => {
    if (w) {
      await collectToolState(w).catch(() => undefined)
      await s.writeTimings(w.dir)
      await w.close()
    }
    if (host) await rm(host, { recursive: true, force: true })
  }, 10 * 60_000)

  const httpRequests = async () => ((await w.machine.readFile(REQUEST_LOG)) ?? '').split('\n').filter(Boolean)
  const sshLogins = async () =>
    ((await w.machine.readFile(SSH_LOG)) ?? '').match(/Accepted publickey for git/g)?.length ?? 0

  s.stage('run clones both repositories as the developer, and no secret is anywhere', () =>
    proven(
      {
        id: 'container.repos.clone-as-developer',
        case: 'a private repository over HTTP (token file) and one over SSH (deploy key file), cloned by `run`',
        injection:
          'git http-backend (401 without the token) and an sshd for a `git` account on the container loopback; `vps-provision run --yes --plain --only user-creation,workspaces`',
        expected:
          'exit 0; every file of both clones owned by dev; the token, its Basic form and the key in no file under /home/dev, /var/log/vps-provision, /var/vps-provision, /run, nor in the system journal or the output; /run/vps-provision-git empty',
      },
      async (seen) => {
        const r = await tool(w, ['run', '--yes', '--plain', '--only', 'user-creation,workspaces'], {
          artifact: 'run-1',
        })
        seen.push(`run exit ${r.exitCode}`)
        expect(r.exitCode, r.stdout + r.stderr).toBe(0)
        session = r.sessionId ?? ''
        const notDev = await w.machine.exec(['find', '/home/dev/app', '/home/dev/tools', '!', '-user', 'dev'])
        const count = await w.machine.exec(['sh', '-c', 'find /home/dev/app /home/dev/tools | wc -l'])
        seen.push(
          `${count.stdout.trim()} paths in the clones, ${notDev.stdout.trim().split('\n').filter(Boolean).length} not owned by dev`,
        )
        expect(notDev.stdout.trim()).toBe('')
        expect(Number(count.stdout.trim())).toBeGreaterThan(10)
        const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64')
        // Read the journal first, and hand grep the secrets on stdin: in an argv they would be in
        // the journal, as the command line of the unit machine.exec starts.
        const journal = (await w.machine.exec(['journalctl', '--no-pager', '-o', 'cat'])).stdout
        for (const secret of [TOKEN, basic, keyLine]) {
          const files = await w.machine.exec(
            ['grep', '-rlF', '-f', '-', '/home/dev', '/var/log/vps-provision', '/var/vps-provision', '/run'],
            { allowFailure: true, stdin: `${secret}\n` },
          )
          expect(files.stdout, `${secret.slice(0, 8)}… in files`).toBe('')
          expect(journal.includes(secret), `${secret.slice(0, 8)}… in the journal`).toBe(false)
          expect(r.stdout + r.stderr).not.toContain(secret)
        }
        const left = await w.machine.exec(['find', '/run/vps-provision-git', '-mindepth', '1'], {
          allowFailure: true,
        })
        expect(left.stdout).toBe('')
        const denied = (await httpRequests()).filter((l) => l.endsWith(' 401'))
        seen.push(
          `HTTP requests ${(await httpRequests()).length} (${denied.length} refused), SSH logins ${await sshLogins()}`,
        )
        expect(denied).toEqual([])
        expect(await sshLogins()).toBe(1)
        seen.push('no secret in clones, tool state, /run, the system journal or the output')
      },
    ),
  )

  s.stage('a re-run changes nothing and asks neither server anything', () =>
    proven(
      {
        id: 'container.repos.rerun-no-fetch',
        case: 're-run with both clones in place (update: none)',
        injection: '`vps-provision run` again; the HTTP server request log and the sshd log before and after',
        expected: 'exit 0, 0 actions, 0 new HTTP requests, 0 new SSH logins',
      },
      async (seen) => {
        const [http, ssh] = [(await httpRequests()).length, await sshLogins()]
        const r = await tool(w, ['run', '--yes', '--plain', '--only', 'user-creation,workspaces'], {
          artifact: 'run-2',
        })
        expect(r.exitCode, r.stdout + r.stderr).toBe(0)
        const json = await w.machine.readFile(`/var/vps-provision/sessions/session-${r.sessionId}.json`)
        const phases = JSON.parse(json ?? '{}').phases as { actions: unknown[] }[]
        const actions = phases.reduce((n, p) => n + p.actions.length, 0)
        seen.push(
          `exit ${r.exitCode}, ${actions} actions, ${(await httpRequests()).length - http} HTTP requests, ${(await sshLogins()) - ssh} SSH logins`,
        )
        expect(actions).toBe(0)
        expect((await httpRequests()).length).toBe(http)
        expect(await sshLogins()).toBe(ssh)
      },
    ),
  )

  s.stage('rollback refuses a clone with local work, naming it; --force archives it, then removes both', () =>
    proven(
      {
        id: 'container.repos.rollback-guard',
        case: 'rollback of the run after the developer added a file to one clone',
        injection:
          '`runuser -u dev -- touch /home/dev/app/notes.txt`; `vps-provision rollback <run>`, then with --force',
        expected:
          'exit 3 naming /home/dev/app (not tools), nothing undone; --force: exit 0, /home/dev/app and /home/dev/tools gone, one 0600 root tarball of app holding notes.txt',
      },
      async (seen) => {
        await w.machine.exec(['runuser', '-u', 'dev', '--', 'touch', '/home/dev/app/notes.txt'])
        const refused = await tool(w, ['rollback', session, '--yes', '--plain'], {
          artifact: 'rollback-refused',
        })
        const text = refused.stdout + refused.stderr
        const why = text.split('\n').find((l) => l.includes('/home/dev/app (')) ?? ''
        seen.push(`rollback exit ${refused.exitCode}: "${why.trim()}"`)
        expect(refused.exitCode, text).toBe(3)
        expect(why).toContain('/home/dev/app (1 changed or untracked file(s))')
        expect(text).not.toContain('/home/dev/tools (')
        expect(await w.machine.exists('/home/dev/app/notes.txt')).toBe(true)
        const forced = await tool(w, ['rollback', session, '--yes', '--plain', '--force'], {
          artifact: 'rollback-forced',
        })
        expect(forced.exitCode, forced.stdout + forced.stderr).toBe(0)
        expect(await w.machine.exists('/home/dev/app')).toBe(false)
        expect(await w.machine.exists('/home/dev/tools')).toBe(false)
        const kept = await w.machine.exec([
          'find',
          '/var/backups/vps-provision/clones',
          '-type',
          'f',
          '-printf',
          '%m %u %p\n',
        ])
        const lines = kept.stdout.trim().split('\n')
        seen.push(`--force exit ${forced.exitCode}; both clones gone; kept: ${kept.stdout.trim()}`)
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(
          /^600 root \/var\/backups\/vps-provision\/clones\/\S+_home_dev_app\.tar\.gz$/,
        )
        const listing = await w.machine.exec(['tar', '-tzf', (lines[0] as string).split(' ')[2] as string])
        expect(listing.stdout).toContain('app/notes.txt')
      },
    ),
  )
})
