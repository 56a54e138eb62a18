// Issue 22 item 4's proof on a real Debian 13 root, with the tool as users get it
// (dist/vps-provision.mjs) and real git, runuser, ssh and sshd:
// - a private repository over smart HTTP (the host's `git http-backend` behind
//   test/integration/support/git-http.ts on 127.0.0.1, 401 without the token) whose first request
//   answers 503, cloned with a token from a 0600 file: one logged retry;
// - a private repository over SSH: sshd started inside the root on a loopback port, a bare
//   repository owned by a `git` account, a deploy key in a root-owned 0600 file.
// Then: the files belong to the developer; neither the token nor its Basic form is in the clone,
// the journal, the session files or the tool's output, and the key's copy is gone; a re-run makes
// no change and sends no request to either server; a clone with a new file refuses rollback
// naming its directory; `rollback --force` keeps it in a 0600 tarball and removes both clones.
//
//   sudo npx vitest run --project integration test/integration/repos.test.ts
//
// Needs root and the host tools of `bash scripts/install-host-tools.sh` plus git's http-backend and
// ssh-keygen on the host; skipped LOUDLY otherwise.
import { execFile } from 'node:child_process'
import { access, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { type Chroot, type ChrootExecResult, withChroot } from '../lab/chroot.js'
import { mountsUnder } from '../lab/mounts.js'
import { lastLines, run } from '../lab/proc.js'
import { labSkipReason, warnSkip } from '../lab/skip.js'
import { LAB_INCLUDE, type ScratchRoot, scratchRoot } from '../lab/trixie-root.js'
import { reliabilityCase } from '../support/reliability.js'
import { type GitHttpServer, serveGit } from './support/git-http.js'

const REPO = path.resolve(import.meta.dirname, '../..')
const TOOL = '/usr/local/bin/vps-provision.mjs'
const CONFIG = '/etc/vps-provision/config.yaml'
const FILE = 'test/integration/repos.test.ts'
const TOKEN = 'glpat-RealLookingToken-0123456789abcdef'
const TOKEN_FILE = '/root/keys/app-token'
const KEY_FILE = '/root/keys/tools-deploy-key'
const sh = promisify(execFile)

const hostMissing: string[] = []
for (const p of ['/usr/lib/git-core/git-http-backend', '/usr/bin/ssh-keygen', '/usr/bin/git'])
  await access(p).catch(() => hostMissing.push(p))
const skipReason = await labSkipReason([], hostMissing)
warnSkip('repos (issue 22 item 4: repositories over HTTP and SSH, on a real trixie root)', skipReason)

const output = (r: ChrootExecResult) => `${r.stdout}\n${r.stderr}`
const tail = (r: ChrootExecResult) => `exit ${r.exitCode}:\n${lastLines(output(r), 40)}`
const git = (args: string[], cwd?: string) =>
  sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {
    cwd,
    env: { PATH: '/usr/bin:/bin' },
  })

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as { port: number }).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** A bare repository `dir` whose main branch has two commits, README.md and src/index.ts. */
async function bareRepo(dir: string, work: string) {
  await git(['init', '-q', '--bare', '--initial-branch=main', dir])
  await git(['clone', '-q', dir, work])
  await sh('sh', ['-c', 'echo "# app" > README.md && mkdir src && echo "export {}" > src/index.ts'], {
    cwd: work,
  })
  await git(['add', '.'], work)
  await git(['commit', '-qm', 'first'], work)
  await git(['push', '-q', 'origin', 'HEAD:main'], work)
}

describe.skipIf(skipReason !== '')('repositories on a real trixie root (issue 22.4)', () => {
  let scratch: ScratchRoot | undefined
  let host: string | undefined
  let srv: GitHttpServer | undefined

  beforeAll(async () => {
    await run([process.execPath, path.join(REPO, 'scripts/build.mjs')], { cwd: REPO, timeoutMs: 300_000 })
    scratch = await scratchRoot({ include: LAB_INCLUDE, label: 'repos' })
    host = await mkdtemp('/var/tmp/vps-provision-repos-')
    await bareRepo(path.join(host, 'srv/app.git'), path.join(host, 'work-app'))
    await bareRepo(path.join(host, 'tools.git'), path.join(host, 'work-tools'))
    await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy', '-f', path.join(host, 'deploy')])
    srv = await serveGit(path.join(host, 'srv'), { 'app.git': TOKEN })
  }, 1_800_000)

  afterAll(async () => {
    await srv?.close()
    if (scratch) {
      const root = scratch.root
      await scratch.remove()
      expect(await mountsUnder(root)).toEqual([])
    }
    if (host) await rm(host, { recursive: true, force: true })
  })

  it('clones over HTTP (token) and SSH (deploy key) as the developer; re-run asks nothing; rollback guards local work', async () => {
    await reliabilityCase(
      {
        id: 'repos.http-ssh.clone-rerun-rollback',
        area: 'issue 22.4 repositories',
        case: 'a private repository over smart HTTP (token) and one over SSH (deploy key), cloned, re-run, fast-forwarded, rolled back',
        injection:
          'git http-backend on 127.0.0.1 (401 without the token, 503 on the first request); sshd in the root on a loopback port; a new file in one clone before rollback',
        expected:
          'exit 0 with 1 logged retry; files owned by dev; token in no clone file, journal, session or output; re-run: 0 actions, 0 HTTP requests, 0 SSH logins; update: pull after a push: 1 fast-forward as dev, then 0 actions and one ls-remote; rollback exit 3 naming /home/dev/app; --force: 0600 tarball of app, both clones gone',
        backend: 'chroot',
        file: FILE,
      },
      async (seen) => {
        await withChroot((scratch as ScratchRoot).root, (ch) => scenario(ch, seen), {
          defaultTimeoutMs: 15 * 60_000,
        })
      },
    )
  }, 1_800_000)

  async function scenario(ch: Chroot, seen: string[]) {
    const server = srv as GitHttpServer
    const dir = host as string
    // The SSH side: git and sshd in the root, a `git` account holding the bare repository.
    await ch.exec(['apt-get', 'update', '-q'], { timeoutMs: 10 * 60_000 })
    await ch.exec(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'git', 'openssh-server'], {
      timeoutMs: 15 * 60_000,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    })
    // git-shell and no PAM, as a git host has them: pam_motd's banner ("Linux …") on the channel
    // would break git's protocol. '*' (no password) rather than useradd's '!' (locked), which
    // sshd without PAM refuses even for a key.
    await ch.exec(['useradd', '--create-home', '--shell', '/usr/bin/git-shell', 'git'])
    await ch.exec(['usermod', '--password', '*', 'git'])
    await ch.copyIn(path.join(dir, 'tools.git'), '/srv/git/tools.git')
    await ch.exec(['chown', '-R', 'git:git', '/srv/git'])
    const pub = await readFile(path.join(dir, 'deploy.pub'), 'utf8')
    await ch.writeFile('/home/git/.ssh/authorized_keys', pub, { mode: 0o600 })
    await ch.exec(['chown', '-R', 'git:git', '/home/git/.ssh'])
    await ch.exec(['chmod', '0700', '/home/git/.ssh'])
    await ch.exec(['mkdir', '-p', '/run/sshd'])
    const port = await freePort()
    const sshLog = '/var/log/sshd-repos-test.log'
    await ch.exec([
      '/usr/sbin/sshd',
      '-p',
      String(port),
      '-o',
      'ListenAddress=127.0.0.1',
      '-o',
      'PasswordAuthentication=no',
      '-o',
      'UsePAM=no',
      '-E',
      sshLog,
    ])
    const logins = async () => ((await ch.readFile(sshLog)).match(/Accepted publickey for git/g) ?? []).length

    // The credentials: root's, 0600 and 0400.
    await ch.writeFile(TOKEN_FILE, `${TOKEN}\n`, { mode: 0o600 })
    await ch.copyIn(path.join(dir, 'deploy'), KEY_FILE, { mode: 0o400 })
    await ch.exec(['chmod', '0700', '/root/keys'])
    await ch.copyIn(path.join(REPO, 'dist/vps-provision.mjs'), TOOL, { mode: 0o755 })
    const httpUrl = `${server.url}/app.git`
    const sshUrl = `ssh://git@127.0.0.1:${port}/srv/git/tools.git`
    const repos = [
      { url: httpUrl, credentials: TOKEN_FILE },
      { url: sshUrl, credentials: KEY_FILE },
    ]
    await ch.writeFile(CONFIG, stringify({ users: [{ name: 'dev', repos }] }), { mode: 0o600 })
    const provision = () =>
      ch.exec(
        ['node', TOOL, 'run', '--yes', '--plain', '--only', 'user-creation,workspaces', '--skip-probe'],
        {
          allowFailure: true,
          timeoutMs: 15 * 60_000,
        },
      )
    const sessionOf = (r: ChrootExecResult) => /session (\d{8}-\d{6}-[a-z0-9]+)/.exec(r.stdout)?.[1] as string

    // 1. The run: the first HTTP request answers 503 and is retried.
    server.failNext(1)
    const first = await provision()
    expect(first.exitCode, tail(first)).toBe(0)
    const id = sessionOf(first)
    const retries = output(first)
      .split('\n')
      .filter((l) =>
        l.includes(`clone ${httpUrl} failed with The requested URL returned error: 503 (try 1 of 4)`),
      )
    seen.push(`run exit 0, ${retries.length} retry logged`)
    expect(retries, tail(first)).toHaveLength(1)
    const owners = await ch.exec([
      'stat',
      '-c',
      '%U %a %n',
      '/home/dev/app/src/index.ts',
      '/home/dev/tools/README.md',
      '/home/dev/app',
      '/home/dev/tools',
    ])
    seen.push(`owners: ${owners.stdout.trim().replaceAll('\n', ', ')}`)
    for (const line of owners.stdout.trim().split('\n')) expect(line).toMatch(/^dev /)
    expect(server.requests.some((q) => q.status === 401)).toBe(false)
    expect(await logins()).toBe(1)

    // 2. The secrets are nowhere.
    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64')
    // Line 1 of every unencrypted ed25519 key is the same ("openssh-key-v1", the cipher, the
    // type): the host's own keys in /etc have it too. Line 3 is this key's private part.
    const keyLine = (await readFile(path.join(dir, 'deploy'), 'utf8')).split('\n')[3] as string
    for (const secret of [TOKEN, basic, keyLine]) {
      const found = await ch.exec(
        [
          'grep',
          '-rlF',
          '--',
          secret,
          '/home/dev',
          '/var/log/vps-provision',
          '/var/vps-provision',
          CONFIG,
          '/run',
        ],
        { allowFailure: true },
      )
      expect(found.stdout, `${secret.slice(0, 6)}… found in files`).toBe('')
      expect(output(first)).not.toContain(secret)
    }
    const keyDirs = await ch.exec(['find', '/run/vps-provision-git', '-mindepth', '1'], {
      allowFailure: true,
    })
    expect(keyDirs.stdout).toBe('')
    seen.push(
      'token, its Basic form and the key: in no clone, journal, session, /run file or output; key copy removed',
    )
    // Without the token the server refuses: the clone above really used it.
    const anonymous = await fetch(`${httpUrl}/info/refs?service=git-upload-pack`)
    expect(anonymous.status).toBe(401)

    // 3. The re-run: no change, no request to either server.
    const requests = server.requests.length
    const again = await provision()
    expect(again.exitCode, tail(again)).toBe(0)
    const session = JSON.parse(
      await ch.readFile(`/var/vps-provision/sessions/session-${sessionOf(again)}.json`),
    )
    const actions = session.phases.reduce((n: number, p: { actions: unknown[] }) => n + p.actions.length, 0)
    seen.push(
      `re-run: ${actions} actions, ${server.requests.length - requests} HTTP requests, ${(await logins()) - 1} SSH logins`,
    )
    expect(actions).toBe(0)
    expect(server.requests.length).toBe(requests)
    expect(await logins()).toBe(1)

    // 4. update: pull: origin moved, so the next run fast-forwards (as dev); the one after asks
    // origin once (ls-remote) and changes nothing. Its session is rolled back first (the pull is
    // irreversible, so that changes nothing), or it would hold the first one's rollback.
    const work = path.join(dir, 'work-app')
    await sh('sh', ['-c', 'echo "# app v2" > README.md'], { cwd: work })
    await git(['commit', '-qam', 'second'], work)
    await git(['push', '-q', 'origin', 'HEAD:main'], work)
    const pulling = [{ ...repos[0], update: 'pull' }, repos[1]]
    await ch.writeFile(CONFIG, stringify({ users: [{ name: 'dev', repos: pulling }] }), { mode: 0o600 })
    const pulled = await provision()
    expect(pulled.exitCode, tail(pulled)).toBe(0)
    const pulledSession = JSON.parse(
      await ch.readFile(`/var/vps-provision/sessions/session-${sessionOf(pulled)}.json`),
    )
    const pullActions = pulledSession.phases.flatMap((p: { actions: { target: string }[] }) => p.actions)
    expect(pullActions.map((a: { target: string }) => a.target)).toEqual(['/home/dev/app'])
    const readme = await ch.exec(['stat', '-c', '%U', '/home/dev/app/README.md'])
    expect(await ch.readFile('/home/dev/app/README.md')).toBe('# app v2\n')
    expect(readme.stdout.trim()).toBe('dev')
    const beforeQuiet = server.requests.length
    const quiet = await provision()
    expect(quiet.exitCode, tail(quiet)).toBe(0)
    const quietSession = JSON.parse(
      await ch.readFile(`/var/vps-provision/sessions/session-${sessionOf(quiet)}.json`),
    )
    const quietActions = quietSession.phases.reduce(
      (n: number, p: { actions: unknown[] }) => n + p.actions.length,
      0,
    )
    const asked = server.requests.slice(beforeQuiet).map((q) => `${q.method} ${q.path}?${q.query}`)
    seen.push(
      `update: pull: 1 fast-forward (README now v2, owned by dev); next run ${quietActions} actions, requests: ${asked.join(', ')}`,
    )
    expect(quietActions).toBe(0)
    expect(asked.some((q) => q.includes('git-upload-pack'))).toBe(true)
    expect(server.requests.slice(beforeQuiet).filter((q) => q.method === 'POST').length).toBeLessThanOrEqual(
      1,
    )
    const undoPull = await ch.exec(['node', TOOL, 'rollback', sessionOf(pulled), '--yes', '--plain'], {
      allowFailure: true,
    })
    expect(undoPull.exitCode, tail(undoPull)).toBe(0)
    expect(await ch.readFile('/home/dev/app/README.md')).toBe('# app v2\n')

    // 5. Local work refuses the rollback, naming the clone; --force archives it first.
    await ch.exec(['runuser', '-u', 'dev', '--', 'touch', '/home/dev/app/notes.txt'])
    const refused = await ch.exec(['node', TOOL, 'rollback', id, '--yes', '--plain'], { allowFailure: true })
    const why =
      output(refused)
        .split('\n')
        .find((l) => l.includes('/home/dev/app (')) ?? ''
    seen.push(`rollback exit ${refused.exitCode}: "${why.trim()}"`)
    expect(refused.exitCode, tail(refused)).toBe(3)
    expect(why).toContain('/home/dev/app (1 changed or untracked file(s))')
    expect(output(refused)).not.toContain('/home/dev/tools (')
    expect(await ch.exists('/home/dev/app/notes.txt')).toBe(true)

    const forced = await ch.exec(['node', TOOL, 'rollback', id, '--yes', '--plain', '--force'], {
      allowFailure: true,
    })
    expect(forced.exitCode, tail(forced)).toBe(0)
    expect(await ch.exists('/home/dev/app')).toBe(false)
    expect(await ch.exists('/home/dev/tools')).toBe(false)
    const kept = await ch.exec([
      'find',
      '/var/backups/vps-provision/clones',
      '-type',
      'f',
      '-printf',
      '%m %u %p\n',
    ])
    seen.push(`--force: exit 0, both clones removed, kept: ${kept.stdout.trim()}`)
    const lines = kept.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^600 root \/var\/backups\/vps-provision\/clones\/\S+_home_dev_app\.tar\.gz$/)
    const listing = await ch.exec(['tar', '-tzf', (lines[0] as string).split(' ')[2] as string])
    expect(listing.stdout).toContain('app/notes.txt')
  }
})
