// The developer's generated password: set once (never replaced on a re-run), shown once at the end
// on a terminal, or filed in /root/vps-provision-credentials (0600) when nobody is watching, e.g.
// under cloud-init. The file is written before chpasswd runs, so a crash in between can never
// leave a password set that nobody knows; the next run simply generates a new one.

import { template } from '../templates.js'
import { generatePassword } from '../util/password.js'
import { writeJournaled } from './common.js'
import { password } from './password.js'
import type { Step } from './types.js'

export const CREDENTIALS_FILE = '/root/vps-provision-credentials'

/** The primary developer's file keeps its old name (cloud-init users read it); each other their own. */
export function credentialsFile(username: string, primary: boolean): string {
  return primary ? CREDENTIALS_FILE : `${CREDENTIALS_FILE}-${username}`
}

export function developerPassword(
  username: string,
  opts: { expire: boolean; interactive: boolean; id?: string; file?: string },
): Step {
  let generated: string | null = null
  const file = opts.file ?? CREDENTIALS_FILE
  const inner = password({
    id: opts.id ?? 'password',
    user: username,
    expire: opts.expire,
    password: () => generated ?? '',
  })
  return {
    ...inner,
    async apply(ctx) {
      if ((await inner.check(ctx.sys)).done) return
      generated = generatePassword()
      ctx.secret(generated)
      if (opts.interactive) {
        ctx.outputs.credentials = { username, password: generated }
      } else {
        const text = template('credentials', { username, password: generated })
        await writeJournaled(ctx, file, text, { mode: 0o600, uid: 0, gid: 0 })
        ctx.outputs.credentialsFile ??= file
      }
      await inner.apply(ctx)
    },
  }
}
