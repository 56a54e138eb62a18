// A manifest of a lab root, taken INSIDE the chroot by the root's own node (the script arrives on
// stdin, so taking a manifest writes nothing into the root), and the comparison a rollback must pass.
//
// What it records:
//   packages  `dpkg-query -W`: name:arch, version and status of every package dpkg knows
//   files     every entry under WALKED: type, mode, owner, and sha256 (files) or target (symlinks)
//   accounts  the lines of passwd/group, and of shadow/gshadow only the name and a short hash of
//             the line (a failing diff must never print a password hash into a CI log)

import type { Chroot } from '../../lab/chroot.js'

/** Walked recursively: configuration, homes, apt sources and keyrings, what an admin installs by hand. */
export const WALKED = ['/etc', '/root', '/home', '/opt', '/usr/local', '/usr/share/keyrings'] as const

export const ACCOUNT_FILES = ['passwd', 'group', 'shadow', 'gshadow'] as const
export type AccountFile = (typeof ACCOUNT_FILES)[number]

export interface AccountLine {
  name: string
  /** uid (passwd) or gid (group); null for shadow/gshadow. */
  id: number | null
  /** Login shell (passwd only). */
  shell: string | null
  /** The whole line for passwd/group; `sha256:<16 hex>` of the line for shadow/gshadow. */
  line: string
}

export interface Manifest {
  /** `name:arch<TAB>version<TAB>status`, sorted. */
  packages: string[]
  /** Absolute path -> `f 0644 0:0 <sha256>` | `d 0755 0:0` | `l -> <target>` | `o 0644 0:0`. */
  files: Record<string, string>
  accounts: Record<AccountFile, AccountLine[]>
}

const SCRIPT = String.raw`
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { execFileSync } = require('node:child_process')
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex')
const files = {}
const walk = (dir) => {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name)
    const st = fs.lstatSync(p)
    const meta = (st.mode & 0o7777).toString(8).padStart(4, '0') + ' ' + st.uid + ':' + st.gid
    if (st.isSymbolicLink()) files[p] = 'l -> ' + fs.readlinkSync(p)
    else if (st.isDirectory()) { files[p] = 'd ' + meta; walk(p) }
    else if (st.isFile()) files[p] = 'f ' + meta + ' ' + sha(fs.readFileSync(p))
    else files[p] = 'o ' + meta
  }
}
for (const dir of JSON.parse(process.env.WALKED)) {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false })
  if (!st) continue
  files[dir] = st.isDirectory() ? 'd ' + (st.mode & 0o7777).toString(8).padStart(4, '0') + ' ' + st.uid + ':' + st.gid : 'not a directory'
  if (st.isDirectory()) walk(dir)
}
const packages = execFileSync('dpkg-query', ['-W', '-f=\${Package}:\${Architecture}\t\${Version}\t\${db:Status-Abbrev}\n'], { encoding: 'utf8' })
  .split('\n').filter((l) => l !== '').sort()
const accounts = {}
for (const f of ['passwd', 'group', 'shadow', 'gshadow']) {
  const secret = f === 'shadow' || f === 'gshadow'
  accounts[f] = fs.readFileSync('/etc/' + f, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => {
    const x = l.split(':')
    return { name: x[0], id: secret ? null : Number(x[2]), shell: f === 'passwd' ? x[6] : null, line: secret ? 'sha256:' + sha(l).slice(0, 16) : l }
  })
}
process.stdout.write(JSON.stringify({ packages, files, accounts }))
`

export async function takeManifest(ch: Chroot): Promise<Manifest> {
  const r = await ch.exec(['node', '-'], {
    stdin: SCRIPT,
    env: { WALKED: JSON.stringify(WALKED) },
    timeoutMs: 5 * 60_000,
  })
  return JSON.parse(r.stdout) as Manifest
}

export interface Allowances {
  /** Paths that may exist after but not before, with the entry type they must have, and why. */
  mayAppear: Record<string, { type: 'f' | 'd' | 'l'; why: string }>
  /** Paths (present before) whose content, mode or owner may differ after, and why. */
  mayChange: Record<string, string>
  /**
   * Why an account (passwd) or group (group) present after but not before may stay, or null. Its
   * shadow/gshadow entry then may stay too; every other line of the four files must be as before.
   */
  mayKeepAccount: (file: 'passwd' | 'group', line: AccountLine) => string | null
}

/** Where `after` differs from `before` beyond `allow`: one line per difference (empty: equal). */
export function compareManifests(
  before: Manifest,
  after: Manifest,
  allow: Allowances,
): { problems: string[]; kept: string[] } {
  const problems: string[] = []
  const kept: string[] = []

  const pkgBefore = new Set(before.packages)
  const pkgAfter = new Set(after.packages)
  for (const p of after.packages) if (!pkgBefore.has(p)) problems.push(`package left or changed: ${p}`)
  for (const p of before.packages) if (!pkgAfter.has(p)) problems.push(`package gone or changed: ${p}`)

  const accountFiles = new Set(ACCOUNT_FILES.map((f) => `/etc/${f}`))
  // The account files' content is compared line by line below; here only their mode and owner.
  const comparable = (p: string, desc: string) =>
    accountFiles.has(p) ? desc.replace(/ [0-9a-f]{64}$/, '') : desc
  for (const [p, desc] of Object.entries(after.files)) {
    const was = before.files[p]
    if (was === undefined) {
      const ok = allow.mayAppear[p]
      if (ok && desc.startsWith(`${ok.type} `)) kept.push(`${p} (${desc.split(' ')[0]}): ${ok.why}`)
      else problems.push(`new: ${p} ${desc}`)
    } else if (comparable(p, was) !== comparable(p, desc)) {
      if (allow.mayChange[p]) kept.push(`${p} changed: ${allow.mayChange[p]}`)
      else problems.push(`changed: ${p}: ${was} -> ${desc}`)
    }
  }
  for (const [p, desc] of Object.entries(before.files)) {
    if (after.files[p] === undefined && !allow.mayChange[p]) problems.push(`gone: ${p} ${desc}`)
  }

  const residues: Record<AccountFile, Set<string>> = {
    passwd: new Set(),
    group: new Set(),
    shadow: new Set(),
    gshadow: new Set(),
  }
  const keptIn = { passwd: null, group: null, shadow: 'passwd', gshadow: 'group' } as const
  for (const f of ACCOUNT_FILES) {
    const names = new Set(before.accounts[f].map((l) => l.name))
    const residue = residues[f]
    for (const l of after.accounts[f]) {
      if (names.has(l.name)) continue
      const base = keptIn[f]
      const why =
        base === null
          ? allow.mayKeepAccount(f as 'passwd' | 'group', l)
          : residues[base].has(l.name)
            ? `entry of ${l.name}, kept in /etc/${base}`
            : null
      if (why) {
        residue.add(l.name)
        kept.push(`/etc/${f}: ${l.name}: ${why}`)
      } else problems.push(`/etc/${f}: ${l.name} was added and not removed`)
    }
    const rest = after.accounts[f].filter((l) => !residue.has(l.name)).map((l) => l.line)
    const was = before.accounts[f].map((l) => l.line)
    if (rest.join('\n') !== was.join('\n')) {
      const gone = was.filter((l) => !rest.includes(l))
      const added = rest.filter((l) => !was.includes(l))
      problems.push(
        `/etc/${f} differs beyond kept system accounts: before-only ${JSON.stringify(gone)}, after-only ${JSON.stringify(added)}${gone.length + added.length === 0 ? ' (order)' : ''}`,
      )
    }
  }
  return { problems, kept }
}
