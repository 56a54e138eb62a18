// The one reading of INI files (xrdp.ini, sesman.ini): how a section header and a key line look,
// and the value a section gives a key. xrdp compares key names case-insensitively, so do we.

export const INI_SECTION = /^\s*\[([^\]]+)\]\s*$/
/** Groups: indent, key, space before `=`, space after it, value, a CR of a CRLF file. */
export const INI_KEY = /^(\s*)([^=;#[\s][^=]*?)(\s*)=(\s*)(.*?)(\r?)$/

export const sameIniKey = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** The section a line opens, or null. */
export const iniSection = (line: string): string | null => INI_SECTION.exec(line)?.[1]?.trim() ?? null

/** The value of `key` in `section` (the first one, as xrdp reads it), or null. */
export function iniValue(text: string, section: string, key: string): string | null {
  let current: string | null = null
  for (const line of text.split('\n')) {
    current = iniSection(line) ?? current
    const m = current === section ? INI_KEY.exec(line) : null
    if (m && sameIniKey(m[2] ?? '', key)) return (m[5] ?? '').trim() || null
  }
  return null
}
