// Runs one typed undo. Every branch looks before it acts, so each is idempotent and safe when the
// forward change never happened (a crash between `begin` and the change): undoing twice, or undoing
// what was never done, ends in 'skipped'. Files someone edited after we wrote them are not
// overwritten without --force, and then only after a copy was kept.

import { groupEntry, passwdEntry } from '../facts/accounts.js'
import { inChroot } from '../facts/environment.js'
import { removeBlock, upsertBlock } from '../facts/marked-block.js'
import { dpkgQuery, isPresent, parseSimulatedRemovals } from '../facts/packages.js'
import { isActive, isEnabled, unitState } from '../facts/systemd.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Undo } from '../model/undo.js'
import { APT_GET, repairInterruptedDpkg } from '../steps/apt.js'
import { CommandError, type System } from '../system/port.js'
import { sha256 } from '../util/hash.js'

export interface UndoOptions {
  backupDir: string
  readBackup(rel: string): Promise<Buffer | null>
  /** What the action reported writing (path -> sha256, null = removed); null when not known to be done. */
  written: Record<string, string | null> | null
  force: boolean
  /** Saves the drifted content somewhere safe; returns where. */
  keepDrifted(path: string, data: Buffer): Promise<string>
}

export interface UndoOutcome {
  outcome: 'undone' | 'skipped'
  detail: string
}

export class DriftError extends ProvisionError {
  constructor(readonly paths: string[]) {
    super(
      `Unable to undo changes to ${paths.join(', ')}: changed since vps-provision wrote ${paths.length > 1 ? 'them' : 'it'}`,
      EXIT.rollback,
      'Check the file(s); `rollback --force` keeps a copy of each (0600, under the session backups) and then restores them.',
    )
    this.name = 'DriftError'
  }
}

const undone = (detail: string): UndoOutcome => ({ outcome: 'undone', detail })
const skipped = (detail: string): UndoOutcome => ({ outcome: 'skipped', detail })

/** Refuses (or, forced, keeps a copy of) a file whose content is not what the action wrote. */
async function guardDrift(sys: System, path: string, opts: UndoOptions): Promise<string> {
  if (!opts.written || !(path in opts.written)) return ''
  const data = await sys.readFile(path)
  const actual = data === null ? null : sha256(data)
  if (actual === opts.written[path]) return ''
  if (!opts.force) throw new DriftError([path])
  return data ? `; kept the edited copy at ${await opts.keepDrifted(path, data)}` : ''
}

async function removeIfPresent(sys: System, path: string, opts: UndoOptions): Promise<string | null> {
  const st = await sys.stat(path)
  if (!st) return null
  if (st.kind === 'dir')
    throw new ProvisionError(`Unable to remove ${path}: it is now a directory`, EXIT.rollback)
  const kept = await guardDrift(sys, path, opts)
  await sys.removeFile(path)
  return `removed ${path}${kept}`
}

async function run(
  sys: System,
  argv: string[],
  what: string,
  hint?: string,
  env?: Record<string, string>,
): Promise<void> {
  const r = await sys.exec(argv, { allowFailure: true, ...(env ? { env } : {}) })
  if (r.exitCode !== 0)
    throw new ProvisionError(`Unable to ${what}: ${new CommandError(argv, r).message}`, EXIT.rollback, hint)
}

/**
 * Packages of `list` that dpkg still holds, what else purging them would take along, and which of
 * them are Essential or Protected (apt refuses to remove those without --allow-remove-essential).
 */
export async function purgePlan(
  sys: System,
  list: readonly string[],
): Promise<{ present: string[]; extra: string[]; essential: string[] }> {
  const state = await dpkgQuery(sys, list)
  const present = list.filter((p) => isPresent(state.get(p)))
  if (present.length === 0) return { present, extra: [], essential: [] }
  const sim = await sys.exec([...APT_GET, 'purge', '-s', ...present], { allowFailure: true })
  const extra = parseSimulatedRemovals(sim.stdout).filter((p) => !list.includes(p))
  return { present, extra, essential: await essentialOf(sys, [...present, ...extra]) }
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format, expanded by dpkg-query
const ESSENTIAL_FORMAT = '-f=${Package}\t${Essential}\t${Protected}\n'

async function essentialOf(sys: System, names: readonly string[]): Promise<string[]> {
  const r = await sys.exec(['dpkg-query', '-W', ESSENTIAL_FORMAT, '--', ...names], { allowFailure: true })
  return r.stdout
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f[1] === 'yes' || f[2] === 'yes')
    .map((f) => (f[0] ?? '').replace(/:.*$/, ''))
    .filter((n) => names.includes(n))
}

/**
 * xrdp keeps a desktop running after the RDP client disconnects, so the user we are about to delete
 * usually still has processes, and userdel refuses while any run. The account is one we created
 * and are removing with its home: log it out through logind, then signal what is left (pkill exits
 * 1 once nothing matches; any other code means it cannot tell, and userdel will say what runs).
 */
async function endProcessesOf(sys: System, username: string): Promise<void> {
  // A chroot shares the host's PID namespace and /proc: `pkill -u` there would signal the HOST's
  // processes of that uid. No session of ours runs in a chroot; userdel says if anything does.
  if (await inChroot(sys)) return
  await sys.exec(['loginctl', 'terminate-user', username], { allowFailure: true })
  for (let i = 0; i < 40; i++) {
    const signal = i < 20 ? 'TERM' : 'KILL'
    const r = await sys.exec(['pkill', '--signal', signal, '-u', username], { allowFailure: true })
    if (r.exitCode !== 0) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export async function executeUndo(sys: System, undo: Undo, opts: UndoOptions): Promise<UndoOutcome> {
  switch (undo.kind) {
    case 'restore-file': {
      const backup = await opts.readBackup(undo.backup)
      if (!backup || sha256(backup) !== undo.sha256)
        throw new ProvisionError(
          `Unable to restore ${undo.path}: backup ${undo.backup} is ${backup ? 'corrupt (sha256 differs)' : 'missing'}`,
          EXIT.rollback,
          `Restore ${undo.path} by hand; the session's other backups are in ${opts.backupDir}`,
        )
      const st = await sys.stat(undo.path)
      const current = st?.kind === 'file' ? await sys.readFile(undo.path) : null
      if (
        current &&
        sha256(current) === undo.sha256 &&
        st?.mode === undo.mode &&
        st.uid === undo.uid &&
        st.gid === undo.gid
      )
        return skipped(`${undo.path} already as before`)
      const kept = await guardDrift(sys, undo.path, opts)
      await sys.writeFile(undo.path, backup, { mode: undo.mode, uid: undo.uid, gid: undo.gid })
      return undone(`restored ${undo.path}${kept}`)
    }
    case 'restore-block': {
      // Only our block is ours: the lines around it (keys the user added) stay byte for byte.
      const st = await sys.stat(undo.path)
      if (st?.kind !== 'file') return skipped(`${undo.path} is not a file (any more); left alone`)
      const current = (await sys.readFile(undo.path))?.toString('utf8') ?? ''
      const next =
        undo.previous === null
          ? removeBlock(current, undo.marker)
          : upsertBlock(current, undo.marker, undo.previous)
      if (next === '' && undo.removeEmptyFile) {
        await sys.removeFile(undo.path)
        return undone(`removed ${undo.path} (nothing but our block was in it)`)
      }
      if (next === current) return skipped(`${undo.path} already without our block`)
      await sys.writeFile(undo.path, next, { mode: st.mode, uid: st.uid, gid: st.gid })
      return undone(
        `${undo.previous === null ? 'removed' : 'put back'} our ${undo.marker} block in ${undo.path}`,
      )
    }
    case 'remove-file': {
      const done = await removeIfPresent(sys, undo.path, opts)
      return done ? undone(done) : skipped(`${undo.path} already absent`)
    }
    case 'remove-dir': {
      const st = await sys.stat(undo.path)
      if (!st) return skipped(`${undo.path} already absent`)
      if (st.kind !== 'dir') return skipped(`${undo.path} is no longer a directory; left alone`)
      const entries = await sys.readDir(undo.path)
      // Someone put files there since: their data wins over our tidiness.
      if (entries.length > 0)
        return skipped(`${undo.path} is not empty (${entries.length} entries); left in place`)
      await sys.rmdir(undo.path)
      return undone(`removed directory ${undo.path}`)
    }
    case 'purge-packages': {
      const { present, extra, essential } = await purgePlan(sys, undo.packages)
      if (present.length === 0) return skipped(`none of ${undo.packages.join(' ')} is installed`)
      if (extra.length > 0 && !opts.force)
        throw new ProvisionError(
          `Unable to purge ${present.join(' ')}: apt would also remove ${extra.join(' ')}, installed since`,
          EXIT.rollback,
          'Remove those packages first if they may go, or pass --force to let apt remove them too.',
        )
      // sudo's prerm refuses to go while root has no password (every key-only cloud VPS) unless
      // SUDO_FORCE_REMOVE=yes. Only packages this session newly installed get here: the machine
      // had no sudo before, so removing it restores how root got in then.
      const env = present.includes('sudo') ? { SUDO_FORCE_REMOVE: 'yes' } : undefined
      // A protected package (systemd-sysv, pulled in by libpam-systemd where there was no init
      // package: a container, a chroot) is only in `present` because this action newly installed
      // it. apt's guard is lifted only when every protected package it would remove is such a one.
      const ours = essential.length > 0 && essential.every((p) => present.includes(p))
      const allow = ours ? ['--allow-remove-essential'] : []
      const purge = [...APT_GET, ...allow, 'purge', ...present]
      // A rollback resumed after a power cut in dpkg finds it interrupted: finish that first.
      const first = await sys.exec(purge, { allowFailure: true, ...(env ? { env } : {}) })
      if (first.exitCode !== 0) {
        if (!(await repairInterruptedDpkg(sys, first, env)))
          throw new ProvisionError(
            `Unable to purge ${present.join(' ')}: ${new CommandError(purge, first).message}`,
            EXIT.rollback,
          )
        await run(sys, purge, `purge ${present.join(' ')}`, undefined, env)
      }
      const note = ours ? ` (including protected ${essential.join(' ')}, installed by this session)` : ''
      return undone(`purged ${present.join(' ')}${note}`)
    }
    case 'delete-user': {
      if (!(await passwdEntry(sys, undo.username))) return skipped(`user ${undo.username} does not exist`)
      await endProcessesOf(sys, undo.username)
      await run(
        sys,
        ['userdel', ...(undo.removeHome ? ['--remove'] : []), '--', undo.username],
        `delete user ${undo.username}`,
        `Log ${undo.username} out first (\`loginctl terminate-user ${undo.username}\`), then run rollback again.`,
      )
      return undone(`deleted user ${undo.username}${undo.removeHome ? ' and home' : ''}`)
    }
    case 'delete-group': {
      if (!(await groupEntry(sys, undo.group))) return skipped(`group ${undo.group} does not exist`)
      await run(sys, ['groupdel', undo.group], `delete group ${undo.group}`)
      return undone(`deleted group ${undo.group}`)
    }
    case 'remove-from-group': {
      const g = await groupEntry(sys, undo.group)
      if (!g?.members.includes(undo.username)) return skipped(`${undo.username} is not in ${undo.group}`)
      await run(
        sys,
        ['gpasswd', '--delete', undo.username, undo.group],
        `remove ${undo.username} from ${undo.group}`,
      )
      return undone(`removed ${undo.username} from ${undo.group}`)
    }
    case 'disable-unit': {
      if (!isEnabled((await unitState(sys, undo.unit)).enabled)) return skipped(`${undo.unit} is not enabled`)
      await run(sys, ['systemctl', 'disable', undo.unit], `disable ${undo.unit}`)
      return undone(`disabled ${undo.unit}`)
    }
    case 'stop-unit': {
      if (!isActive((await unitState(sys, undo.unit)).active)) return skipped(`${undo.unit} is not running`)
      await run(sys, ['systemctl', 'stop', undo.unit], `stop ${undo.unit}`)
      return undone(`stopped ${undo.unit}`)
    }
    case 'remove-apt-source': {
      const done: string[] = []
      for (const path of [undo.sourcePath, undo.keyringPath]) {
        const d = path ? await removeIfPresent(sys, path, opts) : null
        if (d) done.push(d)
      }
      return done.length > 0
        ? undone(done.join('; '))
        : skipped(`apt source ${undo.sourcePath} already absent`)
    }
    case 'argv': {
      const r = await sys.exec(undo.argv, { allowFailure: true })
      if (r.exitCode !== 0 && !undo.allowFailure)
        throw new ProvisionError(
          `Unable to undo with ${undo.argv[0]}: ${new CommandError(undo.argv, r).message}`,
          EXIT.rollback,
        )
      return undone(`ran ${undo.argv.join(' ')} (exit ${r.exitCode})`)
    }
    case 'irreversible':
      return skipped(`cannot be undone: ${undo.reason}`)
    default: {
      const unknown: never = undo
      throw new Error(`Unable to undo: unknown kind ${JSON.stringify(unknown)}`)
    }
  }
}

/** The files an undo would remove or overwrite. */
export function undoPaths(undo: Undo): string[] {
  switch (undo.kind) {
    case 'restore-file':
    case 'remove-file':
      return [undo.path]
    case 'remove-apt-source':
      return undo.keyringPath ? [undo.sourcePath, undo.keyringPath] : [undo.sourcePath]
    default:
      return []
  }
}

/**
 * Every drifted path of a rollback, before anything is undone. `actions` newest first (the order
 * rollback runs in). A path a later action of the same session wrote again is judged against what
 * undoing that later action leaves behind, not against today's content, so a file written twice
 * by one session is not reported as drifted.
 */
export async function planUndoDrift(
  sys: System,
  actions: readonly { undo: Undo; written: Record<string, string | null> | null }[],
): Promise<string[]> {
  const after = new Map<string, string | null>()
  const drifted: string[] = []
  const hashOf = async (path: string) => {
    if (after.has(path)) return after.get(path) ?? null
    const data = await sys.readFile(path)
    return data === null ? null : sha256(data)
  }
  for (const { undo, written } of actions) {
    for (const path of undoPaths(undo)) {
      if (written && path in written && (await hashOf(path)) !== written[path] && !drifted.includes(path))
        drifted.push(path)
      after.set(path, undo.kind === 'restore-file' ? undo.sha256 : null)
    }
  }
  return drifted
}
