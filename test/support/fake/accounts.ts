// Users and groups live as text in /etc/passwd, /etc/group and /etc/shadow of the fake filesystem,
// so code that reads those files directly sees the same thing on both systems.
import {
  accountRows,
  type GroupEntry,
  type PasswdEntry,
  parseGroups,
  parsePasswd,
} from '../../../src/facts/accounts.js'
import type { FakeFs } from './fs.js'

/** "Today" in /etc/shadow (days since 1970): fixed, so runs are reproducible. */
export const FIXED_DAY = 20300
const SHADOW_GID = 42

export class Accounts {
  constructor(private readonly fs: FakeFs) {}

  passwd(): PasswdEntry[] {
    return parsePasswd(this.fs.text('/etc/passwd') ?? '')
  }

  groups(): GroupEntry[] {
    return parseGroups(this.fs.text('/etc/group') ?? '')
  }

  shadow(): string[][] {
    return accountRows(this.fs.text('/etc/shadow') ?? '')
  }

  savePasswd(list: PasswdEntry[]): void {
    const text = list.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}\n`).join('')
    this.fs.write('/etc/passwd', text, { mode: 0o644, uid: 0, gid: 0 })
  }

  saveGroups(list: GroupEntry[]): void {
    const text = list.map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}\n`).join('')
    this.fs.write('/etc/group', text, { mode: 0o644, uid: 0, gid: 0 })
  }

  saveShadow(list: string[][]): void {
    const text = list.map((f) => `${f.join(':')}\n`).join('')
    this.fs.write('/etc/shadow', text, { mode: 0o640, uid: 0, gid: SHADOW_GID })
  }

  user(name: string): PasswdEntry | undefined {
    return this.passwd().find((u) => u.name === name)
  }

  group(name: string): GroupEntry | undefined {
    return this.groups().find((g) => g.name === name)
  }

  /** Primary group first, then supplementary groups in /etc/group order (what `id -nG` prints). */
  groupsOf(name: string): string[] {
    const u = this.user(name)
    if (!u) return []
    const groups = this.groups()
    const primary = groups.find((g) => g.gid === u.gid)?.name ?? String(u.gid)
    const extra = groups.filter((g) => g.members.includes(name) && g.name !== primary).map((g) => g.name)
    return [primary, ...extra]
  }

  /** Regular ids count up from 1000; system ids count down from 999, as useradd/groupadd do. */
  freeUid(system: boolean, wanted?: number): number {
    const used = new Set(this.passwd().map((u) => u.uid))
    return pick(used, system, wanted)
  }

  freeGid(system: boolean, wanted?: number): number {
    const used = new Set(this.groups().map((g) => g.gid))
    return pick(used, system, wanted)
  }

  addGroup(name: string, gid: number): void {
    this.saveGroups([...this.groups(), { name, gid, members: [] }])
  }

  addUser(entry: PasswdEntry): void {
    this.savePasswd([...this.passwd(), entry])
    this.saveShadow([...this.shadow(), [entry.name, '!', String(FIXED_DAY), '0', '99999', '7', '', '', '']])
  }

  /** A system account like a postinst's `adduser --system --group` creates (ids from 100 up). */
  addSystemUser(name: string): void {
    const used = new Set([...this.passwd().map((u) => u.uid), ...this.groups().map((g) => g.gid)])
    let id = 100
    while (used.has(id)) id++
    if (!this.group(name)) this.addGroup(name, id)
    const gid = this.group(name)?.gid ?? id
    this.addUser({ name, uid: id, gid, gecos: '', home: '/nonexistent', shell: '/usr/sbin/nologin' })
  }

  removeUser(name: string): void {
    this.savePasswd(this.passwd().filter((u) => u.name !== name))
    this.saveShadow(this.shadow().filter((f) => f[0] !== name))
    this.saveGroups(this.groups().map((g) => ({ ...g, members: g.members.filter((m) => m !== name) })))
  }

  removeGroup(name: string): void {
    this.saveGroups(this.groups().filter((g) => g.name !== name))
  }
}

function pick(used: Set<number>, system: boolean, wanted?: number): number {
  if (wanted !== undefined && !used.has(wanted)) return wanted
  if (system) {
    for (let id = 999; id >= 100; id--) if (!used.has(id)) return id
  }
  let id = 1000
  while (used.has(id)) id++
  return id
}
