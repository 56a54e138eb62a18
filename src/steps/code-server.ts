// codeServerConfig(): one developer's code-server login and config. The password is generated
// once, on the first run, and filed only in the root-only credentials file (a block per developer,
// whose undo removes just that block); the developer's config.yaml (0600, theirs) holds its SHA-256
// as `hashed-password`, which code-server compares a login with. Neither value reaches the
// journal, a log, plan's diff or an argv: both are ctx.secret()s, plan shows the hash as a
// placeholder, and the files are written through the System port, never a command line.
import { type PasswdEntry, passwdEntry } from '../facts/accounts.js'
import {
  bindAddr,
  CONFIG_FILE,
  configuredPort,
  credentialsMarker,
  filedPassword,
  TLS_CERT,
  TLS_KEY,
} from '../facts/code-server.js'
import { readText } from '../facts/files.js'
import { upsertBlock } from '../facts/marked-block.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Undo } from '../model/undo.js'
import { template } from '../templates.js'
import { unifiedDiff } from '../util/diff.js'
import { sha256 } from '../util/hash.js'
import { generatePassword } from '../util/password.js'
import { octal, writeJournaled } from './common.js'
import type { Check, Step, StepContext, System } from './types.js'

export interface CodeServerConfigArgs {
  user: string
  address: string
  tls: boolean
  /** The root-only file the password is filed in (the RDP password's). */
  credentials: string
  /** This developer's port, from the allocation of all developers (facts/code-server.ts). */
  port: (sys: System) => Promise<number>
}

const HIDDEN = 'hashed-password: <SHA-256 of the password in the credentials file, not shown>'
const hide = (text: string) => text.replace(/^hashed-password:.*$/m, HIDDEN)

interface Seen {
  user: PasswdEntry
  path: string
  password: string | null
  current: string | null
  desired: (hash: string) => string
  problems: string[]
}

async function look(sys: System, args: CodeServerConfigArgs): Promise<Seen | null> {
  const user = await passwdEntry(sys, args.user)
  if (!user) return null
  const path = `${user.home}/${CONFIG_FILE}`
  const port = await args.port(sys)
  const tls = args.tls ? `cert: ${user.home}/${TLS_CERT}\ncert-key: ${user.home}/${TLS_KEY}` : 'cert: false'
  const desired = (hash: string) =>
    template('code-server-config.yaml', {
      user: args.user,
      credentials: args.credentials,
      bind: bindAddr(args.address, port),
      hash,
      tls,
    })
  const password = await filedPassword(sys, args.credentials, args.user)
  const stat = await sys.stat(path)
  if (stat && stat.kind !== 'file')
    throw new ProvisionError(`Unable to manage ${path}: it is a ${stat.kind}, not a file`, EXIT.provisioning)
  const current = stat ? await readText(sys, path) : null
  const problems: string[] = []
  if (password === null) problems.push(`no code-server password filed for ${args.user} yet`)
  if (!stat) problems.push(`${path} absent`)
  else {
    if (password === null || current !== desired(sha256(password))) problems.push(`${path}: content differs`)
    if (stat.mode !== 0o600) problems.push(`${path}: mode ${octal(stat.mode)}, want 0600`)
    if (stat.uid !== user.uid || stat.gid !== user.gid)
      problems.push(`${path}: owner ${stat.uid}:${stat.gid}, want ${user.uid}:${user.gid}`)
  }
  return { user, path, password, current, desired, problems }
}

export function codeServerConfig(args: CodeServerConfigArgs): Step {
  return {
    id: `code-server.config.${args.user}`,
    title: `code-server login and config of ${args.user}`,
    async check(sys): Promise<Check> {
      const s = await look(sys, args)
      if (!s)
        return {
          done: false,
          observed: `user ${args.user} absent`,
          why: `user ${args.user} does not exist yet`,
        }
      // Hashes of what is there, never the password or its hash themselves.
      const observed = `${s.path} ${s.current === null ? 'absent' : `sha256=${sha256(s.current)}`} password ${s.password === null ? 'not filed' : 'filed'} port ${await configuredPort(sys, args.user)}`
      if (s.problems.length === 0) return { done: true, observed }
      const after = hide(s.desired('x'))
      const diff =
        s.current !== null && hide(s.current) === after
          ? undefined
          : unifiedDiff(s.path, s.current === null ? null : hide(s.current), after)
      return { done: false, observed, why: s.problems.join('; '), ...(diff ? { diff } : {}) }
    },
    async apply(ctx) {
      const s = await look(ctx.sys, args)
      if (!s)
        throw new ProvisionError(
          `Unable to configure code-server for ${args.user}: the user does not exist`,
          EXIT.provisioning,
        )
      if (s.problems.length === 0) return
      const password = s.password ?? (await filePassword(ctx, args))
      const hash = sha256(password)
      ctx.secret(password)
      ctx.secret(hash)
      await writeJournaled(ctx, s.path, s.desired(hash), { mode: 0o600, uid: s.user.uid, gid: s.user.gid })
    },
  }
}

/**
 * A new password, filed in the developer's block of the credentials file before any config names
 * its hash (a crash in between leaves a password nobody uses, never a login nobody knows). The
 * undo removes exactly this block, and the file when nothing else was in it.
 */
async function filePassword(ctx: StepContext, args: CodeServerConfigArgs): Promise<string> {
  const password = generatePassword()
  ctx.secret(password)
  ctx.secret(sha256(password))
  const marker = credentialsMarker(args.user)
  const current = await readText(ctx.sys, args.credentials)
  const next = upsertBlock(
    current,
    marker,
    template('credentials-code-server', { username: args.user, password }),
  )
  const undo: Undo = {
    kind: 'restore-block',
    path: args.credentials,
    marker,
    previous: null,
    removeEmptyFile: current === null,
  }
  await ctx.change(
    { actionType: current === null ? 'FILE_CREATE' : 'FILE_MODIFY', target: args.credentials, undo },
    async () => {
      await ctx.sys.writeFile(args.credentials, next, { mode: 0o600, uid: 0, gid: 0 })
      return { files: { [args.credentials]: sha256(next) } }
    },
  )
  return password
}
