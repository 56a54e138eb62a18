// Which repositories an apt source file names, in both formats: one-line `.list` entries
// (`deb [signed-by=…] URI SUITE COMPONENTS`) and deb822 `.sources` stanzas. Enough to tell
// whether two files point apt at the same repository: two Signed-By values for one repository
// make `apt-get update` refuse every source ("Conflicting values set for option Signed-By").

/** The first line of every source file vps-provision writes (steps/apt-source.ts). */
export const MANAGED_MARK = '# Managed by vps-provision'

export const isManagedSource = (text: string): boolean => text.startsWith(MANAGED_MARK)

export interface AptSourceEntry {
  /** Normalised: see normalizeUri. */
  uri: string
  suites: string[]
  signedBy: string | null
}

/** Scheme and host are case-insensitive, and `…/repos/code/` is `…/repos/code` to apt. */
export function normalizeUri(uri: string): string {
  const trimmed = uri.trim().replace(/\/+$/, '')
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)(.*)$/i.exec(trimmed)
  return m ? `${(m[1] as string).toLowerCase()}${(m[2] as string).toLowerCase()}${m[3]}` : trimmed
}

/** The entries of a file in sources.list.d by its name (.list or .sources); others name none. */
export function parseAptSources(name: string, text: string): AptSourceEntry[] {
  if (name.endsWith('.list')) return parseList(text)
  if (name.endsWith('.sources')) return parseDeb822(text)
  return []
}

function parseList(text: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    const m = /^deb(?:-src)?\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line)
    if (!m) continue
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? '')?.[1] ?? null
    out.push({ uri: normalizeUri(m[2] as string), suites: [m[3] as string], signedBy })
  }
  return out
}

function parseDeb822(text: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = []
  for (const stanza of text.split(/\n[ \t]*\n/)) {
    const fields = new Map<string, string>()
    let last: string | null = null
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue
      // A continuation line (Signed-By may hold a whole key block) belongs to the field before it.
      if (/^[ \t]/.test(line) && last) {
        fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`)
        continue
      }
      const m = /^([A-Za-z0-9-]+):[ \t]*(.*)$/.exec(line)
      if (!m) continue
      last = (m[1] as string).toLowerCase()
      fields.set(last, (m[2] as string).trim())
    }
    if (fields.get('enabled')?.toLowerCase() === 'no') continue
    const uris = (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean)
    const signed = fields.get('signed-by')?.trim() ?? ''
    const signedBy = signed === '' ? null : signed.includes('\n') ? '(inline key)' : signed
    for (const uri of uris) out.push({ uri: normalizeUri(uri), suites, signedBy })
  }
  return out
}

/** The repositories (normalised URIs) of `theirs` that `ours` names too. */
export function sharedRepositories(
  theirs: readonly AptSourceEntry[],
  ours: readonly AptSourceEntry[],
): string[] {
  const mine = new Set(ours.map((e) => e.uri))
  return [...new Set(theirs.map((e) => e.uri).filter((u) => mine.has(u)))]
}
