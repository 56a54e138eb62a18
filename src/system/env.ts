// The environment every child process gets. It is built from constants only, never from
// process.env: a hostile or merely odd caller environment (an evil dir first in PATH, LD_PRELOAD, a
// German locale that changes apt's messages) must not change what runs or what we parse.

export const FIXED_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export const FIXED_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: FIXED_PATH,
  // Output we parse (apt, dpkg-query, sshd -T) must be in English and byte-stable.
  LC_ALL: 'C',
  LANG: 'C',
  HOME: '/root',
  // No debconf dialog, no needrestart prompt, no apt-listchanges pager, keep our config files.
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
  NEEDRESTART_SUSPEND: '1',
  NEEDRESTART_MODE: 'a',
  APT_LISTCHANGES_FRONTEND: 'none',
  UCF_FORCE_CONFFOLD: '1',
  TERM: 'dumb',
})

// Even a caller of exec() cannot smuggle these in: they change which code a root process runs.
const FORBIDDEN = new Set(['LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'LANGUAGE'])

/**
 * For the process itself, once at start: libraries we use start programs of their own with
 * process.env (systeminformation runs `hostname`, `lscpu`, `dmesg`... through a shell), so a root
 * process must not keep the caller's PATH, loader variables or locale for them to inherit.
 */
export function hardenProcessEnv(env: NodeJS.ProcessEnv): void {
  for (const key of FORBIDDEN) delete env[key]
  env.PATH = FIXED_PATH
  env.LC_ALL = 'C'
}

/** The fixed environment plus `extra` (minus loader variables), for one child process. */
export function childEnv(extra?: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { ...FIXED_ENV }
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (!FORBIDDEN.has(key)) env[key] = value
  }
  return env
}

export const DEFAULT_TIMEOUT_MS = 2 * 60_000
export const PACKAGE_TIMEOUT_MS = 30 * 60_000
const PACKAGE_TOOLS = new Set(['apt-get', 'apt', 'dpkg'])

/** apt and dpkg may wait up to 10 minutes for the dpkg lock alone, then download for a long time. */
export function defaultTimeoutMs(argv: readonly string[]): number {
  const program = (argv[0] ?? '').split('/').pop() ?? ''
  return PACKAGE_TOOLS.has(program) ? PACKAGE_TIMEOUT_MS : DEFAULT_TIMEOUT_MS
}
