// The env and flag layers of the configuration. One table says, for each setting that can be given
// outside the file, its config path, its VPS_PROVISION_* variable and its flag, so an error can
// name exactly where a bad value came from.

import type { ConfigLayer, Path } from '../config/load.js'
import type { Config, IdeId } from '../config/schema.js'
import { usageError } from '../model/errors.js'
import type { PhaseName } from '../model/schemas.js'
import { parseBool, parseIdes, parsePhases, parseWholeNumber } from './parse.js'

/** Commander's option values of the config flags (already parsed by their argParsers). */
export interface ConfigFlags {
  config?: string
  username?: string
  ides?: IdeId[]
  only?: PhaseName[]
  skip?: PhaseName[]
  reuseUser?: boolean
  expirePassword?: boolean
  upgrade?: boolean
  rdpPort?: number
  rdpFirewall?: string
}

type FieldKey = Exclude<keyof ConfigFlags, 'config'>

interface Field {
  key: FieldKey
  path: readonly string[]
  env: string
  flag: string
  parse: (text: string) => unknown
}

const text = (s: string) => s
const FIELDS: readonly Field[] = [
  { key: 'username', path: ['username'], env: 'VPS_PROVISION_USERNAME', flag: '--username', parse: text },
  { key: 'ides', path: ['ides'], env: 'VPS_PROVISION_IDES', flag: '--ides', parse: parseIdes },
  { key: 'only', path: ['only'], env: 'VPS_PROVISION_ONLY', flag: '--only', parse: parsePhases },
  { key: 'skip', path: ['skip'], env: 'VPS_PROVISION_SKIP', flag: '--skip', parse: parsePhases },
  {
    key: 'reuseUser',
    path: ['reuseUser'],
    env: 'VPS_PROVISION_REUSE_USER',
    flag: '--reuse-user',
    parse: parseBool,
  },
  {
    key: 'expirePassword',
    path: ['expirePassword'],
    env: 'VPS_PROVISION_EXPIRE_PASSWORD',
    flag: '--expire-password',
    parse: parseBool,
  },
  { key: 'upgrade', path: ['upgrade'], env: 'VPS_PROVISION_UPGRADE', flag: '--upgrade', parse: parseBool },
  {
    key: 'rdpPort',
    path: ['rdp', 'port'],
    env: 'VPS_PROVISION_RDP_PORT',
    flag: '--rdp-port',
    parse: parseWholeNumber,
  },
  {
    key: 'rdpFirewall',
    path: ['rdp', 'firewall'],
    env: 'VPS_PROVISION_RDP_FIREWALL',
    flag: '--rdp-firewall',
    parse: text,
  },
]

/** Read by other parts of the program (state root, crash tests, debugging), not settings. */
export const INTERNAL_ENV = [
  'VPS_PROVISION_ROOT',
  'VPS_PROVISION_FAILPOINT',
  'VPS_PROVISION_SYSTEM',
  'VPS_PROVISION_DEBUG',
]
export const CONFIG_ENV = FIELDS.map((f) => f.env)
/** For the generated docs/configuration.md: which settings a flag or a variable can set. */
export const CONFIG_OVERRIDES = FIELDS.map((f) => ({ path: f.path.join('.'), env: f.env, flag: f.flag }))

function setPath(data: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = data
  for (const k of path.slice(0, -1)) {
    node[k] ??= {}
    node = node[k] as Record<string, unknown>
  }
  node[path[path.length - 1] as string] = value
}

function fieldFor(path: Path): Field | undefined {
  return FIELDS.find((f) => f.path.every((k, i) => path[i] === k))
}

/** An empty variable counts as unset, as shells and cloud-init templates tend to leave them. */
export function envLayer(env: Readonly<Record<string, string | undefined>>): {
  layer: ConfigLayer
  warnings: string[]
} {
  const data: Record<string, unknown> = {}
  const problems: string[] = []
  for (const f of FIELDS) {
    const raw = env[f.env]
    if (raw === undefined || raw.trim() === '') continue
    try {
      setPath(data, f.path, f.parse(raw))
    } catch (err) {
      problems.push(`${f.env}: ${(err as Error).message}`)
    }
  }
  if (problems.length === 1) throw usageError(`Unable to use the environment: ${problems[0]}`)
  if (problems.length > 1) throw usageError(`Unable to use the environment:\n  ${problems.join('\n  ')}`)
  const warnings = Object.keys(env)
    .filter((k) => k.startsWith('VPS_PROVISION_') && !CONFIG_ENV.includes(k) && !INTERNAL_ENV.includes(k))
    .map((k) => `ignoring unknown environment variable ${k} (settings: ${CONFIG_ENV.join(', ')})`)
  return { layer: { data, origin: (path) => fieldFor(path)?.env ?? 'environment' }, warnings }
}

export function flagLayer(flags: ConfigFlags): ConfigLayer {
  const data: Record<string, unknown> = {}
  for (const f of FIELDS) if (flags[f.key] !== undefined) setPath(data, f.path, flags[f.key])
  return { data, origin: (path) => fieldFor(path)?.flag ?? 'command line' }
}

/** flags > env > file > defaults. */
export async function loadCliConfig(
  flags: ConfigFlags,
  env: Readonly<Record<string, string | undefined>>,
  defaultFile?: string,
): Promise<{ config: Config; warnings: string[] }> {
  const { layer, warnings } = envLayer(env)
  // The YAML parser loads only for commands that read a configuration, not for --help or status.
  const { loadConfig } = await import('../config/load.js')
  const { config } = await loadConfig({
    file: flags.config ?? null,
    defaultFile,
    overrides: [layer, flagLayer(flags)],
  })
  return { config, warnings }
}
