// What "the machine is as it was" means for rollback: a manifest of the container taken from the
// inside, and a diff that names every difference. The exclusions are few and each says why.
import type { Machine } from './machine.js'

export interface Manifest {
  /** package:arch -> version and dpkg status abbreviation */
  packages: Record<string, string>
  /** path -> "type mode uid:gid sha256-or-link-target" for everything under /etc */
  etc: Record<string, string>
  /** Same for the places third-party apt keyrings live outside /etc. */
  keyrings: Record<string, string>
  /**
   * "passwd:NAME" and "group:NAME" -> the whole line (members included); "shadow:NAME" ->
   * "SHA256 lastchg=DAY", the sha256 of the line without its day of last password change, then
   * that day; "gshadow:NAME" -> sha256 of the line (no password hashes in artifacts).
   */
  accounts: Record<string, string>
  /** unit-file -> state, for enabled/disabled/masked/static... (list-unit-files) */
  units: Record<string, string>
  /** "tcp 0.0.0.0:22" ... */
  listening: string[]
  /** Home directories present. */
  homes: string[]
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} syntax
export const DPKG_FORMAT = '${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\\n'

/** One shell script inside the container; sections separated by marker lines. */
const SCRIPT = `
tree() {
  name=$1; shift
  echo "@@$name"
  find "$@" -xdev \\( -type f -o -type l -o -type d -o -type p -o -type s \\) -printf '%y %#m %U:%G %p\\t%l\\n' 2>/dev/null | sort
  echo "@@\${name}sums"
  find "$@" -xdev -type f -print0 2>/dev/null | xargs -0 -r sha256sum | sort -k2
}
echo '@@packages'; dpkg-query -W -f='${DPKG_FORMAT}' | sort
tree etc /etc
tree keyrings /usr/share/keyrings /etc/apt/keyrings
echo '@@passwd'; cat /etc/passwd
echo '@@group'; cat /etc/group
# Field 3 of a shadow line is the day its password was last set: kept in clear (a date is no
# secret), so that two machines made on different days can be told apart from a changed account.
echo '@@shadow'; while IFS= read -r l; do printf '%s %s %s\n' "\${l%%:*}" "$(printf '%s' "$l" | cut -d: -f1-2,4- | sha256sum | cut -c1-64)" "$(printf '%s' "$l" | cut -d: -f3)"; done < /etc/shadow
echo '@@gshadow'; while IFS= read -r l; do printf '%s %s\n' "\${l%%:*}" "$(printf '%s' "$l" | sha256sum | cut -c1-64)"; done < /etc/gshadow
# A busy or emulated machine's systemd may not answer within systemctl's bus timeout: retry, and
# never let a failed listing pass as an empty section.
for try in 1 2 3 4 5 6 7 8 9 10; do units=$(systemctl list-unit-files --no-legend --no-pager) && break; units=; sleep 10; done
[ -n "$units" ] || { echo 'systemctl list-unit-files failed 10 times' >&2; exit 3; }
# The harness's own exec units (e2e-<hex>.service) are not the tool's: systemd 257 lists them as
# "transient", Debian 12's systemd 252 as "bad".
echo '@@units'; printf '%s\n' "$units" | awk '$1 !~ /^e2e-[0-9a-f]+[.]service$/ {print $1" "$2}' | sort
echo '@@listening'; ss -Hltnu | awk '{print $1" "$5}' | sort -u
echo '@@homes'; ls -1A /home | sort
echo '@@end'
`

export async function takeManifest(m: Machine): Promise<Manifest> {
  const r = await m.exec(['sh', '-c', SCRIPT], { timeoutMs: 5 * 60_000 })
  const sections = new Map<string, string[]>()
  let current = ''
  for (const line of r.stdout.split('\n')) {
    const mark = /^@@(\w+)$/.exec(line)
    if (mark?.[1]) {
      current = mark[1]
      sections.set(current, [])
      continue
    }
    if (line !== '') sections.get(current)?.push(line)
  }
  const lines = (name: string) => sections.get(name) ?? []
  return {
    packages: Object.fromEntries(
      lines('packages').map((l) => {
        const [pkg, ...rest] = l.split(' ')
        return [pkg as string, rest.join(' ')]
      }),
    ),
    etc: treeOf(lines('etc'), lines('etcsums')),
    keyrings: treeOf(lines('keyrings'), lines('keyringssums')),
    accounts: {
      ...Object.fromEntries(lines('passwd').map((l) => [`passwd:${l.split(':')[0]}`, l])),
      ...Object.fromEntries(lines('group').map((l) => [`group:${l.split(':')[0]}`, l])),
      ...Object.fromEntries(
        lines('shadow').map((l) => {
          const [name, hash = '', day = ''] = l.split(' ')
          return [`shadow:${name}`, `${hash} lastchg=${day}`]
        }),
      ),
      ...Object.fromEntries(
        lines('gshadow').map((l) => [`gshadow:${l.split(' ')[0]}`, l.split(' ')[1] ?? '']),
      ),
    },
    units: Object.fromEntries(
      lines('units').map((l) => {
        const [u, s] = l.split(' ')
        return [u as string, s ?? '']
      }),
    ),
    listening: lines('listening'),
    homes: lines('homes'),
  }
}

/** `find -printf` lines plus `sha256sum` lines -> path -> "type mode uid:gid sha256|-> target". */
function treeOf(entries: string[], sums: string[]): Record<string, string> {
  const hash = new Map<string, string>()
  for (const s of sums) {
    const m = /^([0-9a-f]{64}) {2}(.*)$/.exec(s)
    if (m?.[1] && m[2]) hash.set(m[2], m[1])
  }
  const out: Record<string, string> = {}
  for (const e of entries) {
    const m = /^(\S) (\S+) (\S+) ([^\t]*)\t(.*)$/.exec(e)
    if (!m) continue
    const [, type, mode, owner, p, link] = m as unknown as [string, string, string, string, string, string]
    const what = type === 'f' ? (hash.get(p) ?? '?') : type === 'l' ? `-> ${link}` : ''
    out[p] = `${type} ${mode} ${owner} ${what}`.trim()
  }
  return out
}

export interface Exclusion {
  /** What is left out of the comparison: "section:key" matches, or the predicate says so. */
  pattern?: RegExp
  match?: (d: ManifestDiff, before: Manifest, after: Manifest) => boolean
  /** Why leaving it out does not hide a change the tool should have undone. */
  why: string
}

export interface ManifestDiff {
  section: keyof Manifest
  key: string
  before: string | null
  after: string | null
}

function diffRecord(
  section: keyof Manifest,
  a: Record<string, string>,
  b: Record<string, string>,
  out: ManifestDiff[],
) {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[k] !== b[k]) out.push({ section, key: k, before: a[k] ?? null, after: b[k] ?? null })
  }
}

function diffList(section: keyof Manifest, a: string[], b: string[], out: ManifestDiff[]) {
  const sa = new Set(a)
  const sb = new Set(b)
  for (const k of sa) if (!sb.has(k)) out.push({ section, key: k, before: k, after: null })
  for (const k of sb) if (!sa.has(k)) out.push({ section, key: k, before: null, after: k })
}

/** Every difference between two manifests, minus the excluded keys ("section:key" is matched). */
export function diffManifests(
  a: Manifest,
  b: Manifest,
  exclusions: readonly Exclusion[] = [],
): ManifestDiff[] {
  const out: ManifestDiff[] = []
  diffRecord('packages', a.packages, b.packages, out)
  diffRecord('etc', a.etc, b.etc, out)
  diffRecord('keyrings', a.keyrings, b.keyrings, out)
  diffRecord('units', a.units, b.units, out)
  diffRecord('accounts', a.accounts, b.accounts, out)
  for (const s of ['listening', 'homes'] as const) diffList(s, a[s], b[s], out)
  return out.filter(
    (d) =>
      !exclusions.some(
        (e) => (e.pattern ? e.pattern.test(`${d.section}:${d.key}`) : false) || e.match?.(d, a, b),
      ),
  )
}

/** uid (passwd) or gid (group) of an account in a manifest, from its passwd/group line. */
export function accountId(m: Manifest, kind: 'passwd' | 'group', name: string): number | null {
  const line = m.accounts[`${kind}:${name}`]
  const id = line?.split(':')[2]
  return id === undefined ? null : Number(id)
}

export function formatDiff(diffs: readonly ManifestDiff[]): string {
  return diffs
    .map(
      (d) =>
        `${d.section}:${d.key}\n    before: ${d.before ?? '(absent)'}\n    after:  ${d.after ?? '(absent)'}`,
    )
    .join('\n')
}
