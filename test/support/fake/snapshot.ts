// The fake machine as plain data: a snapshot to compare two states with toEqual ("rollback put
// everything back"), and the full JSON form that crash tests persist between processes.
import { createHash } from 'node:crypto'
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { ProbeResult } from '../../../src/system/port.js'
import { Accounts } from './accounts.js'
import { FakeFs } from './fs.js'
import type {
  ExecLogEntry,
  FakeNode,
  FakeOptions,
  FakeState,
  InstalledPackage,
  PackageDef,
  ServiceState,
} from './types.js'

/** apt's caches and the kernel's runtime files: not part of what a rollback restores. */
const CACHE_PREFIXES = ['/var/lib/apt/lists/', '/var/cache/apt/', '/proc/']

export interface SnapshotFile {
  kind: FakeNode['kind']
  mode: number
  uid: number
  gid: number
  sha256?: string
  target?: string
}

export interface FakeSnapshot {
  files: Record<string, SnapshotFile>
  packages: Record<string, string>
  services: Record<string, ServiceState>
  users: Record<string, { uid: number; gid: number; home: string; shell: string; groups: string[] }>
  groups: Record<string, { gid: number; members: string[] }>
  caches?: {
    aptLists: Record<string, string>
    aptUpdatedSources: string[] | null
    debconf: Record<string, string>
    sysctl: Record<string, string>
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const sorted = <T>(entries: Iterable<[string, T]>): Record<string, T> =>
  Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

export function snapshot(state: FakeState, includeCaches: boolean): FakeSnapshot {
  const isCache = (p: string) => CACHE_PREFIXES.some((c) => p.startsWith(c))
  const files = sorted(
    [...state.files.entries()]
      .filter(([p]) => !isCache(p))
      .map(([p, n]): [string, SnapshotFile] => {
        const f: SnapshotFile = { kind: n.kind, mode: n.mode, uid: n.uid, gid: n.gid }
        if (n.kind === 'file') f.sha256 = sha(n.data)
        if (n.kind === 'symlink') f.target = n.target ?? ''
        return [p, f]
      }),
  )
  const acc = new Accounts(new FakeFs(state.files))
  const snap: FakeSnapshot = {
    files,
    packages: sorted([...state.installed.entries()].map(([n, r]) => [n, r.version])),
    services: sorted([...state.services.entries()].map(([u, s]) => [u, { ...s }])),
    users: sorted(
      acc
        .passwd()
        .map((u) => [
          u.name,
          { uid: u.uid, gid: u.gid, home: u.home, shell: u.shell, groups: acc.groupsOf(u.name) },
        ]),
    ),
    groups: sorted(acc.groups().map((g) => [g.name, { gid: g.gid, members: [...g.members].sort() }])),
  }
  if (includeCaches) {
    snap.caches = {
      aptLists: sorted(
        [...state.files.entries()]
          .filter(([p, n]) => isCache(p) && !p.startsWith('/proc/') && n.kind === 'file')
          .map(([p, n]) => [p, sha(n.data)]),
      ),
      aptUpdatedSources: state.aptUpdatedSources,
      debconf: sorted([...state.debconf.entries()].map(([k, v]) => [k, `${v.type} ${v.value}`])),
      sysctl: sorted(
        [...state.files.entries()]
          .filter(([p, n]) => p.startsWith('/proc/sys/') && n.kind === 'file')
          .map(([p, n]) => [p.slice(10).replace(/\//g, '.'), n.data.toString('utf8').trim()]),
      ),
    }
  }
  return snap
}

export interface FakeJSON {
  format: 'vps-provision-fake/1'
  options: FakeOptions
  files: [string, Omit<FakeNode, 'data'> & { data: string }][]
  universe: [string, PackageDef][]
  installed: [string, InstalledPackage][]
  services: [string, ServiceState][]
  web: [string, string][]
  debconf: [string, { type: string; value: string }][]
  aptUpdatedSources: string[] | null
  aptUpdates: number
  probes: [string, ProbeResult][]
  log: ExecLogEntry[]
}

export function toJSON(state: FakeState): FakeJSON {
  return {
    format: 'vps-provision-fake/1',
    options: { ...state.options },
    files: [...state.files.entries()].map(([p, n]) => [p, { ...n, data: n.data.toString('base64') }]),
    universe: [...state.universe.entries()],
    installed: [...state.installed.entries()],
    services: [...state.services.entries()],
    web: [...state.web.entries()].map(([u, b]) => [u, b.toString('base64')]),
    debconf: [...state.debconf.entries()],
    aptUpdatedSources: state.aptUpdatedSources,
    aptUpdates: state.aptUpdates,
    probes: [...state.probes.entries()],
    log: state.log,
  }
}

export function fromJSON(json: FakeJSON): FakeState {
  if (json.format !== 'vps-provision-fake/1') throw new Error('not a saved fake system')
  const copy = structuredClone(json)
  return {
    options: copy.options,
    files: new Map(copy.files.map(([p, n]) => [p, { ...n, data: Buffer.from(n.data, 'base64') }])),
    universe: new Map(copy.universe),
    installed: new Map(copy.installed),
    services: new Map(copy.services),
    web: new Map(copy.web.map(([u, b]) => [u, Buffer.from(b, 'base64')])),
    debconf: new Map(copy.debconf),
    aptUpdatedSources: copy.aptUpdatedSources,
    aptUpdates: copy.aptUpdates,
    probes: new Map(copy.probes),
    log: copy.log,
  }
}

/** temp file, fsync, rename, fsync(dir): a SIGKILL leaves the old state or the new one. */
export function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
  const dir = openSync(dirname(file), 'r')
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
}
