// The engine's half of the lock-out insurance (steps/ssh-guard.ts has the steps): the SshGuard a run
// hands its phases, the record `confirm` reads (who started the run, until when), `confirm` itself,
// and `revert-pending`, which the transient timer runs when nobody confirmed.
//
// The timer is `systemd-run --on-active=N --unit=vps-provision-revert-<session>`; its command is
// this program's `revert-pending <session>` (argv, no shell). The revert undoes, through the
// journal's typed undo, every action that followed the timer's own `arm` action in that phase: the
// drop-in put back (or removed), ufw disabled, then sshd reloaded. When the run is gone (killed), the
// revert takes the lock and records each undo in the journal; while the run still waits (it holds
// the lock), the revert only puts the machine back, and the run records the undo as its part's.
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Config } from '../config/schema.js'
import { isActive, unitState } from '../facts/systemd.js'
import { EXIT, errorMessage, ProvisionError } from '../model/errors.js'
import { assertSessionId, SESSION_ID_PATTERN } from '../model/ids.js'
import type { Facts, SshGuard } from '../steps/types.js'
import { readFileNoFollow, writeFileAtomic } from '../system/atomic.js'
import type { System } from '../system/port.js'
import { systemdLiteral } from '../util/systemd.js'
import type { ConfirmResult, EngineDeps, RevertResult, SshOrigin } from './api.js'
import { deriveActions, Journal, readJournal } from './journal.js'
import { acquireLock } from './lock.js'
import type { StatePaths } from './paths.js'
import { executeUndo, undoPaths } from './undo-executor.js'
import { undoOptions, type WrittenBySeq } from './undo-options.js'

/** `vps-provision-revert-<session>`: the timer and the service it starts share it. */
export function revertUnit(sessionId: string): string {
  return `vps-provision-revert-${assertSessionId(sessionId)}`
}

const GuardRecord = z.object({
  sessionId: z.string().regex(SESSION_ID_PATTERN),
  timer: z.string(),
  seconds: z.number().int(),
  deadline: z.string(),
  origin: z.object({ connection: z.string().nullable(), sshdPid: z.number().int().nullable() }),
  state: z.enum(['armed', 'confirmed', 'reverted']),
  at: z.string(),
})
type GuardRecord = z.infer<typeof GuardRecord>

/** Beside the session's file (not `session-<id>.json`: the session store lists those). */
const recordPath = (paths: StatePaths, id: string) =>
  join(paths.sessionsDir, `ssh-guard-${assertSessionId(id)}.json`)

async function readRecord(paths: StatePaths, id: string): Promise<GuardRecord | null> {
  const data = await readFileNoFollow(recordPath(paths, id))
  if (data === null) return null
  const parsed = GuardRecord.safeParse(JSON.parse(data.toString('utf8')))
  return parsed.success ? parsed.data : null
}

async function writeRecord(paths: StatePaths, record: GuardRecord): Promise<void> {
  await writeFileAtomic(recordPath(paths, record.sessionId), `${JSON.stringify(record, null, 2)}\n`, 0o600)
}

/**
 * The guard of one run, or null: nobody at a terminal (cloud-init, a pipe, `--yes` without a TTY),
 * a timeout of 0, no systemd to hold the timer, or no way to start this program again.
 */
export function sshGuardFor(deps: EngineDeps, cfg: Config, facts: Facts, sessionId: string): SshGuard | null {
  const seconds = cfg.ssh.confirmTimeoutSeconds
  const self = deps.selfCommand ?? []
  if (!deps.sshOrigin || seconds === 0 || !facts.systemd || facts.chroot || self.length === 0) return null
  const origin = deps.sshOrigin
  const unit = revertUnit(sessionId)
  const timer = `${unit}.timer`
  const env = Object.entries(deps.selfEnv ?? {}).map(([k, v]) => `--setenv=${k}=${v}`)
  return {
    seconds,
    timer,
    pollMs: deps.guardPollMs ?? 1000,
    armArgv: [
      'systemd-run',
      `--unit=${unit}`,
      `--on-active=${seconds}`,
      // systemd's default accuracy is a minute: the revert would come up to 60 s late.
      '--timer-property=AccuracySec=1s',
      // Unloaded once its revert has run (transient timers otherwise stay, elapsed, for ever).
      '--timer-property=RemainAfterElapse=no',
      `--description=vps-provision: undo the SSH change of session ${sessionId} unless confirmed`,
      '--quiet',
      '--collect',
      ...env,
      '--',
      ...[...self, 'revert-pending', sessionId].map(systemdLiteral),
    ],
    armed: (deadline) =>
      writeRecord(deps.paths, {
        sessionId,
        timer,
        seconds,
        deadline: deadline.toISOString(),
        origin,
        state: 'armed',
        at: new Date().toISOString(),
      }),
    outcome: async () => (await readRecord(deps.paths, sessionId))?.state ?? 'none',
  }
}

/** `revert-pending <session>`: what the timer runs. Safe to run twice; does nothing once confirmed. */
export async function revertPending(
  deps: Pick<EngineDeps, 'sys' | 'paths'>,
  session: string,
): Promise<RevertResult> {
  const { sys, paths } = deps
  const id = assertSessionId(session)
  const record = await readRecord(paths, id)
  if (record?.state === 'confirmed')
    return { sessionId: id, lines: ['Confirmed earlier: nothing to undo.'], journaled: false }
  const timer = `${revertUnit(id)}.timer`
  const all = deriveActions(readJournal(paths.transactionLog(id)).records)
  const arm = all.filter((a) => a.undo.kind === 'stop-unit' && a.undo.unit === timer).at(-1)
  if (!arm)
    throw new ProvisionError(`Unable to revert session ${id}: its journal has no ${timer}`, EXIT.rollback)
  const targets = all
    .filter((a) => a.seq > arm.seq && a.phase === arm.phase && a.state !== 'undone')
    .reverse()
  // Free: the run is gone and the journal is ours to record in. Held: the run waits and records.
  const lock = await acquireLock(paths, { sessionId: id, command: 'revert-pending' })
  const journal = lock.ok ? Journal.open(paths.transactionLog(id)) : null
  const lines: string[] = []
  try {
    const written: WrittenBySeq = new Map(
      targets.map((a) => [a.seq, a.state === 'done' ? (a.result?.files ?? null) : null]),
    )
    for (const action of targets) {
      // Forced: an edit made in the last minutes must not keep someone locked out (a copy is kept).
      const opts = undoOptions(paths.backupDir(id), { written, until: new Map() }, action, true)
      try {
        const outcome = await executeUndo(sys, action.undo, opts)
        journal?.undone(action.seq, outcome.outcome, `${outcome.detail} (not confirmed in time)`)
        lines.push(`${action.target}: ${outcome.detail}`)
      } catch (err) {
        // One undo failing must not stop the others: each restores some of the way in.
        lines.push(`${action.target}: FAILED: ${errorMessage(err)}`)
      }
    }
    if (arm.state !== 'undone') journal?.undone(arm.seq, 'undone', `${timer} fired: not confirmed in time`)
    // sshd reads the put-back drop-in only when told to.
    const sshd = targets.some((a) => undoPaths(a.undo).some((p) => p.startsWith('/etc/ssh/')))
    if (sshd && isActive((await unitState(sys, 'ssh')).active)) {
      const r = await sys.exec(['systemctl', 'reload', 'ssh'], { allowFailure: true, timeoutMs: 60_000 })
      lines.push(r.exitCode === 0 ? 'reloaded ssh' : `systemctl reload ssh failed (exit ${r.exitCode})`)
    }
    if (record) await writeRecord(paths, { ...record, state: 'reverted', at: new Date().toISOString() })
  } finally {
    journal?.close()
    if (lock.ok) await lock.release()
  }
  return { sessionId: id, lines, journaled: journal !== null }
}

/** The armed records whose timer still counts, oldest first. */
async function waiting(sys: System, paths: StatePaths): Promise<GuardRecord[]> {
  let names: string[]
  try {
    names = await readdir(paths.sessionsDir)
  } catch {
    return []
  }
  const out: GuardRecord[] = []
  for (const name of names.sort()) {
    const id = /^ssh-guard-(.+)\.json$/.exec(name)?.[1]
    if (!id || !SESSION_ID_PATTERN.test(id)) continue
    const record = await readRecord(paths, id)
    if (record?.state === 'armed' && isActive((await unitState(sys, record.timer)).active)) out.push(record)
  }
  return out
}

/** Same connection: the same sshd session process, or the same SSH_CONNECTION (address and port). */
function sameConnection(a: SshOrigin, b: SshOrigin): boolean {
  if (a.sshdPid !== null && b.sshdPid !== null) return a.sshdPid === b.sshdPid
  return a.connection !== null && a.connection === b.connection
}

/**
 * `confirm`: from a new SSH connection only, which is the proof that a new login still works. Stops
 * every waiting timer (a run has at most one) and records that it was confirmed.
 */
export async function confirmSsh(
  deps: Pick<EngineDeps, 'sys' | 'paths'>,
  caller: SshOrigin,
): Promise<ConfirmResult> {
  const { sys, paths } = deps
  const records = await waiting(sys, paths)
  const record = records.at(-1)
  if (!record) return { confirmed: false, reason: 'no change of SSH access is waiting for a confirmation' }
  if (caller.connection === null && caller.sshdPid === null)
    return {
      confirmed: false,
      reason: 'this is not an SSH connection, and only a new SSH login proves that SSH still works',
      hint: `Open a new SSH connection to this machine and run \`sudo vps-provision confirm\` there (before ${record.deadline})`,
    }
  if (sameConnection(caller, record.origin))
    return {
      confirmed: false,
      reason: `this is the SSH connection session ${record.sessionId} was started from; it stays open whatever the change did`,
      hint: 'Open a NEW SSH connection (a second terminal) and run `sudo vps-provision confirm` there',
    }
  // Recorded first: a revert starting in this instant then sees it and leaves the change alone.
  await writeRecord(paths, { ...record, state: 'confirmed', at: new Date().toISOString() })
  await sys.exec(['systemctl', 'stop', record.timer], { timeoutMs: 60_000 })
  return { confirmed: true, sessionId: record.sessionId, timer: record.timer }
}
