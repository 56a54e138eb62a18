// Parsers for list, boolean and number values, shared by flags (commander argParsers) and
// VPS_PROVISION_* variables, so both reject the same inputs with the same words.
import { IDE_IDS, type IdeId, PHASE_NAMES, type PhaseName } from '../model/names.js'

function parseList<T extends string>(text: string, allowed: readonly T[], what: string, dupes: boolean): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  const out: T[] = []
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new Error(`unknown ${what} ${JSON.stringify(item)} (allowed: ${allowed.join(', ')})`)
    }
    if (out.includes(item as T)) {
      if (dupes) continue
      throw new Error(
        `${what} ${JSON.stringify(item)} is listed twice (allowed once each: ${allowed.join(', ')})`,
      )
    }
    out.push(item as T)
  }
  return out
}

export const parseIdes = (text: string): IdeId[] => parseList(text, IDE_IDS, 'IDE', false)
export const parsePhases = (text: string): PhaseName[] => parseList(text, PHASE_NAMES, 'phase', true)

const TRUE = ['true', 'yes', 'on', '1']
const FALSE = ['false', 'no', 'off', '0']

export function parseBool(text: string): boolean {
  const t = text.trim().toLowerCase()
  if (TRUE.includes(t)) return true
  if (FALSE.includes(t)) return false
  throw new Error(`expected true or false (or yes/no, on/off, 1/0), got ${JSON.stringify(text)}`)
}

/** Only the syntax; the range is the schema's to check, so its message names the field. */
export function parseWholeNumber(text: string): number {
  if (!/^\s*\d{1,9}\s*$/.test(text)) throw new Error(`expected a whole number, got ${JSON.stringify(text)}`)
  return Number(text)
}
