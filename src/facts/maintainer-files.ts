// What a package's maintainer scripts wrote that no package owns. A vendor's postinst adds its own
// apt source and keyring (VS Code's, Cursor's), enables units (*.wants links), drops cron jobs:
// dpkg lists none of it, so purging the package leaves it behind. The places below are recorded
// before a package transaction and compared after it; what changed there and `dpkg-query -S` does
// not attribute to a package is the transaction's own (steps/maintainer-files.ts journals it).
import type { RecordedPath } from '../model/undo.js'
import { CommandError, type System } from '../system/port.js'
import { sha256 } from '../util/hash.js'
import { snapshotTree } from './tree.js'

export const WATCHED_ROOTS: readonly string[] = [
  '/etc/apt/sources.list.d',
  '/etc/apt/trusted.gpg.d',
  '/etc/apt/preferences.d',
  '/etc/apt/keyrings',
  '/usr/share/keyrings',
  '/etc/systemd/system',
  '/etc/cron.d',
  '/etc/cron.hourly',
  '/etc/cron.daily',
  '/etc/cron.weekly',
  '/etc/cron.monthly',
]

export const isUnder = (path: string, roots: readonly string[]): boolean =>
  roots.some((r) => path.startsWith(`${r}/`))

/** Every path under the roots that exist now (directories included), by path. */
export async function snapshotRoots(
  sys: System,
  roots: readonly string[],
): Promise<Map<string, RecordedPath>> {
  const out = new Map<string, RecordedPath>()
  const trees = await Promise.all(
    roots.map(async (root) => ((await sys.stat(root))?.kind === 'dir' ? snapshotTree(sys, root) : null)),
  )
  for (const t of trees) for (const p of t?.paths ?? []) out.set(p.path, p)
  return out
}

/**
 * A path's content in one word, as ChangeResult.files keeps it: a file's sha256, a symlink's target
 * (hashed with a prefix, so it never equals a file's). A directory has none.
 */
export function digestOf(p: RecordedPath | undefined): string | null {
  if (!p || p.kind === 'dir') return null
  return p.kind === 'file' ? p.sha256 : sha256(`symlink:${p.target}`)
}

export interface PathChange {
  path: string
  /** As it was; undefined: it did not exist. */
  before: RecordedPath | undefined
  /** As it is; undefined: it is gone. */
  after: RecordedPath | undefined
}

/**
 * Files and symlinks that appeared, changed content (or kind, or link target) or disappeared
 * between two records. Directories count only through what is in them; a mode or owner change
 * alone is not a change of content and is left out.
 */
export function changedPaths(
  before: ReadonlyMap<string, RecordedPath>,
  after: ReadonlyMap<string, RecordedPath>,
): PathChange[] {
  const out: PathChange[] = []
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(path)
    const a = after.get(path)
    if (b?.kind === 'dir' || a?.kind === 'dir') continue
    if (digestOf(b) !== digestOf(a)) out.push({ path, before: b, after: a })
  }
  return out
}

// dpkg-query -S takes shell wildcards (*, ?, [...]) and backslash escapes: a path is matched literally.
const literal = (path: string) => path.replace(/[\\*?[]/g, (c) => `\\${c}`)

// "pkg: /path", "pkg1, pkg2:amd64: /path"; diversion lines ("diversion by x from: /p") name no owner.
const OWNER_LINE = /^[a-z0-9][a-z0-9+.-]*(?::[a-z0-9-]+)?(?:, [a-z0-9][a-z0-9+.-]*(?::[a-z0-9-]+)?)*: (\/.*)$/

/** The paths `dpkg-query -S` answered for (each line names owners, then the path). */
export function parseOwnedPaths(stdout: string): Set<string> {
  const owned = new Set<string>()
  for (const line of stdout.split('\n')) {
    const m = OWNER_LINE.exec(line)
    if (m?.[1]) owned.add(m[1])
  }
  return owned
}

/**
 * The paths of `paths` that some package's file list holds. dpkg-query exits 1 when any pattern
 * matched nothing ("no path found matching pattern …" on stderr): that is an answer, not a failure.
 */
export async function ownedPaths(sys: System, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set()
  const argv = ['dpkg-query', '-S', ...paths.map(literal)]
  const r = await sys.exec(argv, { allowFailure: true })
  if (r.exitCode > 1) throw new CommandError(argv, r)
  const owned = parseOwnedPaths(r.stdout)
  return new Set(paths.filter((p) => owned.has(p)))
}

/** What changed under the roots and no package owns: the maintainer scripts' own writing. */
export async function unownedChanges(
  sys: System,
  before: ReadonlyMap<string, RecordedPath>,
  after: ReadonlyMap<string, RecordedPath>,
): Promise<PathChange[]> {
  const changes = changedPaths(before, after)
  const owned = await ownedPaths(
    sys,
    changes.map((c) => c.path),
  )
  return changes.filter((c) => !owned.has(c.path))
}
