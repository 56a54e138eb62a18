// gitPull(): with `update: pull`, a clean checkout fast-forwarded to what its branch is on origin.
// Done when HEAD is the commit origin's branch points at, or has it as an ancestor (the
// developer's own commits on top): one `git ls-remote`, which changes nothing on the machine, so
// a re-run with `update: pull` asks the network once per repository and changes nothing when
// nothing moved. The fast-forward is journaled as irreversible: the developer may build on the
// new commits at once, and rollback leaves them (it removes the clone itself when it made it).
import type { PasswdEntry } from '../facts/accounts.js'
import { cloneOrigin, GIT_ENV, gitAs, headCommit, localWork, upstreamBranch } from '../facts/git.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { CommandError, type System } from '../system/port.js'
import { CLONE_TIMEOUT_MS, clonePath, networkGit, type RepoArgs } from './git-clone.js'
import { gitAuth } from './git-credentials.js'
import { forUser } from './lazy.js'
import type { Check, Step } from './types.js'

const LS_REMOTE_TIMEOUT_MS = 60_000

/** The commit `branch` points at on origin, asked with the credentials; null when it cannot tell. */
async function remoteHead(sys: System, args: RepoArgs, u: PasswdEntry, path: string, branch: string) {
  const auth = await gitAuth(sys, args.url, args.credentials, u)
  try {
    const argv = gitAs(args.user, ['-C', path, 'ls-remote', '--', 'origin', `refs/heads/${branch}`])
    const r = await sys.exec(argv, {
      allowFailure: true,
      timeoutMs: LS_REMOTE_TIMEOUT_MS,
      env: { ...GIT_ENV, ...auth.env },
      secrets: auth.secrets,
    })
    if (r.exitCode !== 0) return { sha: null, error: new CommandError(argv, r, auth.secrets).message }
    return { sha: r.stdout.split(/\s/)[0] || null, error: null }
  } finally {
    await auth.release()
  }
}

/** With `update: pull`: fast-forward a clean checkout to what its branch is on origin. */
export function gitPull(args: RepoArgs): Step {
  const title = `Fast-forward ~${args.user}/${args.directory} to origin`
  return {
    ...forUser(`${args.id}.pull`, title, args.user, (u) => pullStep(args, u, title)),
    part: args.part,
  }
}

async function pullState(sys: System, args: RepoArgs, u: PasswdEntry): Promise<Check & { path: string }> {
  const path = await clonePath(sys, u.home, args.directory).catch((e: Error) => e)
  if (path instanceof Error) return { path: '', done: false, observed: path.message, why: path.message }
  if ((await cloneOrigin(sys, args.user, path)) !== args.url)
    return { path, done: false, observed: `${path} not cloned`, why: `${path} is not cloned yet` }
  const branch = await upstreamBranch(sys, args.user, path)
  if (branch === null)
    return {
      path,
      done: false,
      observed: `${path} no upstream`,
      why: `${path}'s branch tracks nothing on origin`,
    }
  const head = await headCommit(sys, args.user, path)
  const remote = await remoteHead(sys, args, u, path, branch)
  if (remote.sha === null)
    return {
      path,
      done: false,
      observed: `${path} origin unknown`,
      why: remote.error ?? `origin has no ${branch}`,
    }
  const observed = `${path} HEAD ${head} origin/${branch} ${remote.sha}`
  if (head === remote.sha) return { path, done: true, observed }
  const ahead = await sys.exec(
    gitAs(args.user, ['-C', path, 'merge-base', '--is-ancestor', remote.sha, 'HEAD']),
    {
      allowFailure: true,
      env: { ...GIT_ENV },
    },
  )
  if (ahead.exitCode === 0) return { path, done: true, observed: `${path} ahead of origin/${branch}` }
  const why = `HEAD is ${head?.slice(0, 12)}, origin's ${branch} ${remote.sha.slice(0, 12)}`
  return { path, done: false, observed, why }
}

function pullStep(args: RepoArgs, u: PasswdEntry, title: string): Step {
  return {
    id: `${args.id}.pull`,
    title,
    async check(sys) {
      const { path: _path, ...check } = await pullState(sys, args, u)
      return check
    },
    async apply(ctx) {
      const { path, done } = await pullState(ctx.sys, args, u)
      if (done) return
      if (path === '') await clonePath(ctx.sys, u.home, args.directory)
      const work = await localWork(ctx.sys, args.user, path)
      if (work.some((w) => w.includes('changed')))
        throw new ProvisionError(
          `Unable to fast-forward ${path}: it has ${work.join(', ')}`,
          EXIT.provisioning,
          `Commit or stash the changes in ${path} (as ${args.user}), or set update: none for this repository`,
        )
      const auth = await gitAuth(ctx.sys, args.url, args.credentials, u)
      for (const s of auth.secrets) ctx.secret(s)
      const before = await headCommit(ctx.sys, args.user, path)
      const undo = {
        kind: 'irreversible',
        reason: `fast-forward of ${path} from ${before ?? 'nothing'}`,
      } as const
      try {
        await ctx.change({ actionType: 'COMMAND_EXEC', target: path, undo }, async () => {
          const argv = gitAs(args.user, ['-C', path, 'pull', '--ff-only', '--quiet'])
          await networkGit(ctx, args, argv, auth, `fast-forward ${path} from ${args.url}`, CLONE_TIMEOUT_MS)
          return {
            output: `fast-forwarded ${before ?? '?'} -> ${(await headCommit(ctx.sys, args.user, path)) ?? '?'}`,
          }
        })
      } finally {
        await auth.release()
      }
    },
  }
}
