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

async function rows(sys: System, path: string): Promise<string[][]> {
  const data = await sys.readFile(path)
  if (!data) return []
  return data
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'))
}

export async function passwdEntry(sys: System, name: string): Promise<PasswdEntry | null> {
  const r = (await rows(sys, '/etc/passwd')).find((f) => f[0] === name)
  if (!r) return null
  return {
    name,
    uid: Number(r[2]),
    gid: Number(r[3]),
    gecos: r[4] ?? '',
    home: r[5] ?? '',
    shell: r[6] ?? '',
  }
}

export async function groupEntry(sys: System, name: string): Promise<GroupEntry | null> {
  const r = (await rows(sys, '/etc/group')).find((f) => f[0] === name)
  if (!r) return null
  return { name, gid: Number(r[2]), members: (r[3] ?? '').split(',').filter((m) => m !== '') }
}

export async function shadowEntry(sys: System, name: string): Promise<ShadowEntry | null> {
  const r = (await rows(sys, '/etc/shadow')).find((f) => f[0] === name)
  if (!r) return null
  return { name, hash: r[1] ?? '', lastChange: r[2] ?? '' }
}

/** A hash someone can log in with: not empty, not '*' or '!' (unset) and not locked with '!'. */
export const usableHash = (hash: string): boolean =>
  hash !== '' && !hash.startsWith('!') && !hash.startsWith('*')

/** The user's supplementary groups plus the name of their primary group. */
export async function groupsOf(sys: System, user: string): Promise<string[]> {
  const pw = await passwdEntry(sys, user)
  const out: string[] = []
  for (const r of await rows(sys, '/etc/group')) {
    const members = (r[3] ?? '').split(',')
    if (members.includes(user) || (pw && Number(r[2]) === pw.gid)) out.push(r[0] ?? '')
  }
  return out
}
