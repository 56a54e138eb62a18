import { describe, expect, it } from 'vitest'
import { dearmor, isArmored, keyringBytes } from '../../../src/util/pgp-armor.js'

// CRC-24 (OpenPGP) of "123456789" is 0x21CF02, i.e. "=Ic8C": a published check value, so this
// test does not lean on our own CRC code to produce its expectation.
const armor = (body: string, crc = 'Ic8C', headers = '') =>
  `-----BEGIN PGP PUBLIC KEY BLOCK-----\n${headers}\n${body}\n=${crc}\n-----END PGP PUBLIC KEY BLOCK-----\n`

describe('dearmor', () => {
  it('decodes the body and verifies the checksum', () => {
    expect(dearmor(Buffer.from(armor('MTIzNDU2Nzg5'))).toString()).toBe('123456789')
  })

  it('skips armor headers', () => {
    expect(
      dearmor(Buffer.from(armor('MTIzNDU2Nzg5', 'Ic8C', 'Version: GnuPG v2\nComment: x\n'))).toString(),
    ).toBe('123456789')
  })

  it('rejects a damaged key', () => {
    expect(() => dearmor(Buffer.from(armor('MTIzNDU2Nzg4')))).toThrow(/checksum does not match/)
  })

  it('concatenates several blocks (a keyring is a packet sequence)', () => {
    const two = armor('MTIzNDU2Nzg5') + armor('MTIzNDU2Nzg5')
    expect(dearmor(Buffer.from(two)).toString()).toBe('123456789123456789')
  })

  it('passes a binary key through unchanged', () => {
    const bin = Buffer.from([0x99, 0x01, 0x0d, 0x04])
    expect(isArmored(bin)).toBe(false)
    expect(keyringBytes(bin)).toEqual(bin)
  })
})
