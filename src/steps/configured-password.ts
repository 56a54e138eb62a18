// configuredPassword(): the developer's password as an orchestrator gives it, so nobody has to
// fetch a generated one from each of fifty servers: a crypt hash (`passwordHash`, yescrypt or
// sha512-crypt) set with `chpasswd --encrypted`, or the plain password from a root-only file
// (`passwordFile`) set with `chpasswd`. Both go through stdin and are registered as secrets; the
// journal and the plan only ever say "configured".
//
// Unlike the generated password, the configured one is kept: a re-run puts it back when the
// account's password differs (`passwd` by hand is undone by the next run; change the configuration
// instead). Whether the file's password is the one set is asked of libcrypt through perl (Essential
// in Debian), with password and hash on its stdin: no hash of ours, no plain text in any argv.
// Undo locks the password, like the generated one's (password.ts says why not the old hash).
import { shadowEntry } from '../facts/accounts.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { System } from '../system/port.js'
import type { Step } from './types.js'

export type PasswordSource = { hash: string } | { file: string }

/** Exit 0 when stdin's first line is the password of the crypt hash on its second line. */
export const SAME_PASSWORD =
  'chomp(my $p = <STDIN>); chomp(my $h = <STDIN>); exit(crypt($p, $h) eq $h ? 0 : 1)'

export function configuredPassword(id: string, user: string, source: PasswordSource): Step {
  const what = 'hash' in source ? 'passwordHash' : `passwordFile ${source.file}`
  const wanted = async (sys: System): Promise<string> => {
    if ('hash' in source) return source.hash
    const text = (await sys.readFile(source.file))?.toString('utf8') ?? null
    const value = text?.replace(/\r?\n$/, '') ?? ''
    if (value === '' || /[\n:]/.test(value))
      throw new ProvisionError(
        `Unable to read the password of ${user} from ${source.file}: it must hold one non-empty line without ':'`,
        EXIT.usage,
      )
    return value
  }
  const holds = async (sys: System, value: string, hash: string): Promise<boolean> => {
    if ('hash' in source) return hash === value
    if (!hash.startsWith('$')) return false
    const r = await sys.exec(['perl', '-e', SAME_PASSWORD], {
      stdin: `${value}\n${hash}\n`,
      secrets: [value, hash],
      allowFailure: true,
    })
    return r.exitCode === 0
  }
  return {
    id,
    title: `Password of ${user} from ${what}`,
    async check(sys) {
      const sh = await shadowEntry(sys, user)
      if (!sh) return { done: false, observed: `${user} absent`, why: `user ${user} does not exist` }
      const done = await holds(sys, await wanted(sys), sh.hash)
      const observed = `${user} password=${done ? 'configured' : 'other'}`
      return done
        ? { done, observed }
        : { done, observed, why: `the password of ${user} is not the one in ${what}` }
    },
    async apply(ctx) {
      const sh = await shadowEntry(ctx.sys, user)
      const value = await wanted(ctx.sys)
      if (sh && (await holds(ctx.sys, value, sh.hash))) return
      ctx.secret(value)
      const target = `password of ${user} (from ${what})`
      const undo = { kind: 'argv' as const, argv: ['usermod', '--lock', '--', user], allowFailure: true }
      await ctx.change({ actionType: 'USER_MODIFY', target, undo }, async () => {
        const argv = 'hash' in source ? ['chpasswd', '--encrypted'] : ['chpasswd']
        await ctx.sys.exec(argv, { stdin: `${user}:${value}\n`, secrets: [value] })
        return undefined
      })
    },
  }
}
