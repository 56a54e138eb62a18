// Turns an ASCII-armored OpenPGP key (what vendors publish as *.asc) into the binary keyring apt's
// Signed-By wants. Armor is base64 with a CRC-24, so this needs no gpg: gpg is optional on trixie
// and would create /root/.gnupg as a side effect.

const BEGIN = /^-----BEGIN PGP [A-Z ]+-----$/
const END = /^-----END PGP [A-Z ]+-----$/

export const isArmored = (data: Buffer): boolean =>
  data.subarray(0, 512).toString('latin1').includes('-----BEGIN PGP ')

function crc24(data: Buffer): number {
  let crc = 0xb704ce
  for (const byte of data) {
    crc ^= byte << 16
    for (let i = 0; i < 8; i++) {
      crc <<= 1
      if (crc & 0x1000000) crc ^= 0x1864cfb
    }
  }
  return crc & 0xffffff
}

/** Decodes every armored block in `data` and concatenates them (a keyring is a packet sequence). */
export function dearmor(data: Buffer): Buffer {
  const lines = data.toString('latin1').split(/\r?\n/)
  const blocks: Buffer[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!BEGIN.test(lines[i]?.trim() ?? '')) continue
    i++
    // Armor headers ("Version: ...") run up to the first blank line.
    const headerEnd = lines.findIndex((l, j) => j >= i && l.trim() === '')
    const hasHeaders = headerEnd >= 0 && lines.slice(i, headerEnd).every((l) => l.includes(': '))
    const bodyStart = hasHeaders ? headerEnd + 1 : i
    const end = lines.findIndex((l, j) => j >= bodyStart && END.test(l.trim()))
    if (end < 0) throw new Error('Unable to read the signing key: an armored block is not terminated')
    let body = lines.slice(bodyStart, end).map((l) => l.trim())
    const checksum = body.at(-1)?.startsWith('=') ? body.at(-1)?.slice(1) : undefined
    if (checksum !== undefined) body = body.slice(0, -1)
    const bytes = Buffer.from(body.join(''), 'base64')
    if (checksum !== undefined && Buffer.from(checksum, 'base64').readUIntBE(0, 3) !== crc24(bytes))
      throw new Error(
        'Unable to read the signing key: its armor checksum does not match (truncated download?)',
      )
    blocks.push(bytes)
    i = end
  }
  if (blocks.length === 0) throw new Error('Unable to read the signing key: no armored block found')
  return Buffer.concat(blocks)
}

/** The binary keyring for a downloaded key, whichever form the vendor published. */
export const keyringBytes = (data: Buffer): Buffer => (isArmored(data) ? dearmor(data) : data)
