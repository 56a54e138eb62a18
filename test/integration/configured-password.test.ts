// Issue 23 item 2 on a real trixie root: the commands steps/configured-password.ts runs, with the
// inputs it gives them. `chpasswd --encrypted` puts a sha512-crypt hash (made by the root's own
// libcrypt) in /etc/shadow as given; plain `chpasswd` makes Debian 13's yescrypt hash; the perl
// check (SAME_PASSWORD) says yes for the right password and no for another, for both hash kinds.
// Password and hash only ever go on stdin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SAME_PASSWORD } from '../../src/steps/configured-password.js'
import { withChroot } from '../lab/chroot.js'
import { labSkipReason, warnSkip } from '../lab/skip.js'
import { LAB_INCLUDE, type ScratchRoot, scratchRoot } from '../lab/trixie-root.js'

const skipReason = await labSkipReason()
warnSkip('configured-password (issue 23 item 2 on a real trixie root)', skipReason)

describe.skipIf(skipReason !== '')('configured passwords on a real trixie root', () => {
  let scratch: ScratchRoot

  beforeAll(async () => {
    scratch = await scratchRoot({ include: LAB_INCLUDE, label: 'configured-password' })
  }, 30 * 60_000)
  afterAll(async () => {
    await scratch?.remove()
  }, 5 * 60_000)

  it(
    'sets a given hash as is, and libcrypt through perl tells the right password from another',
    async () => {
      await withChroot(scratch.root, async (ch) => {
        await ch.exec(['useradd', '--create-home', '--shell', '/bin/bash', 'alice'])
        await ch.exec(['useradd', '--create-home', '--shell', '/bin/bash', 'bob'])
        const same = async (password: string, hash: string) =>
          (
            await ch.exec(['perl', '-e', SAME_PASSWORD], {
              stdin: `${password}\n${hash}\n`,
              allowFailure: true,
            })
          ).exitCode === 0
        const shadowHash = async (user: string) =>
          ((await ch.readFile('/etc/shadow')) ?? '')
            .split('\n')
            .find((l) => l.startsWith(`${user}:`))
            ?.split(':')[1] ?? ''

        // A sha512-crypt hash as `openssl passwd -6` would print it, made here by the root's libcrypt.
        const made = await ch.exec(
          ['perl', '-e', 'chomp(my $p = <STDIN>); print crypt($p, q($6$s4ltS4lt$))'],
          {
            stdin: 'correct horse\n',
          },
        )
        const sha512 = made.stdout.trim()
        expect(sha512).toMatch(/^\$6\$s4ltS4lt\$[./A-Za-z0-9]{86}$/)
        await ch.exec(['chpasswd', '--encrypted'], { stdin: `alice:${sha512}\n` })
        expect(await shadowHash('alice')).toBe(sha512)
        expect(await same('correct horse', await shadowHash('alice'))).toBe(true)
        expect(await same('wrong horse', await shadowHash('alice'))).toBe(false)

        // passwordFile: plain chpasswd, which Debian 13 hashes with yescrypt.
        await ch.exec(['chpasswd'], { stdin: 'bob:battery staple\n' })
        const yescrypt = await shadowHash('bob')
        expect(yescrypt).toMatch(/^\$y\$/)
        expect(await same('battery staple', yescrypt)).toBe(true)
        expect(await same('battery stapler', yescrypt)).toBe(false)
      })
    },
    10 * 60_000,
  )
})
