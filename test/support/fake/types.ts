// The fake machine's state as plain data, so it can be persisted, snapshotted and compared.
import type { ExecResult, ProbeResult } from '../../../src/system/port.js'
import type { Accounts } from './accounts.js'
import type { FakeFs, FakeNode } from './fs.js'

export type { FakeNode }

/** What a package ships. A file is its content, or content with a mode and a group name. */
export type ShippedFile = string | { data: string; mode?: number; group?: string }

export interface PackageDef {
  version: string
  depends?: string[]
  /** Installed too unless --no-install-recommends. */
  recommends?: string[]
  /** Files it ships, conffiles included (purge removes them all). */
  files?: Record<string, ShippedFile>
  /** Shorthand for executables it ships: `/usr/bin/x` gets a stub with mode 0755. */
  bin?: string[]
  /** Directories it ships even when empty (polkitd's rules.d). */
  dirs?: string[]
  /** Enabled and started by its postinst, like Debian does. */
  units?: string[]
  /**
   * Template units it ships (`code-server@.service`): nothing is enabled at install; an instance
   * (`code-server@alice.service`) exists for systemctl while the package is installed.
   */
  templates?: string[]
  /** System users (each with a same-named group) and groups its postinst creates; purge deletes them. */
  sysusers?: string[]
  sysgroups?: string[]
  /** update-alternatives entries its postinst registers: name -> [path, priority]. */
  alternatives?: Record<string, [string, number]>
  /** A third-party source file name in /etc/apt/sources.list.d: unknown to apt until it is there. */
  source?: string
  /**
   * What its postinst writes though the package does not ship it (dpkg does not list it, so purge
   * leaves it): a vendor's apt source and keyring, a unit's *.wants link. `unlessDebconf`: skipped
   * when debconf holds that answer ("code/add-microsoft-repo false").
   */
  postinst?: {
    writes?: Record<string, ShippedFile>
    links?: Record<string, string>
    unlessDebconf?: { question: string; value: string }
  }
  /** Paths its postrm removes on purge though it does not ship them (locales: /etc/default/locale). */
  purgeRemoves?: string[]
  /**
   * A directory its postrm empties on purge (docker.io: /var/lib/docker, every volume in it), but
   * only when `whileExecutable`, a file it ships, is executable at removal (its prerm's condition).
   */
  purgeEmpties?: { dir: string; whileExecutable: string }
  /** Its postrm leaves the groups its postinst made (docker.io's docker group). */
  purgeKeepsGroups?: boolean
  essential?: boolean
}

export interface InstalledPackage {
  version: string
  /** Installed only as a dependency: `autoremove` may take it. */
  auto: boolean
  /** The definition it was installed from (a local .deb has no universe entry). */
  def: PackageDef
  createdUsers: string[]
  createdGroups: string[]
}

export interface ServiceState {
  enabled: boolean
  active: boolean
  /** A transient timer of `systemd-run --on-active`: the argv its service runs when it elapses. */
  transient?: string[]
}

export interface ExecLogEntry {
  argv: string[]
  /** '[redacted]' when the command had stdin: it may carry passwords. */
  stdin?: string
  exitCode: number
}

export interface FakeOptions {
  /** false: like a chroot, systemctl start/stop fail; enable/disable still work. */
  systemd: boolean
  /** What systemd-detect-virt answers: none, kvm, systemd-nspawn, lxc... */
  virt: string
  arch: string
  /** What df reports for every path. */
  disk: { size: number; avail: number }
  /** swapon fails with EPERM though no container is detected (a virtualisation that forbids swap). */
  swapRefused?: boolean
}

export interface FakeState {
  options: FakeOptions
  files: Map<string, FakeNode>
  universe: Map<string, PackageDef>
  installed: Map<string, InstalledPackage>
  services: Map<string, ServiceState>
  web: Map<string, Buffer>
  /** "pkg question" -> type and value, from debconf-set-selections. */
  debconf: Map<string, { type: string; value: string }>
  /** Source files in sources.list.d when apt-get update last ran; null: never. */
  aptUpdatedSources: string[] | null
  aptUpdates: number
  /** Answers of probe(url); the entry '*' answers every other URL. */
  probes: Map<string, ProbeResult>
  log: ExecLogEntry[]
}

export const CONTAINER_VIRTS = ['systemd-nspawn', 'lxc', 'lxc-libvirt', 'docker', 'podman', 'openvz', 'wsl']

export function isContainer(opts: FakeOptions): boolean {
  return CONTAINER_VIRTS.includes(opts.virt)
}

/** What a command handler returns; the dispatcher turns it into an ExecResult or an error. */
export type Out = ExecResult

export const ok = (stdout = '', stderr = ''): Out => ({ exitCode: 0, stdout, stderr })
export const fail = (exitCode: number, stderr: string, stdout = ''): Out => ({ exitCode, stdout, stderr })

/** Thrown by a handler for argv it does not emulate: always a CommandError, even with allowFailure. */
export class Unsupported extends Error {}

/** What a command handler sees: the machine, its stdin, and who runs it (runuser). */
export interface Ctx {
  state: FakeState
  fs: FakeFs
  accounts: Accounts
  stdin: string | undefined
  user: string
  /** ExecOptions.env of the command (on top of the fixed environment); runuser keeps it. */
  env: Readonly<Record<string, string>>
  /** Runs another argv on the same machine (runuser, sudo), as `user`. */
  run(argv: readonly string[], user: string): Out
}

export type Handler = (ctx: Ctx, args: string[]) => Out
