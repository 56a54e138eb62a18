// Reads of /etc/passwd, /etc/group and /etc/shadow shared by the account step kinds and the undo
// executor. Files, not `getent`: we manage local accounts only, and a read has no side effects.
import type { System } from '../system/port.js'

export interface PasswdEntry {
  name: string
  uid: number
  gid: number
  gecos: string
  home: string
  shell: string
}

export interface GroupEntry {
  name: string
  gid: number
  members: string[]
}

export interface ShadowEntry {
  name: string
  /** The hash field: '!' / '*' / '' mean no usable password, '!' + hash means locked. */
  hash: string
  lastChange: string
}

/** The fields of each entry of a colon-separated account file; blank and comment lines left out. */
export const accountRows = (text: string): string[][] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'))

export const parsePasswd = (text: string): PasswdEntry[] =>
  accountRows(text).map((f) => ({
    name: f[0] ?? '',
    uid: Number(f[2]),
    gid: Number(f[3]),
    gecos: f[4] ?? '',
    home: f[5] ?? '',
    shell: f[6] ?? '',
  }))

export const parseGroups = (text: string): GroupEntry[] =>
  accountRows(text).map((f) => ({
    name: f[0] ?? '',
    gid: Number(f[2]),
    members: (f[3] ?? '').split(',').filter((m) => m !== ''),
  }))

const readText = async (sys: System, path: string): Promise<string> =>
  (await sys.readFile(path))?.toString('utf8') ?? ''

export async function passwdEntry(sys: System, name: string): Promise<PasswdEntry | null> {
  return parsePasswd(await readText(sys, '/etc/passwd')).find((u) => u.name === name) ?? null
}

export async function groupEntry(sys: System, name: string): Promise<GroupEntry | null> {
  return parseGroups(await readText(sys, '/etc/group')).find((g) => g.name === name) ?? null
}

export async function shadowEntry(sys: System, name: string): Promise<ShadowEntry | null> {
  const r = accountRows(await readText(sys, '/etc/shadow')).find((f) => f[0] === name)
  if (!r) return null
  return { name, hash: r[1] ?? '', lastChange: r[2] ?? '' }
}

/** A hash someone can log in with: not empty, not '*' or '!' (unset) and not locked with '!'. */
export const usableHash = (hash: string): boolean =>
  hash !== '' && !hash.startsWith('!') && !hash.startsWith('*')

/** The user's supplementary groups plus the name of their primary group. */
export async function groupsOf(sys: System, user: string): Promise<string[]> {
  const pw = await passwdEntry(sys, user)
  return parseGroups(await readText(sys, '/etc/group'))
    .filter((g) => g.members.includes(user) || g.gid === pw?.gid)
    .map((g) => g.name)
}
