// Before the first run on a machine, a person at a terminal is asked when the machine is already
// someone's: a desktop, a display manager or an RDP server installed, or people's accounts on it.
// A run installs XFCE and xrdp beside them and changes the firewall and SSH settings, which is not
// what everybody who types `vps-provision run` on a server they use expects.
//
// Only the first run asks: once a run session of ours exists, the person has said yes (or --yes)
// before, and much of what is installed may be ours. Nobody is asked where nobody can answer
// (cloud-init, `ssh host vps-provision run`, a pipe, a systemd unit): those go on as they always
// did. The question comes before anything is written: no lock, no session, no journal.
import { dpkgQuery, isInstalled, parsePasswd } from '../engine/index.js'
import { usageError } from '../model/errors.js'
import { clean } from '../render/text.js'
import type { System } from '../system/port.js'
import { type CliContext, resolveLazy } from './deps.js'

/** Desktop sessions, display managers and RDP servers a person would have installed. */
const DESKTOP_PACKAGES = [
  'xfce4-session',
  'gnome-session',
  'gnome-shell',
  'plasma-workspace',
  'cinnamon-session',
  'mate-session-manager',
  'lxqt-session',
  'lxsession',
  'budgie-desktop',
  'lightdm',
  'gdm3',
  'sddm',
  'lxdm',
  'xdm',
  'slim',
  'nodm',
  'xrdp',
]
/** Where every desktop session registers itself, whichever package it came from. */
const SESSION_DIRS = ['/usr/share/xsessions', '/usr/share/wayland-sessions']
/** Debian's adduser gives people uids from 1000 to 59999 (FIRST_UID, LAST_UID); 65534 is nobody. */
const FIRST_UID = 1000
const LAST_UID = 59999

/** What on this machine says that someone already uses it, one line each; empty: a fresh server. */
export async function machineInUse(sys: System): Promise<string[]> {
  const found: string[] = []
  const states = await dpkgQuery(sys, DESKTOP_PACKAGES)
  const installed = DESKTOP_PACKAGES.filter((name) => isInstalled(states.get(name)))
  if (installed.length > 0) found.push(`installed: ${installed.join(', ')}`)
  const entries = await Promise.all(SESSION_DIRS.map((dir) => sys.readDir(dir).catch(() => [])))
  const sessions = entries.flat().filter((name) => name.endsWith('.desktop'))
  if (sessions.length > 0)
    found.push(`desktop sessions: ${sessions.map((name) => name.slice(0, -'.desktop'.length)).join(', ')}`)
  const manager = (await sys.readFile('/etc/X11/default-display-manager'))?.toString('utf8').trim()
  if (manager) found.push(`display manager: ${manager}`)
  const passwd = (await sys.readFile('/etc/passwd'))?.toString('utf8') ?? ''
  const people = parsePasswd(passwd).filter((u) => u.uid >= FIRST_UID && u.uid <= LAST_UID)
  if (people.length > 0) found.push(`users: ${people.map((u) => `${u.name} (uid ${u.uid})`).join(', ')}`)
  return found.map(clean)
}

/** Someone can answer: stdin and stderr are a terminal, and no systemd unit runs us (cloud-init). */
function canAsk(ctx: CliContext): boolean {
  const { confirm, stdinIsTTY, env } = ctx.deps
  return confirm !== undefined && stdinIsTTY === true && ctx.err.stream.isTTY === true && !env.INVOCATION_ID
}

/** Asks before the first run on a machine in use; a "no" stops the command before it writes anything. */
export async function confirmFirstRun(ctx: CliContext, flags: { yes?: boolean }, username: string) {
  const { confirm } = ctx.deps
  if (flags.yes || !confirm || !canAsk(ctx)) return
  const engine = await resolveLazy(ctx.deps.engine)
  if ((await engine.sessions(ctx.deps.paths)).some((s) => s.command === 'run')) return
  const found = await machineInUse(await resolveLazy(ctx.deps.system))
  if (found.length === 0) return
  ctx.err.line('This machine already has:')
  for (const line of found) ctx.err.line(`  ${line}`)
  ctx.err.line(
    `A run installs XFCE and xrdp beside them, sets up the account ${username} and changes the firewall and SSH settings (\`vps-provision plan\` lists every change).`,
  )
  if (await confirm('Provision this machine anyway?', ctx.signal)) return
  throw usageError(
    'Unable to provision this machine: not confirmed; nothing was changed',
    'Look first with `vps-provision plan`; `vps-provision run --yes` provisions it without asking',
  )
}
