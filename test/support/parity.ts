// What the parity test (test/integration/parity.test.ts) knows about the argv the phases send: which
// are read-only queries worth replaying on a real trixie root, the form of each output line the
// code parses, and the src/facts parser that must make sense of it. Every argv the phase contract
// run sends must be classified here, as a query or as something not replayed (with the reason).

import { gatherFacts, inChroot } from '../../src/facts/environment.js'
import { diskSpace, tcpListeners } from '../../src/facts/machine.js'
import { ownedPaths } from '../../src/facts/maintainer-files.js'
import { DPKG_QUERY_FORMAT, dpkgQuery, parseSimulatedInstalls } from '../../src/facts/packages.js'
import { sshdPorts } from '../../src/facts/sshd.js'
import { unitState } from '../../src/facts/systemd.js'
import { snapshotTree } from '../../src/facts/tree.js'
import { CommandError, type ExecResult, type System } from '../../src/system/port.js'

export interface QueryKind {
  name: string
  matches(argv: readonly string[]): boolean
  /** Why a chroot cannot answer this query truthfully; it is then skipped, loudly. */
  chrootCannot?: string
  /** The lines the code reads (default: every non-empty line of stdout). */
  parsed?: RegExp
  /** The form every parsed line has, on the fake and on Debian. */
  form: RegExp
  /** Why no parsed line at all is fine on a fresh root (default: at least one per side). */
  mayBeEmpty?: string
  /** A query of the same kind that a fresh root has something to say about, asked of it besides. */
  sample?: readonly string[]
  /** Runs the facts parser on a machine answering `argv`; returns what is malformed (empty: fine). */
  check(sys: System, argv: readonly string[]): Promise<string[]>
}

const is =
  (...head: string[]) =>
  (argv: readonly string[]) =>
    head.every((h, i) => argv[i] === h)
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/
const unless = (ok: boolean, problem: string): string[] => (ok ? [] : [problem])
/** A line of `dpkg-query -S` that names owners (the fake's and Debian's, see fake-system.test.ts). */
export const FILE_OWNER_LINE =
  /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(, [a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?)*: \/\S.*$/

export const QUERY_KINDS: readonly QueryKind[] = [
  {
    name: 'virtualization',
    matches: is('systemd-detect-virt'),
    form: /^[a-z0-9-]+$/,
    check: async (sys) => {
      const { virtualization } = await gatherFacts(sys)
      return unless(/^[a-z0-9-]+$/.test(virtualization), `virtualization ${virtualization}`)
    },
  },
  {
    name: 'chroot probe',
    matches: is('stat', '-L', '-c', '%d:%i'),
    form: /^\d+:\d+$/,
    // In a chroot, /proc/1/root (the host's /) may be out of reach: one line and a failure, which
    // inChroot reads as "a chroot", the safe answer.
    check: async (sys, argv) => {
      const r = await sys.exec(argv, { allowFailure: true })
      const lines = r.stdout.trim().split('\n').length
      return unless(
        (r.exitCode !== 0 || lines === 2) && typeof (await inChroot(sys)) === 'boolean',
        `${lines} lines`,
      )
    },
  },
  {
    name: 'architecture',
    matches: is('dpkg', '--print-architecture'),
    form: /^[a-z0-9]+$/,
    check: async (sys) => unless((await gatherFacts(sys)).architecture !== 'unknown', 'an architecture'),
  },
  {
    name: 'disk space',
    matches: is('df', '-B1', '--output=target,size,avail'),
    form: /^(Mounted on\s+1B-blocks\s+Avail|\/\S*\s+\d+\s+\d+)$/,
    check: async (sys, argv) => {
      const space = await diskSpace(sys, argv.at(-1) ?? '/')
      return unless(!!space && space.sizeBytes > 0 && space.availBytes >= 0, `df: ${JSON.stringify(space)}`)
    },
  },
  {
    name: 'user id',
    matches: is('id', '-u'),
    form: /^\d+$/,
    check: async (sys, argv) => {
      const uid = Number((await sys.exec(argv, { allowFailure: true })).stdout.trim())
      return unless(uid === 0, `uid ${uid} (we run as root)`)
    },
  },
  {
    name: 'TCP listeners',
    matches: is('ss', '-Hltnp'),
    form: /^LISTEN\s+\d+\s+\d+\s+\S+:(\d+|\*)\s+\S+:\*\s*(users:\(\(".+",pid=\d+,fd=\d+\)(,\(".+",pid=\d+,fd=\d+\))*\))?\s*$/,
    // ss pads the process column with trailing blanks; tcpListeners trims each line.
    mayBeEmpty: 'a chroot sees the host network, where nothing may listen',
    check: async (sys) =>
      (await tcpListeners(sys))
        .filter((l) => !Number.isInteger(l.port) || l.port <= 0 || l.process === '')
        .map((l) => `listener ${JSON.stringify(l)}`),
  },
  {
    name: 'dpkg status',
    matches: is('dpkg-query', '-W', DPKG_QUERY_FORMAT, '--'),
    form: /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?\t[uihrp][ncUHFWti][ R]\t\S*$/,
    check: async (sys, argv) =>
      [...(await dpkgQuery(sys, argv.slice(4)))]
        .filter(
          ([name, s]) => !PACKAGE.test(name) || s.status.length !== 3 || (s.status === 'ii ' && !s.version),
        )
        .map(([name, s]) => `package ${name}: ${JSON.stringify(s)}`),
  },
  {
    name: 'simulated install',
    matches: (argv) => argv[0] === 'apt-get' && argv.includes('install') && argv.includes('-s'),
    parsed: /^Inst /,
    form: /^Inst \S+ (\[\S+\] )?\(\S+ .+ \[[a-z0-9]+\]\)( \[\])?$/,
    check: async (sys, argv) => {
      const names = parseSimulatedInstalls((await sys.exec(argv, { allowFailure: true })).stdout)
      return names.filter((n) => !PACKAGE.test(n)).map((n) => `package ${n}`)
    },
  },
  {
    name: 'sshd configuration',
    matches: is('sshd', '-T'),
    form: /^[a-z0-9]+ \S.*$/,
    check: async (sys) => {
      const ports = await sshdPorts(sys)
      return ports.filter((p) => !Number.isInteger(p) || p <= 0).map((p) => `sshd port ${p}`)
    },
  },
  {
    name: 'unit enabled',
    matches: is('systemctl', 'is-enabled'),
    form: /^[a-z-]+$/,
    check: async (sys, argv) => {
      const { enabled } = await unitState(sys, argv[2] ?? '')
      return unless(/^[a-z-]+$/.test(enabled), `is-enabled ${enabled}`)
    },
  },
  {
    name: 'unit active',
    matches: is('systemctl', 'is-active'),
    chrootCannot: 'is-active asks the running systemd, and a chroot has no PID 1 of its own',
    form: /^[a-z-]+$/,
    check: async () => [],
  },
  {
    name: 'firewall state',
    matches: (argv) => argv[0] === 'ufw' && ['status', 'show'].includes(argv[1] ?? ''),
    chrootCannot: "ufw reads the kernel's netfilter tables, and a chroot shares the host's kernel",
    form: /^.*$/,
    check: async () => [],
  },
  {
    name: 'tree record',
    matches: is('find'),
    // src/facts/tree.ts: six NUL-terminated fields an entry, so the whole answer is one "line"
    // (a path with a newline in it would split it; /etc has none). /etc before a package
    // transaction, and the places maintainer scripts write (facts/maintainer-files.ts) after it.
    form: /^(?:[a-zA-Z]\0[0-7]+\0\d+\0\d+\0[^\0]*\0\/[^\0]*\0)+$/,
    // The replay answers no file reads: directories and symlinks are what the parser must find. A
    // watched place may be empty (/etc/apt/preferences.d) or, on another machine, missing.
    check: async (sys, argv) => {
      const root = argv[1] ?? '/etc'
      if ((await sys.exec(argv, { allowFailure: true })).exitCode !== 0) return []
      const { paths } = await snapshotTree(sys, root)
      return unless(
        (root !== '/etc' || paths.length > 0) && paths.every((p) => p.path.startsWith(`${root}/`)),
        `${paths.length} paths, or one outside ${root}`,
      )
    },
  },
  {
    name: 'file owners',
    matches: is('dpkg-query', '-S'),
    // "owner[, owner]: /path" is what src/facts/maintainer-files.ts reads; a path no package lists
    // is only on stderr ("no path found matching pattern"), diversions are lines it skips.
    parsed: /^(?!diversion by |local diversion )/,
    form: FILE_OWNER_LINE,
    mayBeEmpty: "what a run's maintainer scripts write belongs to no package: dpkg answers on stderr",
    sample: ['dpkg-query', '-S', '/usr/share/keyrings', '/etc/apt/sources.list.d', '/no/such/path'],
    check: async (sys, argv) => {
      const owned = await ownedPaths(
        sys,
        argv.slice(2).map((a) => a.replace(/\\(.)/g, '$1')),
      )
      return [...owned].filter((p) => !argv.includes(p)).map((p) => `owner of ${p}, which was not asked`)
    },
  },
  {
    name: 'debconf answers',
    matches: is('debconf-show'),
    // The parser of src/steps/debconf.ts: "* question: value" (seen) or "  question: value".
    form: /^[* ] [^:\s]+:( .*)?$/,
    sample: ['debconf-show', 'openssh-server'],
    check: async () => [],
  },
  {
    name: 'terminal alternative',
    matches: is('update-alternatives', '--query'),
    // phases/terminal-setup.ts reads the Value line only.
    parsed: /^Value:/,
    form: /^Value: \/\S+$/,
    sample: ['update-alternatives', '--query', 'awk'],
    check: async () => [],
  },
]

/** Argv the phases send that the test does not replay, each with its reason. */
export const NOT_REPLAYED: readonly { matches: (argv: readonly string[]) => boolean; why: string }[] = [
  { matches: (a) => a[0] === 'apt-get' && !a.includes('-s'), why: 'apt-get update/install change the root' },
  {
    matches: (a) => ['groupadd', 'useradd', 'usermod', 'chpasswd', 'chown', 'chmod'].includes(a[0] ?? ''),
    why: 'account and file changes',
  },
  {
    matches: (a) => a[0] === 'rm' || a[0] === 'mv' || (a[0] === 'tar' && a.includes('--extract')),
    why: 'unpacks and moves a tarball the run downloads first',
  },
  { matches: (a) => a[0] === 'ufw', why: "ufw changes the kernel's firewall, which a chroot shares" },
  { matches: is('systemctl'), why: 'systemctl restart/enable change units' },
  {
    matches: is('systemd-run'),
    why: "arms the lock-out insurance's revert timer, a unit of the running systemd",
  },
  { matches: is('openssl', 'req'), why: 'writes the RDP key pair' },
  { matches: is('debconf-set-selections'), why: 'changes the debconf database' },
  { matches: is('sysctl'), why: "sysctl -p writes the host's kernel settings" },
  {
    matches: (a) => ['fallocate', 'dd', 'mkswap', 'swapon', 'swapoff'].includes(a[0] ?? ''),
    why: "the swap file (only on a machine below 4 GiB): swapon and swapoff change the kernel's swap, which a chroot shares",
  },
  { matches: is('visudo', '-cf'), why: 'validates a drop-in the run writes first' },
  { matches: is('runuser'), why: 'runs as the developer the run creates first' },
  {
    matches: is('dpkg', '--audit'),
    why: 'only its emptiness is read: a finished dpkg answers nothing on the fake and on Debian alike',
  },
  { matches: is('desktop-file-validate'), why: 'validates files the IDE packages install first' },
  {
    matches: is('fail2ban-client', 'status'),
    why: 'asks the running fail2ban server over its socket, which a root without its own systemd never has; test/e2e/fail2ban.test.ts reads the real answer on the booted trixie',
  },
]

/** Installs a fresh root cannot simulate: a vendor's packages, the .deb the run downloads. */
export function needsTheRun(argv: readonly string[]): string | null {
  if (argv[0] !== 'apt-get') return null
  if (argv.some((a) => a.startsWith('/var/cache/vps-provision/'))) return 'a .deb the run downloads first'
  if (argv.includes('code') || argv.includes('antigravity'))
    return "a vendor's packages, from apt sources the run adds first"
  return null
}

export const argvKey = (argv: readonly string[]): string => JSON.stringify(argv)

/** A machine that only answers the commands it has answers for: what the facts parsers read. */
export function answering(answers: ReadonlyMap<string, ExecResult>): System {
  const refuse = async (): Promise<never> => {
    throw new Error('Unable to change a replayed machine: it only answers recorded commands')
  }
  return {
    name: 'replay',
    async exec(argv, opts = {}) {
      const r = answers.get(argvKey(argv)) ?? { exitCode: 127, stdout: '', stderr: 'not replayed' }
      if (r.exitCode !== 0 && !opts.allowFailure) throw new CommandError(argv, r)
      return r
    },
    stat: async () => null,
    readFile: async () => null,
    readDir: async () => [],
    writeFile: refuse,
    removeFile: refuse,
    mkdir: refuse,
    rmdir: refuse,
    download: refuse,
    probe: async () => ({ status: null, date: null, error: 'no network in a replay' }),
  }
}
