// The env and flag layers of the configuration, built from the table of settings
// (config/settings.ts), so an error can name exactly where a bad value came from: the flag, the
// VPS_PROVISION_* variable, or the file's line and column.
import type { ConfigLayer, Path } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { OTHER_ENV, SETTING_LIST, type SETTINGS, type Setting } from '../config/settings.js'
import { usageError } from '../model/errors.js'

/** Commander's option values of the config flags (already parsed by their argParsers). */
export type ConfigFlags = { config?: string } & {
  -readonly [K in keyof typeof SETTINGS]?: ReturnType<(typeof SETTINGS)[K]['parse']>
}

export const CONFIG_ENV: readonly string[] = SETTING_LIST.map((s) => s.env)

function setPath(data: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = data
  for (const k of path.slice(0, -1)) {
    node[k] ??= {}
    node = node[k] as Record<string, unknown>
  }
  node[path[path.length - 1] as string] = value
}

function settingAt(path: Path): Setting | undefined {
  return SETTING_LIST.find((s) => s.path.every((k, i) => path[i] === k))
}

/** An empty variable counts as unset, as shells and cloud-init templates tend to leave them. */
export function envLayer(env: Readonly<Record<string, string | undefined>>): {
  layer: ConfigLayer
  warnings: string[]
} {
  const data: Record<string, unknown> = {}
  const problems: string[] = []
  for (const s of SETTING_LIST) {
    const raw = env[s.env]
    if (raw === undefined || raw.trim() === '') continue
    try {
      setPath(data, s.path, s.parse(raw))
    } catch (err) {
      problems.push(`${s.env}: ${(err as Error).message}`)
    }
  }
  if (problems.length === 1) throw usageError(`Unable to use the environment: ${problems[0]}`)
  if (problems.length > 1) throw usageError(`Unable to use the environment:\n  ${problems.join('\n  ')}`)
  const warnings = Object.keys(env)
    .filter((k) => k.startsWith('VPS_PROVISION_') && !CONFIG_ENV.includes(k) && !OTHER_ENV.includes(k))
    .map((k) => `ignoring unknown environment variable ${k} (settings: ${CONFIG_ENV.join(', ')})`)
  return { layer: { data, origin: (path) => settingAt(path)?.env ?? 'environment' }, warnings }
}

export function flagLayer(flags: ConfigFlags): ConfigLayer {
  const data: Record<string, unknown> = {}
  for (const s of SETTING_LIST) if (flags[s.key] !== undefined) setPath(data, s.path, flags[s.key])
  return { data, origin: (path) => settingAt(path)?.flag ?? 'command line' }
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
