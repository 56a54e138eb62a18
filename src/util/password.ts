// Generated passwords: CSPRNG, 20 characters, all four classes, no look-alikes (0/O, 1/l/I) and no
// characters that need quoting when pasted into a shell or an RDP login box.
import { randomInt } from 'node:crypto'

const CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '-_.+=@%#'] as const
const ALL = CLASSES.join('')

export const PASSWORD_LENGTH = 20

export function generatePassword(length = PASSWORD_LENGTH): string {
  if (length < CLASSES.length) throw new Error('Unable to generate a password: too short for four classes')
  const chars = CLASSES.map((c) => c[randomInt(c.length)] as string)
  while (chars.length < length) chars.push(ALL[randomInt(ALL.length)] as string)
  // Fisher-Yates with the CSPRNG, so the class characters are not always first.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[chars[i], chars[j]] = [chars[j] as string, chars[i] as string]
  }
  return chars.join('')
}
