// Who is at the terminal, for the lock-out insurance (engine/ssh-guard.ts): the SSH connection a
// process runs in, `confirm` (only from a new SSH connection: a new login working is the proof)
// and `revert-pending` (what the revert timer runs; not for people).
//
// A connection is told apart by SSH_CONNECTION (client address and port) and by the sshd process
// of its session, found by walking up /proc from this process: sudo drops SSH_CONNECTION from the
// environment, but it cannot change whose child this process is.
import type { SshOrigin } from '../engine/index.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { CliContext, OutputFlags } from './deps.js'
import { resolveLazy } from './deps.js'

/** sshd's per-connection process: `sshd-session` since OpenSSH 9.8 (trixie), `sshd` before. */
const SSHD_NAMES = new Set(['sshd-session', 'sshd'])

/** `pid (comm) state ppid …` of /proc/<pid>/stat; comm may hold spaces and parentheses. */
export function parseStat(text: string): { comm: string; ppid: number } | null {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) return null
  const ppid = Number(text.slice(close + 2).split(' ')[1])
  return Number.isInteger(ppid) ? { comm: text.slice(open + 1, close), ppid } : null
}

/** The nearest ancestor of `pid` that is sshd's process for this connection, or null. */
export async function sshdAncestor(
  readStat: (pid: number) => Promise<string | null>,
  pid: number,
): Promise<number | null> {
  let at = pid
  for (let depth = 0; depth < 64 && at > 1; depth++) {
    const text = await readStat(at)
    const stat = text === null ? null : parseStat(text)
    if (!stat) return null
    if (at !== pid && SSHD_NAMES.has(stat.comm)) return at
    at = stat.ppid
  }
  return null
}

/** The SSH connection this process runs in (both null: not over SSH, e.g. a provider's console). */
export async function sshOriginHere(ctx: CliContext): Promise<SshOrigin> {
  const connection = ctx.deps.env.SSH_CONNECTION?.trim() || null
  const sshdPid = (await ctx.deps.sshdSession?.()) ?? null
  return { connection, sshdPid }
}

/**
 * Who started this run, when a person did: stdin and stdout are a terminal. A detached run's worker
 * has no terminal: its client recorded the origin for it (VPS_PROVISION_SSH_ORIGIN). Null:
 * unattended (cloud-init, a pipe, `--yes` without a TTY): no revert timer. --quiet too: it would
 * hide the request to confirm, and the change would be undone behind the person's back.
 */
export async function runOrigin(ctx: CliContext, flags: OutputFlags): Promise<SshOrigin | null> {
  if (ctx.eventLog) return parseOrigin(ctx.deps.env.VPS_PROVISION_SSH_ORIGIN)
  if (!ctx.deps.stdinIsTTY || !ctx.isTTY || flags.quiet) return null
  return sshOriginHere(ctx)
}

export function parseOrigin(text: string | undefined): SshOrigin | null {
  if (!text) return null
  try {
    const v = JSON.parse(text) as { connection?: unknown; sshdPid?: unknown }
    const connection = typeof v.connection === 'string' ? v.connection : null
    const sshdPid = Number.isInteger(v.sshdPid) ? (v.sshdPid as number) : null
    return { connection, sshdPid }
  } catch {
    return null
  }
}

/** `confirm`: keep the SSH change a run is waiting about; refused from the run's own connection. */
export async function confirmCommand(ctx: CliContext, flags: OutputFlags): Promise<void> {
  const engine = await resolveLazy(ctx.deps.engine)
  const sys = await resolveLazy(ctx.deps.system)
  const caller = await sshOriginHere(ctx)
  const r = await engine.confirmSsh({ sys, paths: ctx.deps.paths }, caller)
  if (!r.confirmed) throw new ProvisionError(`Unable to confirm: ${r.reason}`, EXIT.usage, r.hint)
  if (flags.json) ctx.out.line(JSON.stringify({ confirmed: true, sessionId: r.sessionId, timer: r.timer }))
  else
    ctx.out.line(
      `Confirmed: SSH works from a new connection, so the change of session ${r.sessionId} stays (${r.timer} stopped).`,
    )
}

/** `revert-pending SESSION`: run by the revert timer; its output goes to the unit's journal. */
export async function revertPendingCommand(ctx: CliContext, session: string): Promise<void> {
  const engine = await resolveLazy(ctx.deps.engine)
  const sys = await resolveLazy(ctx.deps.system)
  const r = await engine.revertPending({ sys, paths: ctx.deps.paths }, session)
  ctx.out.line(`Session ${r.sessionId}: the SSH change was not confirmed in time; undoing it.`)
  for (const line of r.lines) ctx.out.line(`  ${line}`)
  if (!r.journaled) ctx.out.line('The run still waits and records the undo in its journal.')
}
