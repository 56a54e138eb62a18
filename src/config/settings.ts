// The settings that a flag and an environment variable can set as well as the file: each one is
// declared here once, and the commander options (cli/program.ts), the environment and flag layers
// (cli/config-layers.ts), the zod schema (schema.ts), docs/configuration.md and the bash completion
// are all built from this table. zod is only a type here: --help must not load it (docs/benchmarks.md).
import type { z } from 'zod'
import { IDE_IDS, PHASE_NAMES } from '../model/names.js'
import { parseBool, parseIdes, parsePhases, parseWholeNumber } from './parse.js'
import { isReservedUsername } from './usernames.js'

export const DEFAULT_CONFIG_FILE = '/etc/vps-provision/config.yaml'
export const DEFAULT_USERNAME = 'devuser'
export const USERNAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/
const RDP_PORT = 3389
const RDP_FIREWALL_MODES = ['open', 'tunnel'] as const

export interface Setting {
  /** Its place in the configuration file. */
  path: readonly string[]
  /** A switch (no `value`) also gets a --no- form, so a flag can undo what the file or env set. */
  flag: `--${string}`
  env: `VPS_PROVISION_${string}`
  /** The name of the flag's value in --help; absent for a switch. */
  value?: string
  help: string
  /** --help of the switch's --no- form. */
  offHelp?: string
  /** Text to value, for the variable and the flag alike; the schema then checks the range. */
  parse: (text: string) => unknown
  /** The only values the flag accepts (commander checks them, the completion offers them). */
  choices?: readonly string[]
  /** The value is a comma-separated list of these words (for the completion). */
  listOf?: readonly string[]
  /** Only commands that choose phases (run, plan) take it; verify checks every phase. */
  selectsPhases?: true
  /** The zod schema, with the default and the description docs/configuration.md shows. */
  schema: (zod: typeof z) => z.ZodType
}

const text = (s: string) => s

/** Keyed by the name commander gives the flag's value (`--rdp-port` → rdpPort), in --help order. */
export const SETTINGS = {
  username: {
    path: ['username'],
    flag: '--username',
    env: 'VPS_PROVISION_USERNAME',
    value: 'name',
    help: 'the developer account (a-z, 0-9, _ and -, starting with a letter; not a system name)',
    parse: text,
    schema: (zod) =>
      zod
        .string()
        .regex(USERNAME_PATTERN, 'a lowercase name: a letter, then up to 31 of a-z 0-9 _ -')
        .refine(
          (name) => !isReservedUsername(name),
          'a name that is not reserved (root, daemon, sudo, xrdp, …: see "Reserved usernames" in docs/configuration.md)',
        )
        .default(DEFAULT_USERNAME)
        .describe('the developer account to create'),
  },
  ides: {
    path: ['ides'],
    flag: '--ides',
    env: 'VPS_PROVISION_IDES',
    value: 'list',
    help: `comma-separated IDEs to install (${IDE_IDS.join(', ')})`,
    parse: parseIdes,
    listOf: IDE_IDS,
    schema: (zod) =>
      zod
        .array(zod.enum(IDE_IDS))
        .refine((a) => new Set(a).size === a.length, 'each IDE at most once')
        .default([...IDE_IDS])
        .describe('IDEs to install'),
  },
  only: {
    path: ['only'],
    flag: '--only',
    env: 'VPS_PROVISION_ONLY',
    value: 'phases',
    help: 'run only these phases (comma-separated)',
    parse: parsePhases,
    listOf: PHASE_NAMES,
    selectsPhases: true,
    schema: (zod) =>
      zod.array(zod.enum(PHASE_NAMES)).nullable().default(null).describe('run only these phases'),
  },
  skip: {
    path: ['skip'],
    flag: '--skip',
    env: 'VPS_PROVISION_SKIP',
    value: 'phases',
    help: 'skip these phases (comma-separated)',
    parse: parsePhases,
    listOf: PHASE_NAMES,
    selectsPhases: true,
    schema: (zod) => zod.array(zod.enum(PHASE_NAMES)).default([]).describe('skip these phases'),
  },
  reuseUser: {
    path: ['reuseUser'],
    flag: '--reuse-user',
    env: 'VPS_PROVISION_REUSE_USER',
    help: 'allow an existing normal user as the developer account',
    offHelp: 'refuse an existing user (overrides the file and environment)',
    parse: parseBool,
    schema: (zod) =>
      zod.boolean().default(false).describe('allow an existing normal user as the developer account'),
  },
  expirePassword: {
    path: ['expirePassword'],
    flag: '--expire-password',
    env: 'VPS_PROVISION_EXPIRE_PASSWORD',
    help: 'expire the password at first login (xrdp logins fail until it is changed)',
    offHelp: 'do not expire the password',
    parse: parseBool,
    schema: (zod) =>
      zod
        .boolean()
        .default(false)
        .describe('expire the password at first login (breaks xrdp logins until changed over SSH)'),
  },
  upgrade: {
    path: ['upgrade'],
    flag: '--upgrade',
    env: 'VPS_PROVISION_UPGRADE',
    help: 'run apt-get upgrade first (cannot be undone)',
    offHelp: 'do not upgrade installed packages',
    parse: parseBool,
    schema: (zod) =>
      zod.boolean().default(false).describe('run apt-get upgrade in system-prep (cannot be undone)'),
  },
  skipProbe: {
    path: ['skipProbe'],
    flag: '--skip-probe',
    env: 'VPS_PROVISION_SKIP_PROBE',
    help: "don't check in preflight that every IDE source answers (a proxy that blocks HEAD)",
    offHelp: 'check every IDE source in preflight',
    parse: parseBool,
    schema: (zod) =>
      zod
        .boolean()
        .default(false)
        .describe('skip the preflight probe of the IDE sources (sources.<ide>.probe: false skips one)'),
  },
  sound: {
    path: ['sound'],
    flag: '--sound',
    env: 'VPS_PROVISION_SOUND',
    help: "sound over RDP: PipeWire and xrdp's module in the desktop session",
    offHelp: 'no PipeWire and no xrdp sound module',
    parse: parseBool,
    schema: (zod) =>
      zod
        .boolean()
        .default(true)
        .describe("play the session's sound on the RDP client (PipeWire with pipewire-module-xrdp)"),
  },
  rdpPort: {
    path: ['rdp', 'port'],
    flag: '--rdp-port',
    env: 'VPS_PROVISION_RDP_PORT',
    value: 'port',
    help: `TCP port for xrdp (1-65535, default ${RDP_PORT})`,
    parse: parseWholeNumber,
    schema: (zod) =>
      zod.number().int().min(1).max(65535).default(RDP_PORT).describe('TCP port xrdp listens on'),
  },
  rdpFirewall: {
    path: ['rdp', 'firewall'],
    flag: '--rdp-firewall',
    env: 'VPS_PROVISION_RDP_FIREWALL',
    value: 'mode',
    help: 'open: RDP reachable from anywhere; tunnel: only through SSH',
    parse: text,
    choices: RDP_FIREWALL_MODES,
    schema: (zod) =>
      zod
        .enum(RDP_FIREWALL_MODES)
        .default('open')
        .describe('open: allow RDP from anywhere; tunnel: keep it closed and reach it over an SSH tunnel'),
  },
  sshConfirmTimeout: {
    path: ['ssh', 'confirmTimeoutSeconds'],
    flag: '--ssh-confirm-timeout',
    env: 'VPS_PROVISION_SSH_CONFIRM_TIMEOUT',
    value: 'seconds',
    help: 'at a terminal, undo an SSH or firewall change unless `vps-provision confirm` runs from a new SSH connection within this many seconds (0: no timer)',
    parse: parseWholeNumber,
    schema: (zod) =>
      zod
        .number()
        .int()
        .min(0)
        .max(3600)
        .default(180)
        .describe(
          'interactive runs only: seconds until a change of how SSH is reached (sshd drop-in, enabling ufw) is undone by a systemd timer unless confirmed from a new SSH connection with `vps-provision confirm`; 0: no timer',
        ),
  },
  fail2ban: {
    path: ['fail2ban', 'enabled'],
    flag: '--fail2ban',
    env: 'VPS_PROVISION_FAIL2BAN',
    help: 'ban addresses that keep failing SSH or RDP logins (fail2ban)',
    offHelp: 'no fail2ban jails (overrides the file and environment)',
    parse: parseBool,
    schema: (zod) =>
      zod
        .boolean()
        .default(true)
        .describe('fail2ban with a jail for sshd and one for xrdp, installed in rdp-config'),
  },
} as const satisfies Record<string, Setting>

export type SettingKey = keyof typeof SETTINGS
export const SETTING_LIST: readonly (Setting & { key: SettingKey })[] = Object.entries(SETTINGS).map(
  ([key, s]) => ({ ...s, key: key as SettingKey }),
)

/**
 * VPS_PROVISION_* variables that are not settings: detaching, stack traces, the state root (tests)
 * and the crash tests' failpoints. The environment layer warns about any other unknown one.
 */
export const OTHER_ENV: readonly string[] = [
  'VPS_PROVISION_FOREGROUND',
  'VPS_PROVISION_DEBUG',
  'VPS_PROVISION_ROOT',
  'VPS_PROVISION_FAILPOINT',
  // Who started a detached run at a terminal (its SSH connection): set by the client for its worker.
  'VPS_PROVISION_SSH_ORIGIN',
]
