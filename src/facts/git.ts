// What a developer's clone looks like, asked through git run AS THAT DEVELOPER (runuser), never as
// root: a repository's own config can run programs (core.fsmonitor, core.pager), so root must
// not run git in a tree someone else can write, and git ≥ 2.35.2 refuses to anyway ("dubious
// ownership"). Every query here is read-only: GIT_OPTIONAL_LOCKS=0 keeps `git status` from
// refreshing the index, and nothing here touches the network.
import type { ExecOptions, System } from '../system/port.js'

/** No prompt can hang a run: stdin is closed, and git must not ask a terminal for a password. */
export const GIT_ENV: Readonly<Record<string, string>> = Object.freeze({
  GIT_TERMINAL_PROMPT: '0',
  GIT_OPTIONAL_LOCKS: '0',
})

/** `git ARGS` as `user`, with runuser's HOME, SHELL, USER and LOGNAME of that user. */
export const gitAs = (user: string, args: readonly string[]): string[] => [
  'runuser',
  '-u',
  user,
  '--',
  'git',
  ...args,
]

async function gitOut(
  sys: System,
  user: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<string | null> {
  const r = await sys.exec(gitAs(user, args), {
    allowFailure: true,
    ...opts,
    env: { ...GIT_ENV, ...opts.env },
  })
  return r.exitCode === 0 ? r.stdout.trim() : null
}

/**
 * The clone's origin URL when `path` is the top of a git work tree (a directory inside some other
 * repository is not a clone of its own), else null.
 */
export async function cloneOrigin(sys: System, user: string, path: string): Promise<string | null> {
  const top = await gitOut(sys, user, ['-C', path, 'rev-parse', '--show-toplevel'])
  if (top !== path) return null
  return (await gitOut(sys, user, ['-C', path, 'config', '--get', 'remote.origin.url'])) ?? ''
}

export async function headCommit(sys: System, user: string, path: string): Promise<string | null> {
  return gitOut(sys, user, ['-C', path, 'rev-parse', '--verify', '--quiet', 'HEAD'])
}

/** The branch HEAD's upstream names on origin ("main" for origin/main), or null without one. */
export async function upstreamBranch(sys: System, user: string, path: string): Promise<string | null> {
  const up = await gitOut(sys, user, [
    '-C',
    path,
    'rev-parse',
    '--abbrev-ref',
    '--symbolic-full-name',
    '@{upstream}',
  ])
  return up?.startsWith('origin/') ? up.slice('origin/'.length) : null
}

/**
 * What removing the clone would lose, in words: changed or untracked files, commits on no remote
 * branch, stashes. Empty: everything in it is on the remote. A query that fails counts as work
 * (we cannot tell, so we must not delete).
 */
export async function localWork(sys: System, user: string, path: string): Promise<string[]> {
  const found: string[] = []
  const status = await gitOut(sys, user, ['-C', path, 'status', '--porcelain', '--untracked-files=all'])
  if (status === null) found.push('git status failed')
  else if (status !== '') found.push(`${status.split('\n').length} changed or untracked file(s)`)
  const unpushed = await gitOut(sys, user, [
    '-C',
    path,
    'log',
    '--branches',
    '--not',
    '--remotes',
    '--format=%H',
  ])
  if (unpushed === null) found.push('git log failed')
  else if (unpushed !== '') found.push(`${unpushed.split('\n').length} commit(s) on no remote branch`)
  const stashes = await gitOut(sys, user, ['-C', path, 'stash', 'list'])
  if (stashes === null) found.push('git stash list failed')
  else if (stashes !== '') found.push(`${stashes.split('\n').length} stash(es)`)
  return found
}

/**
 * Where a repository is cloned when the config names no directory: the URL's last path part
 * without `.git`, as `git clone` itself picks it. null when that is not a plain name.
 */
export function defaultCloneDirectory(url: string): string | null {
  const path = url.replace(/^[a-z]+:\/\/[^/]*/, '').replace(/^[^/:]*:/, '')
  const last = path.replace(/\/+$/, '').split('/').pop() ?? ''
  const name = last.replace(/\.git$/, '')
  return /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name) ? name : null
}
