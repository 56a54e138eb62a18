// password(): give an account a usable password, only when it has none, so a re-run never
// replaces a password the developer has since changed (and never reveals a new one).
//
// Undo locks the password (`usermod --lock`): after rollback no password we generated can log
// in, whether the account was created by this session (its deletion, undone next, removes the rest)
// or existed without a usable password before. It is safe when chpasswd never ran: locking '!' or
// '*' leaves the account as unusable as it was. It does not write back the exact previous field:
// that would put a hash into the journal, and shadow's last-change date is not restored either.

import { shadowEntry, usableHash } from '../facts/accounts.js'
import type { Undo } from '../model/undo.js'
import type { Step } from './types.js'

export interface PasswordArgs {
  id?: string
  user: string
  /** Called once, only when a password must be set; the value is registered as a secret. */
  password: () => string
  /** `chage -d 0`: force a change at the first login (breaks xrdp logins until changed over SSH). */
  expire: boolean
}

export function password(args: PasswordArgs): Step {
  return {
    id: args.id ?? `password.${args.user}`,
    title: `Password of ${args.user}`,
    async check(sys) {
      const sh = await shadowEntry(sys, args.user)
      // Never the hash itself: observed text is hashed into checkpoints and shown in plans.
      if (!sh)
        return { done: false, observed: `${args.user} absent`, why: `user ${args.user} does not exist` }
      const set = usableHash(sh.hash)
      const observed = `${args.user} password=${set ? 'set' : 'unset'}${sh.lastChange === '0' ? ' expired' : ''}`
      return set
        ? { done: true, observed }
        : { done: false, observed, why: `${args.user} has no usable password` }
    },
    async apply(ctx) {
      const sh = await shadowEntry(ctx.sys, args.user)
      if (sh && usableHash(sh.hash)) return
      const undo: Undo = { kind: 'argv', argv: ['usermod', '--lock', '--', args.user], allowFailure: true }
      const secret = args.password()
      if (secret.includes('\n') || secret.includes(':') || secret === '')
        throw new Error(
          `Unable to set the password of ${args.user}: it must be non-empty, without ':' or newline`,
        )
      ctx.secret(secret)
      const target = `password of ${args.user}${args.expire ? ' (expired)' : ''}`
      await ctx.change({ actionType: 'USER_MODIFY', target, undo }, async () => {
        await ctx.sys.exec(['chpasswd'], { stdin: `${args.user}:${secret}\n`, secrets: [secret] })
        if (args.expire) await ctx.sys.exec(['chage', '--lastday', '0', '--', args.user])
        return undefined
      })
    },
  }
}
