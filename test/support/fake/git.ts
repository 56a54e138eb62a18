// git as the repository steps run it, against remotes a test declares (fakeGit(sys).remotes). A
// clone is a directory with the remote's files and a `.git/` holding `config` (origin's URL, as
// real git writes it) and `fake.json` (HEAD, its upstream, commits on no remote, stashes). Like
// the real git: the token must come as the Authorization header of GIT_CONFIG_* environment
// config scoped to the URL, the deploy key through GIT_SSH_COMMAND's `-i` (a file the user can
// read), root is refused in a repository another user owns ("dubious ownership"), and the files
// of a clone belong to the user who ran it. Every request that reaches a remote is counted.
import { posix } from 'node:path'
import type { FakeSystem } from './index.js'
import { type Ctx, type FakeState, fail, type Handler, ok, Unsupported } from './types.js'

export interface FakeRemote {
  defaultBranch: string
  /** branch -> commits, oldest first; each commit is the whole tree. */
  branches: Map<string, { sha: string; files: Record<string, string> }[]>
  /** https: the token the server wants (any user name); null: public. */
  token?: string | null
  /** ssh: the private key the server wants; null: public. */
  key?: string | null
  /** The next N requests fail like a network that is not there yet. */
  failNext?: number
}

export interface FakeGitWorld {
  remotes: Map<string, FakeRemote>
  /** Each request that reached a remote: what and for whom, and its answer. */
  requests: { url: string; op: 'clone' | 'ls-remote' | 'pull'; outcome: string }[]
}

const worlds = new WeakMap<FakeState, FakeGitWorld>()

export function fakeGit(sys: FakeSystem): FakeGitWorld {
  return worldOf(sys.state)
}

function worldOf(state: FakeState): FakeGitWorld {
  let w = worlds.get(state)
  if (!w) {
    w = { remotes: new Map(), requests: [] }
    worlds.set(state, w)
  }
  return w
}

interface CloneMeta {
  branch: string
  head: string
  upstream: string | null
  /** Every commit HEAD descends from, oldest first. */
  history: string[]
  tree: Record<string, string>
  localCommits: string[]
  stashes: number
}

const meta = (ctx: Ctx, top: string): CloneMeta => JSON.parse(ctx.fs.text(`${top}/.git/fake.json`) ?? '{}')

function saveMeta(ctx: Ctx, top: string, m: CloneMeta, uid: number, gid: number) {
  ctx.fs.write(`${top}/.git/fake.json`, JSON.stringify(m), { mode: 0o644, uid, gid })
}

/** A commit made in the clone (the developer's own work), not pushed. */
export function commitLocally(sys: FakeSystem, top: string): void {
  const m = JSON.parse(sys.readText(`${top}/.git/fake.json`) ?? '{}') as CloneMeta
  const sha = `local${m.localCommits.length}`.padEnd(40, '0')
  m.localCommits.push(sha)
  m.history.push(sha)
  m.head = sha
  const st = sys.fs.stat(top)
  sys.fs.write(`${top}/.git/fake.json`, JSON.stringify(m), {
    mode: 0o644,
    uid: st?.uid ?? 0,
    gid: st?.gid ?? 0,
  })
}

/** A new commit on the remote's branch, with these files changed. */
export function pushToRemote(remote: FakeRemote, branch: string, files: Record<string, string>): string {
  const list = remote.branches.get(branch) ?? []
  const last = list.at(-1)
  const sha = `${branch}${list.length}`
    .replace(/[^0-9a-f]/g, 'a')
    .padEnd(40, 'b')
    .slice(0, 40)
  list.push({ sha, files: { ...(last?.files ?? {}), ...files } })
  remote.branches.set(branch, list)
  return sha
}

function authorized(ctx: Ctx, url: string, remote: FakeRemote): boolean {
  if (/^https?:\/\//.test(url)) {
    if (!remote.token) return true
    const origin = `${/^(https?:\/\/[^/]+)/.exec(url)?.[1]}/`
    const count = Number(ctx.env.GIT_CONFIG_COUNT ?? '0')
    for (let i = 0; i < count; i++) {
      if (ctx.env[`GIT_CONFIG_KEY_${i}`]?.toLowerCase() !== `http.${origin}.extraheader`) continue
      const m = /^Authorization: Basic (.+)$/.exec(ctx.env[`GIT_CONFIG_VALUE_${i}`] ?? '')
      const pass = Buffer.from(m?.[1] ?? '', 'base64')
        .toString('utf8')
        .split(':')[1]
      if (pass === remote.token) return true
    }
    return false
  }
  if (!remote.key) return true
  const keyFile = /-i (\S+)/.exec(ctx.env.GIT_SSH_COMMAND ?? '')?.[1]
  if (!keyFile) return false
  const node = ctx.fs.get(keyFile)
  const user = ctx.accounts.user(ctx.user)
  if (!node || !user || (node.uid !== user.uid && ctx.user !== 'root')) return false
  return node.data.toString('utf8') === remote.key
}

/** What the remote answers before any data: null when the request may go on. */
function reach(
  ctx: Ctx,
  url: string,
  op: FakeGitWorld['requests'][number]['op'],
): ReturnType<Handler> | null {
  const world = worldOf(ctx.state)
  const remote = world.remotes.get(url)
  const answer = (outcome: string, out: ReturnType<Handler> | null) => {
    world.requests.push({ url, op, outcome })
    return out
  }
  if (remote?.failNext) {
    remote.failNext -= 1
    return answer(
      'refused',
      fail(
        128,
        `fatal: unable to access '${url}': Failed to connect to host port 443 after 0 ms: Connection refused\n`,
      ),
    )
  }
  if (!remote)
    return answer('404', fail(128, `remote: Repository not found.\nfatal: repository '${url}' not found\n`))
  if (!authorized(ctx, url, remote)) {
    const msg = /^https?:/.test(url)
      ? `remote: Invalid credentials\nfatal: Authentication failed for '${url}'\n`
      : 'git@host: Permission denied (publickey).\nfatal: Could not read from remote repository.\n'
    return answer('denied', fail(128, msg))
  }
  return answer('ok', null)
}

function topOf(ctx: Ctx, dir: string): string | null {
  for (let d = dir; ; d = posix.dirname(d)) {
    if (ctx.fs.get(`${d}/.git/fake.json`)) return d
    if (d === '/') return null
  }
}

function clone(ctx: Ctx, args: string[]): ReturnType<Handler> {
  const rest = args.filter((a) => a !== '--quiet')
  let branch: string | null = null
  if (rest[0] === '--branch') {
    branch = rest[1] ?? null
    rest.splice(0, 2)
  }
  if (rest[0] !== '--' || rest.length !== 3) throw new Unsupported(`git clone ${args.join(' ')}`)
  const [, url, dest] = rest as [string, string, string]
  if (ctx.fs.lget(dest) && ctx.fs.list(dest).length > 0)
    return fail(128, `fatal: destination path '${dest}' already exists and is not an empty directory.\n`)
  const refused = reach(ctx, url, 'clone')
  if (refused) return refused
  const remote = worldOf(ctx.state).remotes.get(url) as FakeRemote
  const b = branch ?? remote.defaultBranch
  const commits = remote.branches.get(b)
  if (!commits?.length) return fail(128, `fatal: Remote branch ${b} not found in upstream origin\n`)
  const user = ctx.accounts.user(ctx.user)
  const [uid, gid] = [user?.uid ?? 0, user?.gid ?? 0]
  const parent = posix.dirname(dest)
  const parentNode = ctx.fs.get(parent)
  if (parentNode && parentNode.uid !== uid && ctx.user !== 'root')
    return fail(128, `fatal: could not create work tree dir '${dest}': Permission denied\n`)
  ctx.fs.mkdirp(`${dest}/.git`, { mode: 0o755, uid, gid })
  const head = commits.at(-1) as { sha: string; files: Record<string, string> }
  for (const [rel, content] of Object.entries(head.files)) {
    ctx.fs.mkdirp(posix.dirname(`${dest}/${rel}`), { mode: 0o755, uid, gid })
    ctx.fs.write(`${dest}/${rel}`, content, { mode: 0o644, uid, gid })
  }
  const config = `[core]\n\trepositoryformatversion = 0\n[remote "origin"]\n\turl = ${url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch "${b}"]\n\tremote = origin\n\tmerge = refs/heads/${b}\n`
  ctx.fs.write(`${dest}/.git/config`, config, { mode: 0o644, uid, gid })
  const history = commits.map((c) => c.sha)
  saveMeta(
    ctx,
    dest,
    {
      branch: b,
      head: head.sha,
      upstream: `origin/${b}`,
      history,
      tree: head.files,
      localCommits: [],
      stashes: 0,
    },
    uid,
    gid,
  )
  return ok()
}

function status(ctx: Ctx, top: string): string {
  const m = meta(ctx, top)
  const lines: string[] = []
  const seen = new Set<string>()
  for (const path of ctx.fs.below(top)) {
    const rel = path.slice(top.length + 1)
    if (rel === '.git' || rel.startsWith('.git/') || ctx.fs.lget(path)?.kind !== 'file') continue
    seen.add(rel)
    if (!(rel in m.tree)) lines.push(`?? ${rel}`)
    else if (ctx.fs.text(path) !== m.tree[rel]) lines.push(` M ${rel}`)
  }
  for (const rel of Object.keys(m.tree)) if (!seen.has(rel)) lines.push(` D ${rel}`)
  return lines.map((l) => `${l}\n`).join('')
}

function pull(ctx: Ctx, top: string): ReturnType<Handler> {
  const m = meta(ctx, top)
  const url = /url = (\S+)/.exec(ctx.fs.text(`${top}/.git/config`) ?? '')?.[1] ?? ''
  const refused = reach(ctx, url, 'pull')
  if (refused) return refused
  const commits = worldOf(ctx.state).remotes.get(url)?.branches.get(m.branch) ?? []
  const tip = commits.at(-1)
  if (!tip || m.history.includes(tip.sha)) return ok()
  if (m.localCommits.length > 0) return fail(128, 'fatal: Not possible to fast-forward, aborting.\n')
  const st = ctx.fs.stat(top)
  const [uid, gid] = [st?.uid ?? 0, st?.gid ?? 0]
  for (const [rel, content] of Object.entries(tip.files)) {
    ctx.fs.mkdirp(posix.dirname(`${top}/${rel}`), { mode: 0o755, uid, gid })
    ctx.fs.write(`${top}/${rel}`, content, { mode: 0o644, uid, gid })
  }
  saveMeta(ctx, top, { ...m, head: tip.sha, history: commits.map((c) => c.sha), tree: tip.files }, uid, gid)
  return ok()
}

/** git -C DIR <command>: the queries and updates the repository steps and their undo run. */
function inRepo(ctx: Ctx, dir: string, args: string[]): ReturnType<Handler> {
  const top = topOf(ctx, dir)
  if (!top) return fail(128, 'fatal: not a git repository (or any of the parent directories): .git\n')
  const owner = ctx.fs.stat(top)?.uid
  if (ctx.user === 'root' && owner !== 0)
    return fail(128, `fatal: detected dubious ownership in repository at '${top}'\n`)
  const m = meta(ctx, top)
  const cmd = args.join(' ')
  if (cmd === 'rev-parse --show-toplevel') return ok(`${top}\n`)
  if (cmd === 'config --get remote.origin.url') {
    const url = /url = (\S+)/.exec(ctx.fs.text(`${top}/.git/config`) ?? '')?.[1]
    return url ? ok(`${url}\n`) : fail(1, '')
  }
  if (cmd === 'rev-parse --verify --quiet HEAD') return ok(`${m.head}\n`)
  if (cmd === 'rev-parse --abbrev-ref --symbolic-full-name @{upstream}')
    return m.upstream ? ok(`${m.upstream}\n`) : fail(128, 'fatal: no upstream configured for branch\n')
  if (cmd === 'status --porcelain --untracked-files=all') return ok(status(ctx, top))
  if (cmd === 'log --branches --not --remotes --format=%H')
    return ok(m.localCommits.map((c) => `${c}\n`).join(''))
  if (cmd === 'stash list')
    return ok(Array.from({ length: m.stashes }, (_, i) => `stash@{${i}}: WIP\n`).join(''))
  if (args[0] === 'merge-base' && args[1] === '--is-ancestor' && args[3] === 'HEAD')
    return m.history.includes(args[2] ?? '') ? ok() : fail(1, '')
  if (args[0] === 'ls-remote' && args[1] === '--' && args[2] === 'origin') {
    const url = /url = (\S+)/.exec(ctx.fs.text(`${top}/.git/config`) ?? '')?.[1] ?? ''
    const refused = reach(ctx, url, 'ls-remote')
    if (refused) return refused
    const branch = (args[3] ?? '').replace(/^refs\/heads\//, '')
    const tip = worldOf(ctx.state).remotes.get(url)?.branches.get(branch)?.at(-1)
    return ok(tip ? `${tip.sha}\trefs/heads/${branch}\n` : '')
  }
  if (cmd === 'pull --ff-only --quiet') return pull(ctx, top)
  throw new Unsupported(`git -C ${dir} ${cmd}`)
}

export const git: Handler = (ctx, args) => {
  if (args[0] === 'clone') return clone(ctx, args.slice(1))
  if (args[0] === '-C' && args[1]) return inRepo(ctx, args[1], args.slice(2))
  throw new Unsupported(`git ${args.join(' ')}`)
}
