// What dpkg says about packages, and which packages a simulated apt transaction would add or
// remove: read-only queries the step kinds, the undo executor and verification share.
import type { System } from '../system/port.js'

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format, expanded by dpkg-query
export const DPKG_QUERY_FORMAT = '-f=${Package}\t${db:Status-Abbrev}\t${Version}\n'

export interface PackageState {
  /** dpkg's abbreviated status, e.g. "ii " (installed) or "rc " (config files left). */
  status: string
  version: string
}

/** Packages dpkg knows about; unknown names are simply absent from the map. */
export async function dpkgQuery(sys: System, names: readonly string[]): Promise<Map<string, PackageState>> {
  const out = new Map<string, PackageState>()
  if (names.length === 0) return out
  const r = await sys.exec(['dpkg-query', '-W', DPKG_QUERY_FORMAT, '--', ...names], {
    allowFailure: true,
  })
  for (const line of r.stdout.split('\n')) {
    const [pkg, status, version] = line.split('\t')
    if (pkg && status !== undefined) out.set(pkg.replace(/:.*$/, ''), { status, version: version ?? '' })
  }
  return out
}

export const isInstalled = (s: PackageState | undefined): boolean => s?.status.startsWith('ii') ?? false

/** dpkg still holds something of it (installed, half-installed, config files): purge would act. */
export const isPresent = (s: PackageState | undefined): boolean =>
  s !== undefined && s.status.length > 1 && s.status[1] !== 'n'

/**
 * `Inst NAME (VERSION ...)` lines are new installs; upgrades read `Inst NAME [OLD] (NEW ...)` and are
 * left out on purpose: purging an upgraded package would remove something that was there before.
 * The `:arch` suffix is dropped because undo names are plain package names.
 */
export function parseSimulatedInstalls(stdout: string): string[] {
  const names = new Set<string>()
  for (const m of stdout.matchAll(/^Inst (\S+) \(/gm)) if (m[1]) names.add(m[1].replace(/:.*$/, ''))
  return [...names].sort()
}

/** `Remv NAME [VER]` and `Purg NAME [VER]` lines of a simulated removal. */
export function parseSimulatedRemovals(stdout: string): string[] {
  const names = new Set<string>()
  for (const m of stdout.matchAll(/^(?:Remv|Purg) (\S+)/gm)) if (m[1]) names.add(m[1].replace(/:.*$/, ''))
  return [...names].sort()
}
