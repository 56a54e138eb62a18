// gitClone(): a repository cloned into a developer's home, by git running as that developer (never
// as root: the files are theirs, and a repository's config must not run code as root). Done when
// the directory is the top of a clone whose origin is that URL; a re-run asks nothing of the
// network. gitPull(): with `update: pull`, a clean checkout fast-forwarded to its remote branch;
// done when HEAD is the commit the remote's branch points at (git-pull.ts).
//
// Credentials: git-credentials.ts. Network attempts go through util/retry.ts; only failures that
// look like the network's are retried (an authentication failure or a missing repository is not),
// and each retry is logged and kept for `status` (ctx.retried).
import type { PasswdEntry } from '../facts/accounts.js'
import { cloneOrigin, GIT_ENV, gitAs, headCommit } from '../facts/git.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { CommandError, type ExecResult, redact, type System } from '../system/port.js'
import { type RetryPolicy, realClock, retry } from '../util/retry.js'
import { type GitAuth, gitAuth } from './git-credentials.js'
import { forUser } from './lazy.js'
import type { Check, Step, StepContext } from './types.js'

export interface RepoArgs {
  /** Stable local id (`repos.dev.app`). */
  id: string
  user: string
  url: string
  branch: string | null
  /** Relative to the home, already validated (no `..`). */
  directory: string
  credentials: string | null
  /** Step.part: one repository that fails is left out, not the run. */
  part: string
  /** Tests pass a policy with no waits. */
  retryPolicy?: RetryPolicy
}

// As the downloads': a VPS's first minutes meet DNS and routes that are still settling.
export const GIT_RETRY: RetryPolicy = {
  ...realClock,
  tries: 4,
  baseDelayMs: 2000,
  maxDelayMs: 30_000,
  deadlineMs: 30 * 60_000,
  jitter: 0.25,
}

export const CLONE_TIMEOUT_MS = 30 * 60_000

// What git and ssh print when the network, not the request, failed. Anything else (401, 403, 404,
// "Repository not found", "Permission denied (publickey)", a missing branch) fails at once.
const TRANSIENT = [
  /Could not resolve host/i,
  /Could not resolve hostname/i,
  /Temporary failure in name resolution/i,
  /Connection refused/i,
  /Connection timed out/i,
  /Connection reset/i,
  /Operation timed out/i,
  /Failed to connect to/i,
  /Network is unreachable/i,
  /No route to host/i,
  /The requested URL returned error: (5\d\d|429)/,
  /RPC failed/i,
  /early EOF/i,
  /unexpected disconnect/i,
  /remote end hung up unexpectedly/i,
  /kex_exchange_identification/i,
  /Connection closed by remote host/i,
  /TLS connection was non-properly terminated/i,
  /gnutls_handshake\(\) failed/i,
]

/** Why a failed git network command is worth another try, or null (done, or failed for good). */
export function transientGitFailure(r: ExecResult): string | null {
  if (r.exitCode === 0) return null
  const text = `${r.stderr}\n${r.stdout}`
  if (/Authentication failed|Permission denied|not found|returned error: 40[0-9]/i.test(text)) return null
  const hit = TRANSIENT.map((re) => re.exec(text)).find((m) => m !== null)
  return hit ? hit[0] : null
}

/** A network git command as `user`, retried while it fails like the network does. */
export async function networkGit(
  ctx: StepContext,
  args: RepoArgs,
  argv: string[],
  auth: GitAuth,
  what: string,
  timeoutMs: number,
): Promise<ExecResult> {
  const { result, attempts } = await retry(
    args.retryPolicy ?? GIT_RETRY,
    () =>
      ctx.sys.exec(argv, {
        allowFailure: true,
        timeoutMs,
        env: { ...GIT_ENV, ...auth.env },
        secrets: auth.secrets,
      }),
    transientGitFailure,
    (note) =>
      ctx.retried(
        `${what} failed with ${note.why} (try ${note.attempt} of ${note.tries}); retrying in ${note.waitMs} ms`,
      ),
  )
  if (result.exitCode !== 0) {
    const tries = attempts > 1 ? ` (${attempts} attempts)` : ''
    throw new ProvisionError(
      `Unable to ${what}${tries}: ${new CommandError(argv, result, auth.secrets).message}`,
      EXIT.provisioning,
      hintFor(args, result),
    )
  }
  return result
}

function hintFor(args: RepoArgs, r: ExecResult): string | undefined {
  const text = `${r.stderr}\n${r.stdout}`
  if (/Authentication failed|returned error: 40[13]|Permission denied|could not read Username/i.test(text))
    return args.credentials
      ? `Check that ${args.credentials} holds a ${args.url.startsWith('http') ? 'token' : 'deploy key'} with read access to ${args.url}`
      : `${args.url} needs credentials: set credentials to a root-owned 0600 file (docs/workspaces.md#repositories)`
  if (/not found/i.test(text)) return `Check the URL${args.branch ? ` and the branch ${args.branch}` : ''}`
  return undefined
}

/**
 * `home/directory`, refusing a path whose existing parts below the home are not plain
 * directories: a symlink there could point the clone, and later its removal, anywhere.
 */
export async function clonePath(sys: System, home: string, directory: string): Promise<string> {
  const parts = directory.split('/').filter(Boolean)
  let at = home.replace(/\/+$/, '')
  for (const [i, part] of parts.entries()) {
    at = `${at}/${part}`
    const st = await sys.stat(at)
    if (!st) break
    if (st.kind === 'symlink')
      throw new ProvisionError(
        `Unable to use ${at} for a clone: it is a symlink`,
        EXIT.provisioning,
        'A repository is cloned into a real directory of the home; remove the link or choose another directory',
      )
    if (st.kind !== 'dir' && i < parts.length - 1)
      throw new ProvisionError(`Unable to use ${at} for a clone: it is a ${st.kind}`, EXIT.provisioning)
  }
  return at
}

async function cloneState(sys: System, args: RepoArgs, path: string): Promise<Check> {
  const st = await sys.stat(path)
  if (!st) return { done: false, observed: `${path} absent`, why: `${args.url} not cloned into ${path} yet` }
  const origin = st.kind === 'dir' ? await cloneOrigin(sys, args.user, path) : null
  if (origin === args.url) return { done: true, observed: `${path} clone of ${args.url}` }
  const what =
    origin === null ? `a ${st.kind} that is not a git clone` : `a clone of ${origin || 'no origin'}`
  return { done: false, observed: `${path} ${what}`, why: `${path} is ${what}, not of ${args.url}` }
}

export function gitClone(args: RepoArgs): Step {
  const title = `Clone ${args.url}${args.branch ? ` (${args.branch})` : ''} into ~${args.user}/${args.directory}`
  return {
    ...forUser(args.id, title, args.user, (u) => cloneStep(args, u, title)),
    part: args.part,
  }
}

function cloneStep(args: RepoArgs, u: PasswdEntry, title: string): Step {
  return {
    id: args.id,
    title,
    async check(sys) {
      // A path apply refuses is a reason, not a crash of the check: apply fails this part alone.
      const path = await clonePath(sys, u.home, args.directory).catch((e: Error) => e)
      if (path instanceof Error) return { done: false, observed: path.message, why: path.message }
      return cloneState(sys, args, path)
    },
    async apply(ctx) {
      const path = await clonePath(ctx.sys, u.home, args.directory)
      const now = await cloneState(ctx.sys, args, path)
      if (now.done) return
      if (!now.observed.endsWith('absent'))
        throw new ProvisionError(
          `Unable to clone ${args.url}: ${now.why}`,
          EXIT.provisioning,
          `Move ${path} away, or give this repository another directory`,
        )
      const auth = await gitAuth(ctx.sys, args.url, args.credentials, u)
      for (const s of auth.secrets) ctx.secret(s)
      const argv = gitAs(args.user, [
        'clone',
        '--quiet',
        ...(args.branch ? ['--branch', args.branch] : []),
        '--',
        args.url,
        path,
      ])
      try {
        await ctx.change(
          {
            actionType: 'FILE_CREATE',
            target: path,
            undo: { kind: 'remove-clone', path, user: args.user },
          },
          async () => {
            await networkGit(ctx, args, argv, auth, `clone ${args.url}`, CLONE_TIMEOUT_MS)
            const head = await headCommit(ctx.sys, args.user, path)
            return { output: redact(`cloned ${args.url} at ${head ?? '(empty)'}`, auth.secrets) }
          },
        )
      } finally {
        await auth.release()
      }
    },
  }
}
