// Issue 22 item 4 on the fake Debian 13: each developer's repositories cloned into their home as
// them (never as root), private ones through a token or a deploy key that reaches no argv, log,
// journal, state file or .git/config; a re-run asks nothing of the network; network failures are
// retried and logged, authentication failures are not; rollback removes a clone only when all of
// it is on the remote, and otherwise refuses naming the directory, unless --force, which keeps a
// 0600 tarball first. The fake's git (test/support/fake/git.ts) refuses root in a developer's
// repository as real git does, so a query run as root would fail these tests.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_PHASES } from '../../phases/index.js'
import { plannedRepos } from '../../phases/workspaces/repos.js'
import { type Config, ConfigSchema } from '../../src/config/schema.js'
import { statePaths } from '../../src/engine/paths.js'
import { ARCHIVE_DIR } from '../../src/engine/undo-clone.js'
import { defaultCloneDirectory } from '../../src/facts/git.js'
import { EXIT } from '../../src/model/errors.js'
import type { RunEvent } from '../../src/model/events.js'
import { KEY_DIR_ROOT } from '../../src/steps/git-credentials.js'
import { engine } from '../helpers/engine.js'
import { commitLocally, type FakeRemote, fakeGit, pushToRemote } from '../support/fake/git.js'
import { FakeSystem } from '../support/fake/index.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

const URL = 'https://git.example.test/team/app.git'
const SSH_URL = 'git@git.example.test:team/tools.git'
const TOKEN = 'ghp_s3cretTokenThatMustNeverLeak0123456789'
const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n'
const CLONE = '/home/dev/app'

function world(sys: FakeSystem) {
  const root = mkdtempSync(join(tmpdir(), 'vps-repos-'))
  roots.push(root)
  const events: RunEvent[] = []
  const deps = {
    sys,
    paths: statePaths(root),
    emit: (e: RunEvent) => events.push(e),
    signal: new AbortController().signal,
    phases: ALL_PHASES,
    interactive: false,
  }
  return { deps, events, root }
}

const config = (repos: object[]): Config =>
  ConfigSchema.parse({ only: ['user-creation', 'workspaces'], users: [{ name: 'dev', repos }] })

function remote(sys: FakeSystem, url: string, over: Partial<FakeRemote> = {}): FakeRemote {
  const r: FakeRemote = { defaultBranch: 'main', branches: new Map(), ...over }
  pushToRemote(r, 'main', { 'README.md': '# app\n', 'src/index.ts': 'export {}\n' })
  fakeGit(sys).remotes.set(url, r)
  return r
}

const warnings = (events: RunEvent[]) =>
  events.flatMap((e) => (e.type === 'message' && e.level === 'warn' ? [e.text] : []))
const actions = (s: { phases: { actions: number }[] }) => s.phases.reduce((n, p) => n + p.actions, 0)

/** Every byte the tool wrote about the run: journal, sessions, checkpoints, events. */
function everythingWritten(root: string, events: RunEvent[]): string {
  const out: string[] = [JSON.stringify(events)]
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(readFileSync(p, 'latin1'))
    }
  }
  walk(root)
  return out.join('\n')
}

describe('repositories (users[].repos)', () => {
  it('clones as the developer, re-runs with no action and no request, rolls back to the start', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL)
    const initial = sys.snapshot()
    const { deps } = world(sys)
    const first = await engine.run(deps, config([{ url: URL }]), { force: false })
    expect(first.exitCode, first.lines.join('\n')).toBe(0)
    const dev = sys.accounts.user('dev')
    const st = sys.fs.stat(`${CLONE}/src/index.ts`)
    expect(st?.uid).toBe(dev?.uid)
    expect(sys.fs.stat(CLONE)?.uid).toBe(dev?.uid)
    expect(sys.readText(`${CLONE}/.git/config`)).toContain(`url = ${URL}`)
    // Every git command ran through runuser as dev.
    const gits = sys.execLog.filter(
      (e) => e.argv[0] === 'git' || (e.argv[0] === 'runuser' && e.argv[4] === 'git'),
    )
    expect(gits.length).toBeGreaterThan(3)
    for (const e of gits) expect(e.argv.slice(0, 5)).toEqual(['runuser', '-u', 'dev', '--', 'git'])
    const requests = fakeGit(sys).requests.length
    expect(requests).toBe(1)

    const converged = sys.snapshot()
    const second = await engine.run(deps, config([{ url: URL }]), { force: false })
    expect(second.exitCode).toBe(0)
    expect(actions(second)).toBe(0)
    expect(fakeGit(sys).requests.length).toBe(requests)
    expect(sys.snapshot()).toEqual(converged)

    const back = await engine.rollback(deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode, back.lines.join('\n')).toBe(0)
    expect(sys.fs.stat(CLONE)).toBeNull()
    expect(sys.snapshot()).toEqual(initial)
  })

  it('a token from a 0600 file reaches git only in its environment: no argv, log, journal, state or .git/config', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL, { token: TOKEN })
    sys.writeText('/root/repo-token', `${TOKEN}\n`, { mode: 0o600, uid: 0, gid: 0 })
    const { deps, events, root } = world(sys)
    const cfg = config([{ url: URL, credentials: '/root/repo-token' }])
    const plan = await engine.plan(deps, cfg)
    const step = plan.phases.flatMap((p) => p.steps).find((s) => s.step === 'workspaces.repos.dev.app')
    expect(step?.title).toBe(`Clone ${URL} into ~dev/app`)
    expect(JSON.stringify(plan)).not.toContain(TOKEN)
    const run = await engine.run(deps, cfg, { force: false })
    expect(run.exitCode, run.lines.join('\n')).toBe(0)
    expect(fakeGit(sys).requests.map((r) => r.outcome)).toEqual(['ok'])
    const b64 = Buffer.from(`x-access-token:${TOKEN}`).toString('base64')
    for (const secret of [TOKEN, b64]) {
      expect(JSON.stringify(sys.execLog)).not.toContain(secret)
      expect(everythingWritten(root, events)).not.toContain(secret)
      for (const path of sys.fs.below(CLONE))
        if (sys.fs.lget(path)?.kind === 'file') expect(sys.readText(path) ?? '').not.toContain(secret)
    }
  })

  it('a deploy key is a 0600 copy owned by the developer for the clone only, then gone', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, SSH_URL, { key: KEY })
    sys.writeText('/root/deploy-key', KEY, { mode: 0o400, uid: 0, gid: 0 })
    const { deps, events, root } = world(sys)
    const run = await engine.run(deps, config([{ url: SSH_URL, credentials: '/root/deploy-key' }]), {
      force: false,
    })
    expect(run.exitCode, run.lines.join('\n')).toBe(0)
    expect(sys.readText('/home/dev/tools/.git/config')).toContain(`url = ${SSH_URL}`)
    expect(sys.fs.below(KEY_DIR_ROOT)).toEqual([])
    const keyLine = KEY.split('\n')[1] as string
    expect(JSON.stringify(sys.execLog)).not.toContain(keyLine)
    expect(everythingWritten(root, events)).not.toContain(keyLine)
  })

  it('refuses, before any change, a credentials file others can read', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL, { token: TOKEN })
    sys.writeText('/root/repo-token', TOKEN, { mode: 0o644, uid: 0, gid: 0 })
    const initial = sys.snapshot()
    const { deps } = world(sys)
    const run = await engine.run(deps, config([{ url: URL, credentials: '/root/repo-token' }]), {
      force: false,
    })
    expect(run.exitCode).toBe(EXIT.preflight)
    expect(run.lines.join('\n')).toContain('/root/repo-token has mode 0644: others can read it')
    expect(sys.snapshot()).toEqual(initial)
    expect(fakeGit(sys).requests).toEqual([])
  })

  it('a wrong token fails that repository alone, once, with a hint; nothing is retried', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL, { token: TOKEN })
    sys.writeText('/root/repo-token', 'wrong-token', { mode: 0o600, uid: 0, gid: 0 })
    const { deps, events } = world(sys)
    const run = await engine.run(deps, config([{ url: URL, credentials: '/root/repo-token' }]), {
      force: false,
    })
    expect(run.exitCode).toBe(EXIT.partial)
    const text = run.lines.join('\n')
    expect(text).toContain('Failed: repo dev/app')
    expect(text).toContain('Authentication failed')
    expect(fakeGit(sys).requests).toHaveLength(1)
    expect(warnings(events).filter((w) => w.includes('retrying'))).toEqual([])
    expect(sys.fs.stat(CLONE)).toBeNull()
  })

  it('a network failure is retried through the retry policy and logged', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL, { failNext: 1 })
    const { deps, events } = world(sys)
    const run = await engine.run(deps, config([{ url: URL }]), { force: false })
    expect(run.exitCode, run.lines.join('\n')).toBe(0)
    expect(fakeGit(sys).requests.map((r) => r.outcome)).toEqual(['refused', 'ok'])
    const retried = warnings(events).filter((w) => w.includes(`clone ${URL} failed with`))
    expect(retried).toHaveLength(1)
    expect(retried[0]).toMatch(/Connection refused \(try 1 of 4\); retrying in \d+ ms/)
    const status = await engine.status(deps.paths, run.sessionId)
    expect(JSON.stringify(status)).toContain(`clone ${URL} failed with Connection refused`)
  }, 20_000)

  it('rollback refuses a clone with local changes, naming it; --force keeps a 0600 tarball, then removes it', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL)
    const { deps } = world(sys)
    const run = await engine.run(deps, config([{ url: URL }]), { force: false })
    expect(run.exitCode).toBe(0)
    const dev = sys.accounts.user('dev')
    sys.writeText(`${CLONE}/notes.txt`, 'my work\n', { mode: 0o644, uid: dev?.uid ?? 0, gid: dev?.gid ?? 0 })
    const refused = await engine
      .rollback(deps, { session: run.sessionId, to: null, force: false })
      .catch((e) => e)
    const message = refused instanceof Error ? refused.message : JSON.stringify(refused)
    expect(message).toContain(`${CLONE} (1 changed or untracked file(s))`)
    expect(sys.readText(`${CLONE}/notes.txt`)).toBe('my work\n')
    expect(sys.accounts.user('dev')).toBeDefined()

    const forced = await engine.rollback(deps, { session: run.sessionId, to: null, force: true })
    expect(forced.exitCode, forced.lines.join('\n')).toBe(0)
    expect(sys.fs.stat(CLONE)).toBeNull()
    const kept = sys.fs.below(ARCHIVE_DIR)
    expect(kept).toHaveLength(1)
    const tarball = kept[0] as string
    expect(tarball).toMatch(/_home_dev_app\.tar\.gz$/)
    expect(sys.fs.stat(tarball)).toMatchObject({ mode: 0o600, uid: 0 })
    expect(sys.fs.stat(ARCHIVE_DIR)).toMatchObject({ mode: 0o700, uid: 0 })
    expect(JSON.parse(sys.readText(tarball) ?? '{}').files['notes.txt']).toBe('my work\n')
  })

  it('rollback refuses a clone with commits on no remote branch', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL)
    const { deps } = world(sys)
    const run = await engine.run(deps, config([{ url: URL }]), { force: false })
    commitLocally(sys, CLONE)
    const refused = await engine
      .rollback(deps, { session: run.sessionId, to: null, force: false })
      .catch((e) => e)
    expect(String(refused?.message)).toContain(`${CLONE} (1 commit(s) on no remote branch)`)
    expect(sys.fs.stat(CLONE)?.kind).toBe('dir')
  })

  it('update: pull fast-forwards a clean clone when origin moved, and is done when it did not', async () => {
    const sys = FakeSystem.debian13()
    const r = remote(sys, URL)
    const { deps } = world(sys)
    const cfg = config([{ url: URL, update: 'pull' }])
    expect((await engine.run(deps, cfg, { force: false })).exitCode).toBe(0)
    const before = fakeGit(sys).requests.length
    const again = await engine.run(deps, cfg, { force: false })
    expect(actions(again)).toBe(0)
    // One read-only question per run: where origin's branch is. No fetch, no pull.
    expect(
      fakeGit(sys)
        .requests.slice(before)
        .map((q) => q.op),
    ).toEqual(['ls-remote'])
    pushToRemote(r, 'main', { 'README.md': '# app v2\n' })
    const pulled = await engine.run(deps, cfg, { force: false })
    expect(pulled.exitCode, pulled.lines.join('\n')).toBe(0)
    expect(actions(pulled)).toBe(1)
    expect(sys.readText(`${CLONE}/README.md`)).toBe('# app v2\n')
    expect(actions(await engine.run(deps, cfg, { force: false }))).toBe(0)
  })

  it('leaves a directory that is not a clone of that URL alone, and says so', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL)
    const { deps } = world(sys)
    const first = await engine.run(deps, config([]), { force: false })
    expect(first.exitCode).toBe(0)
    const dev = sys.accounts.user('dev')
    const own = { mode: 0o644, uid: dev?.uid ?? 0, gid: dev?.gid ?? 0 }
    sys.fs.mkdirp(CLONE, { mode: 0o755, uid: own.uid, gid: own.gid })
    sys.writeText(`${CLONE}/mine.txt`, 'mine\n', own)
    const run = await engine.run(deps, config([{ url: URL }]), { force: false })
    expect(run.exitCode).toBe(EXIT.partial)
    expect(run.lines.join('\n')).toContain(`${CLONE} is a dir that is not a git clone, not of ${URL}`)
    expect(sys.readText(`${CLONE}/mine.txt`)).toBe('mine\n')
    expect(fakeGit(sys).requests).toEqual([])
  })

  it('refuses a home path that is a symlink out of the home', async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL)
    const { deps } = world(sys)
    expect((await engine.run(deps, config([]), { force: false })).exitCode).toBe(0)
    sys.fs.symlink('/home/dev/code', '/etc')
    const run = await engine.run(deps, config([{ url: URL, directory: 'code/app' }]), { force: false })
    expect(run.exitCode).toBe(EXIT.partial)
    expect(run.lines.join('\n')).toContain('Unable to use /home/dev/code for a clone: it is a symlink')
    expect(fakeGit(sys).requests).toEqual([])
  })

  it("user remove takes a developer's clones with them, under the same guard, and leaves the others'", async () => {
    const sys = FakeSystem.debian13()
    remote(sys, URL)
    const { deps } = world(sys)
    const cfg = ConfigSchema.parse({
      only: ['user-creation', 'workspaces'],
      users: [
        { name: 'alice', repos: [{ url: URL }] },
        { name: 'bob', repos: [{ url: URL }] },
      ],
    })
    const run = await engine.run(deps, cfg, { force: false })
    expect(run.exitCode, run.lines.join('\n')).toBe(0)
    const bob = sys.accounts.user('bob')
    sys.writeText('/home/bob/app/wip.txt', 'wip\n', { mode: 0o644, uid: bob?.uid ?? 0, gid: bob?.gid ?? 0 })
    const refused = await engine
      .removeUser(deps, { name: 'bob', keepHome: false, force: false })
      .catch((e) => e)
    const text = refused instanceof Error ? refused.message : (refused.lines ?? []).join('\n')
    expect(text).toContain('/home/bob/app (1 changed or untracked file(s))')
    expect(text).not.toContain('/home/alice/app')
    expect(sys.readText('/home/bob/app/wip.txt')).toBe('wip\n')
    const removed = await engine.removeUser(deps, { name: 'bob', keepHome: false, force: true })
    expect(removed.exitCode, removed.lines.join('\n')).toBe(0)
    expect(sys.accounts.user('bob')).toBeUndefined()
    expect(sys.fs.below(ARCHIVE_DIR).filter((p) => p.endsWith('_home_bob_app.tar.gz'))).toHaveLength(1)
    expect(sys.readText('/home/alice/app/.git/config')).toContain(`url = ${URL}`)
  })

  it('takes ssh://user@host:port URLs, and refuses any password in a URL', () => {
    const url = (u: string) =>
      ConfigSchema.safeParse({ users: [{ name: 'dev', repos: [{ url: u }] }] }).success
    expect(url('ssh://git@127.0.0.1:2222/srv/git/tools.git')).toBe(true)
    expect(url('ssh://host.test/srv/x.git')).toBe(true)
    expect(url('git@host.test:team/x.git')).toBe(true)
    expect(url('ssh://git:secret@host.test/x.git')).toBe(false)
    expect(url('https://user:secret@host.test/x.git')).toBe(false)
    expect(url('https://user@host.test/x.git')).toBe(false)
  })

  it('names directories as git clone does, and refuses the same directory twice', () => {
    expect(defaultCloneDirectory('https://h.test/a/b/app.git')).toBe('app')
    expect(defaultCloneDirectory('git@h.test:team/tools.git')).toBe('tools')
    expect(defaultCloneDirectory('ssh://git@h.test:2222/x/y')).toBe('y')
    expect(() => plannedRepos(config([{ url: URL }, { url: 'https://other.test/app' }]))).toThrow(
      /two of them go to ~\/app/,
    )
  })
})
