// The undo kinds that change the system rather than a file: purge packages, delete accounts, take
// units down, run a recorded argv. Each asks the machine first, so undoing what never happened (an
// in-doubt action) is a no-op.

import { groupEntry, passwdEntry } from '../facts/accounts.js'
import { inChroot } from '../facts/environment.js'
import { dpkgQuery, isPresent, parseSimulatedRemovals } from '../facts/packages.js'
import { isActive, isEnabled, unitState } from '../facts/systemd.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { APT_GET, repairInterruptedDpkg } from '../steps/apt.js'
import { CommandError, type System } from '../system/port.js'
import { skipped, type UndoOf, type UndoOptions, undone } from './undo-outcome.js'

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

export async function purgePackages(sys: System, undo: UndoOf<'purge-packages'>, opts: UndoOptions) {
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
  const purge = [...APT_GET, ...(ours ? ['--allow-remove-essential'] : []), 'purge', ...present]
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

export async function deleteUser(sys: System, undo: UndoOf<'delete-user'>) {
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

export async function deleteGroup(sys: System, undo: UndoOf<'delete-group'>) {
  if (!(await groupEntry(sys, undo.group))) return skipped(`group ${undo.group} does not exist`)
  await run(sys, ['groupdel', undo.group], `delete group ${undo.group}`)
  return undone(`deleted group ${undo.group}`)
}

export async function removeFromGroup(sys: System, undo: UndoOf<'remove-from-group'>) {
  const g = await groupEntry(sys, undo.group)
  if (!g?.members.includes(undo.username)) return skipped(`${undo.username} is not in ${undo.group}`)
  const what = `remove ${undo.username} from ${undo.group}`
  await run(sys, ['gpasswd', '--delete', undo.username, undo.group], what)
  return undone(`removed ${undo.username} from ${undo.group}`)
}

export async function disableUnit(sys: System, undo: UndoOf<'disable-unit'>) {
  if (!isEnabled((await unitState(sys, undo.unit)).enabled)) return skipped(`${undo.unit} is not enabled`)
  await run(sys, ['systemctl', 'disable', undo.unit], `disable ${undo.unit}`)
  return undone(`disabled ${undo.unit}`)
}

export async function stopUnit(sys: System, undo: UndoOf<'stop-unit'>) {
  if (!isActive((await unitState(sys, undo.unit)).active)) return skipped(`${undo.unit} is not running`)
  await run(sys, ['systemctl', 'stop', undo.unit], `stop ${undo.unit}`)
  return undone(`stopped ${undo.unit}`)
}

export async function runArgv(sys: System, undo: UndoOf<'argv'>) {
  const r = await sys.exec(undo.argv, { allowFailure: true })
  if (r.exitCode !== 0 && !undo.allowFailure)
    throw new ProvisionError(
      `Unable to undo with ${undo.argv[0]}: ${new CommandError(undo.argv, r).message}`,
      EXIT.rollback,
    )
  return undone(`ran ${undo.argv.join(' ')} (exit ${r.exitCode})`)
}

/**
 * swapoff while the kernel swaps to it (it moves the pages back to RAM first: a machine short of
 * memory may refuse, and then nothing is removed), then the file goes. A file that is no longer a
 * regular file is left alone.
 */
export async function removeSwapFile(sys: System, undo: UndoOf<'remove-swap-file'>) {
  const swaps = (await sys.readFile('/proc/swaps'))?.toString('utf8') ?? ''
  const active = swaps
    .split('\n')
    .slice(1)
    .some((line) => line.trim().split(/\s+/)[0] === undo.path)
  if (active)
    await run(
      sys,
      ['swapoff', undo.path],
      `swapoff ${undo.path}`,
      'Free memory (close the IDEs) and roll back again: swapoff needs room in RAM for what is swapped out',
    )
  const st = await sys.stat(undo.path)
  if (!st)
    return active
      ? undone(`swapoff ${undo.path}; it was already removed`)
      : skipped(`${undo.path} already absent`)
  if (st.kind !== 'file') return skipped(`${undo.path} is no longer a regular file; left alone`)
  await sys.removeFile(undo.path)
  return undone(`${active ? `swapoff ${undo.path}, then ` : ''}removed ${undo.path}`)
}
