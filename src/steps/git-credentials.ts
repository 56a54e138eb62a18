// How a private repository's credentials reach git, which runs as the developer, without ever
// being on a command line, in the journal, a log, the session or the clone's .git/config:
//
// - https token: an `Authorization: Basic` header handed to git in its environment as ephemeral
//   config (GIT_CONFIG_COUNT/KEY/VALUE, git ≥ 2.31), scoped to the repository's scheme://host/.
//   Environment, not argv: /proc/PID/environ is readable by that user and root only, where
//   /proc/PID/cmdline is world-readable. Nothing is written to disk; the clone keeps none of it.
//   (actions/checkout sends the same header, but stores it in .git/config; we do not.)
// - ssh deploy key: the developer's ssh cannot read root's 0600 file, so for the duration of the
//   command a copy lives in a fresh 0700 directory under /run (tmpfs: gone at the next boot even
//   if we are killed) owned by the developer, and is removed right after. GIT_SSH_COMMAND points
//   ssh at it, with only that key, no prompts, and a known_hosts of its own in that directory:
//   the host key is accepted on first use (accept-new) and nothing is left in ~/.ssh.
//
// The credentials file itself must be root's and unreadable by others (0600 or 0400): preflight
// refuses anything else before a single change (credentialsVerdict below).
import { randomBytes } from 'node:crypto'
import type { PasswdEntry } from '../facts/accounts.js'
import type { AssertResult } from '../facts/verdict.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { System } from '../system/port.js'

export const KEY_DIR_ROOT = '/run/vps-provision-git'

/** ssh:// and scp-like user@host:path URLs take a deploy key; http(s) ones a token. */
export const isSshUrl = (url: string): boolean => !/^https?:\/\//.test(url)

/** scheme://host[:port]/ of an http(s) URL: what the header is scoped to. */
export function urlOrigin(url: string): string {
  const m = /^(https?:\/\/[^/]+)/.exec(url)
  return `${m?.[1] ?? url}/`
}

const LOOPBACK = /^https?:\/\/(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?(\/|$)/

/** Preflight: the file is there, a regular file, root's, and no one else can read it. */
export async function credentialsVerdict(sys: System, path: string, url: string): Promise<AssertResult> {
  const st = await sys.stat(path)
  const hint = `Put the ${isSshUrl(url) ? 'deploy key' : 'token'} in ${path}, owned by root: \`chown root:root ${path} && chmod 0600 ${path}\``
  if (!st) return { ok: false, detail: `${path} does not exist`, hint }
  if (st.kind !== 'file') return { ok: false, detail: `${path} is a ${st.kind}, not a file`, hint }
  if (st.uid !== 0) return { ok: false, detail: `${path} is owned by uid ${st.uid}, not root`, hint }
  if ((st.mode & 0o077) !== 0)
    return {
      ok: false,
      detail: `${path} has mode ${st.mode.toString(8).padStart(4, '0')}: others can read it (0600 or 0400 wanted)`,
      hint,
    }
  if (st.size === 0) return { ok: false, detail: `${path} is empty`, hint }
  if (!isSshUrl(url) && url.startsWith('http://') && !LOOPBACK.test(url))
    return {
      ok: false,
      detail: `${url} is plain http: the token would cross the network in clear`,
      hint: 'Use the https:// URL of the repository',
    }
  return { ok: true, detail: `${path} root-owned, mode ${st.mode.toString(8).padStart(4, '0')}` }
}

/** What one git command needs: its extra environment, the values to redact, and a cleanup. */
export interface GitAuth {
  env: Record<string, string>
  secrets: string[]
  release(): Promise<void>
}

const NO_AUTH: GitAuth = { env: {}, secrets: [], release: async () => {} }

/**
 * Reads the credentials (as root) and prepares them for one git command run as `user`. Refuses a
 * file preflight would refuse: between preflight and now someone may have changed it.
 */
export async function gitAuth(
  sys: System,
  url: string,
  credentials: string | null,
  user: PasswdEntry,
): Promise<GitAuth> {
  // Without credentials ssh still must not prompt for a host key or a passphrase.
  if (credentials === null)
    return isSshUrl(url) ? { ...NO_AUTH, env: { GIT_SSH_COMMAND: 'ssh -o BatchMode=yes' } } : NO_AUTH
  const verdict = await credentialsVerdict(sys, credentials, url)
  if (!verdict.ok)
    throw new ProvisionError(
      `Unable to use the credentials of ${url}: ${verdict.detail}`,
      EXIT.provisioning,
      verdict.hint,
    )
  const data = (await sys.readFile(credentials)) ?? Buffer.alloc(0)
  return isSshUrl(url) ? deployKey(sys, data, user) : tokenHeader(url, data.toString('utf8'))
}

/**
 * The file's first line: a token (sent with the user name x-access-token, which GitHub, Gitea
 * and Forgejo take with any token and GitLab with a personal access token), or `user:token` for
 * a host that wants a particular name (Bitbucket: x-token-auth).
 */
export function tokenHeader(url: string, text: string): GitAuth {
  const line = (text.split('\n')[0] ?? '').trim()
  const m = /^([^:\s]+):(\S+)$/.exec(line)
  const [name, token] = m ? [m[1] as string, m[2] as string] : ['x-access-token', line]
  const basic = Buffer.from(`${name}:${token}`).toString('base64')
  const header = `Authorization: Basic ${basic}`
  return {
    env: {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `http.${urlOrigin(url)}.extraHeader`,
      GIT_CONFIG_VALUE_0: header,
    },
    secrets: [token, basic, line],
    release: async () => {},
  }
}

async function deployKey(sys: System, key: Buffer, user: PasswdEntry): Promise<GitAuth> {
  // Root's, world-traversable, so the developer reaches only their own 0700 directory inside it.
  await sys.mkdir(KEY_DIR_ROOT, { mode: 0o711, uid: 0, gid: 0 })
  const dir = `${KEY_DIR_ROOT}/${user.name}-${randomBytes(6).toString('hex')}`
  if (await sys.stat(dir))
    throw new ProvisionError(`Unable to prepare the deploy key: ${dir} exists`, EXIT.provisioning)
  const release = async () => {
    for (const name of await sys.readDir(dir).catch(() => [])) await sys.removeFile(`${dir}/${name}`)
    await sys.rmdir(dir)
  }
  try {
    await sys.mkdir(dir, { mode: 0o700, uid: user.uid, gid: user.gid })
    await sys.writeFile(`${dir}/key`, key, { mode: 0o600, uid: user.uid, gid: user.gid })
  } catch (err) {
    await release()
    throw err
  }
  const ssh = [
    'ssh',
    `-i ${dir}/key`,
    '-o IdentitiesOnly=yes',
    '-o BatchMode=yes',
    '-o StrictHostKeyChecking=accept-new',
    `-o UserKnownHostsFile=${dir}/known_hosts`,
  ].join(' ')
  const secrets = key
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----'))
  return { env: { GIT_SSH_COMMAND: ssh }, secrets, release }
}
