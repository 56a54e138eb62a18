// iniValues(): the fewest possible edits to xrdp.ini / sesman.ini: existing keys get a new value
// in place (comments, order and the file's `key=value` spacing kept), missing keys go after the
// last key of their section, missing sections at the end. Whole-file templates would drop the
// defaults a newer xrdp ships.

import { iniSection, INI_KEY as KEY, INI_SECTION as SECTION, sameIniKey as sameKey } from '../facts/ini.js'
import { managedFile } from './file.js'
import type { Step } from './types.js'

export type IniValue = string | number | boolean
export type IniValues = Record<string, Record<string, IniValue>>

export interface IniValuesArgs {
  id?: string
  path: string
  values: IniValues
}

export function editIni(current: string | null, values: IniValues): string {
  const lines = (current ?? '').split('\n')
  const endsWithNewline = current === null || current === '' || current.endsWith('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  const firstKey = lines.map((l) => KEY.exec(l)).find((m) => m !== null)
  const sep = firstKey ? `${firstKey[3]}=${firstKey[4]}` : '='

  for (const [section, keys] of Object.entries(values)) {
    const start = lines.findIndex((l) => iniSection(l) === section)
    if (start < 0) {
      if (lines.length > 0 && lines[lines.length - 1]?.trim() !== '') lines.push('')
      lines.push(`[${section}]`, ...Object.entries(keys).map(([k, v]) => `${k}${sep}${String(v)}`))
      continue
    }
    let end = lines.findIndex((l, i) => i > start && SECTION.test(l))
    if (end < 0) end = lines.length
    let lastKey = start
    const seen = new Set<string>()
    for (let i = start + 1; i < end; i++) {
      const m = KEY.exec(lines[i] ?? '')
      if (!m) continue
      lastKey = i
      const entry = Object.entries(keys).find(([k]) => sameKey(k, m[2] ?? ''))
      if (!entry) continue
      seen.add(entry[0])
      // Every duplicate gets our value, so whichever one xrdp reads, it reads ours.
      lines[i] = `${m[1]}${m[2]}${m[3]}=${m[4]}${String(entry[1])}${m[6]}`
    }
    const added = Object.entries(keys)
      .filter(([k]) => !seen.has(k))
      .map(([k, v]) => `${k}${sep}${String(v)}`)
    lines.splice(lastKey + 1, 0, ...added)
  }
  if (lines.length === 0) return current ?? ''
  return lines.join('\n') + (endsWithNewline ? '\n' : '')
}

export function iniValues(args: IniValuesArgs): Step {
  const keys = Object.entries(args.values).flatMap(([s, kv]) => Object.keys(kv).map((k) => `${s}.${k}`))
  return managedFile(
    'ini',
    {
      id: args.id,
      title: `Set ${keys.join(', ')} in ${args.path}`,
      path: args.path,
      content: (current) => editIni(current, args.values),
    },
    true,
  )
}
