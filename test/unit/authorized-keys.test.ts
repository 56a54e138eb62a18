import { describe, expect, it } from 'vitest'
import { keysForDeveloper } from '../../src/steps/authorized-keys.js'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx alice@laptop'
const RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob@desk'

describe('keysForDeveloper', () => {
  it.each([
    ['a plain key stays', `${KEY}\n`, `${KEY}\n`],
    [
      "a cloud image's root-login block is dropped with its options",
      `no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo 'Please login as the user \\"admin\\" rather than the user \\"root\\".';echo;sleep 10;exit 142" ${KEY}\n`,
      `${KEY}\n`,
    ],
    [
      'options without a forced command are kept',
      `from="10.0.0.0/8",no-pty ${RSA}\n`,
      `from="10.0.0.0/8",no-pty ${RSA}\n`,
    ],
    ['comments, blanks and junk lines go', `# keys\n\nnot a key\n${RSA}\n`, `${RSA}\n`],
    ['nothing usable gives nothing', '# only a comment\n', ''],
  ])('%s', (_, input, expected) => {
    expect(keysForDeveloper(input)).toBe(expected)
  })
})
