import { describe, expect, it } from 'vitest'
import { keysForDeveloper, withRootKeys } from '../../src/steps/authorized-keys.js'

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

describe('withRootKeys', () => {
  const B = '# >>> vps-provision:root-keys >>>'
  const E = '# <<< vps-provision:root-keys <<<'
  const MINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMine me@home'
  it.each([
    ['a new file holds our block', null, `${KEY}\n`, `${B}\n${KEY}\n${E}\n`],
    ["the user's lines stay, our block follows", `${MINE}\n`, `${KEY}\n`, `${MINE}\n${B}\n${KEY}\n${E}\n`],
    [
      "root's changed keys replace only the block",
      `${MINE}\n${B}\n${KEY}\n${E}\n# mine too\n`,
      `${RSA}\n`,
      `${MINE}\n${B}\n${RSA}\n${E}\n# mine too\n`,
    ],
    [
      'a root key already outside the block (an earlier version, or by hand) is not repeated',
      `${KEY}\n${MINE}\n`,
      `${KEY}\n`,
      `${KEY}\n${MINE}\n`,
    ],
    [
      'the same key with other options or comment counts as present',
      `${KEY.replace('alice@laptop', 'x')}\n`,
      `${KEY}\n`,
      `${KEY.replace('alice@laptop', 'x')}\n`,
    ],
  ])('%s', (_, current, root, expected) => {
    expect(withRootKeys(current, root)).toBe(expected)
    expect(withRootKeys(expected, root)).toBe(expected)
  })
})
