// Detached runs: where systemd is PID 1, `vps-provision run` starts the work as a transient unit
// (`systemd-run`) and attaches to its event log, so an SSH drop or a closed terminal does not stop
// it. This file decides when to detach, names the unit, builds the worker's argv, and talks to
// systemd (through the System port: argv arrays, never a shell). attach.ts renders and controls.
//
// The rule (docs/cli.md "Detached runs"): run in this process when --foreground or
// VPS_PROVISION_FOREGROUND=1 is given, when this process is the worker, when systemd already
// supervises this process (INVOCATION_ID is set: systemd sets it for every unit it starts, e.g.
// cloud-init's first-boot unit or `systemd-run --pipe`; an SSH login does not have it), or when
// systemd is not PID 1 (a chroot, a container without an init).
import { parseBool } from '../config/parse.js'
import type { Facts } from '../engine/index.js'
import { assertSessionId } from '../model/ids.js'
import type { System } from '../system/port.js'
import { systemdLiteral } from '../util/systemd.js'

/** How systemd is asked to run, watch and stop a worker. The real one is systemdSupervisor(). */
export interface Supervisor {
  /** Facts about this machine (systemd PID 1, chroot), measured once. */
  facts(): Promise<Pick<Facts, 'systemd' | 'chroot'>>
  start(unit: WorkerUnit): Promise<void>
  /** The unit's process still runs (active, activating, deactivating, reloading). */
  alive(unitName: string): Promise<boolean>
  /** Session ids whose worker units run now, oldest first. */
  running(): Promise<string[]>
  /** SIGTERM to the worker's main process only: it stops at the next safe point. */
  stop(unitName: string): Promise<void>
  /** The unit's last journal lines, to explain a worker that died without a record. */
  journalTail(unitName: string): Promise<string[]>
}

export interface WorkerUnit {
  name: string
  description: string
  argv: readonly string[]
  env: Readonly<Record<string, string>>
}

const UNIT_PREFIX = 'vps-provision-'

/** `vps-provision-<session>.service`; the id is checked before it becomes part of a unit name. */
export function unitName(sessionId: string): string {
  return `${UNIT_PREFIX}${assertSessionId(sessionId)}.service`
}

/** The session id of one of our unit names, or null for anything else. */
export function sessionOfUnit(name: string): string | null {
  return /^vps-provision-(\d{8}-\d{6}-[0-9a-z]{6})\.service$/.exec(name)?.[1] ?? null
}

export interface DetachFlags {
  foreground?: boolean
  worker?: string
  force?: boolean
}

/** Why this run stays in this process, or null: then it is started as a unit and attached to. */
export function foregroundReason(
  flags: DetachFlags,
  env: Readonly<Record<string, string | undefined>>,
  facts: Pick<Facts, 'systemd' | 'chroot'>,
): string | null {
  if (flags.worker !== undefined) return 'this is the worker'
  if (flags.foreground) return '--foreground'
  const fg = env.VPS_PROVISION_FOREGROUND
  if (fg !== undefined && fg.trim() !== '' && safeBool(fg)) return 'VPS_PROVISION_FOREGROUND'
  if (env.INVOCATION_ID) return 'already running inside a systemd unit (INVOCATION_ID is set)'
  if (facts.chroot) return 'a chroot'
  if (!facts.systemd) return 'systemd is not PID 1'
  return null
}

function safeBool(text: string): boolean {
  try {
    return parseBool(text)
  } catch {
    return true
  }
}

/**
 * The worker's argv: this same program (node, its flags, the script) with `run --worker ID --plain`,
 * and --force if the client was given it. The configuration is not here: the client stored it for
 * the session (session-config.ts). The worker's stdout goes to the journal (`journalctl -u UNIT`),
 * hence plain lines; its progress reaches clients through the event log.
 */
export function workerArgv(self: readonly string[], sessionId: string, flags: DetachFlags): string[] {
  const argv = [...self, 'run', '--worker', assertSessionId(sessionId), '--plain']
  return flags.force ? [...argv, '--force'] : argv
}

/**
 * The VPS_PROVISION_* variables reach the worker (state root, failpoints, debugging); nothing else.
 * Its settings come from the stored configuration, so the setting variables among them are not read.
 */
export function workerEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (/^VPS_PROVISION_[A-Z0-9_]+$/.test(key) && !NOT_PASSED.has(key) && value !== undefined)
      out[key] = value
  }
  if (env.NO_COLOR !== undefined) out.NO_COLOR = env.NO_COLOR
  return out
}

/** FOREGROUND would keep the worker from being one; the origin is the client's own (attach.ts). */
const NOT_PASSED = new Set(['VPS_PROVISION_FOREGROUND', 'VPS_PROVISION_SSH_ORIGIN'])

const ALIVE = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing'])

/** The real supervisor: systemd-run, systemctl and journalctl through the System port. */
export function systemdSupervisor(sys: System, gatherFacts: (sys: System) => Promise<Facts>): Supervisor {
  let facts: Promise<Facts> | null = null
  return {
    facts: () => {
      facts ??= gatherFacts(sys)
      return facts
    },
    async start(unit) {
      const env = Object.entries(unit.env).map(([k, v]) => `--setenv=${k}=${v}`)
      await sys.exec(
        [
          'systemd-run',
          `--unit=${unit.name}`,
          `--description=${unit.description}`,
          '--quiet',
          '--collect',
          // Returns once the worker was exec'd, so a broken start fails here, not silently later.
          '--property=Type=exec',
          // SIGTERM to node only: apt and dpkg in progress finish; node stops at the next safe point.
          '--property=KillMode=mixed',
          // The action in progress (a large apt transaction) may take this long to finish.
          '--property=TimeoutStopSec=30min',
          '--property=WorkingDirectory=/',
          ...env,
          '--',
          ...unit.argv.map(systemdLiteral),
        ],
        { timeoutMs: 60_000 },
      )
    },
    async alive(name) {
      const r = await sys.exec(['systemctl', 'show', '--property=ActiveState', '--value', '--', name], {
        allowFailure: true,
        timeoutMs: 30_000,
      })
      // A unit collected after it ended reads "inactive"; an error means systemd cannot tell: gone.
      return r.exitCode === 0 && ALIVE.has(r.stdout.trim())
    },
    async running() {
      const r = await sys.exec(
        [
          'systemctl',
          'list-units',
          '--all',
          '--plain',
          '--no-legend',
          '--full',
          '--type=service',
          `${UNIT_PREFIX}*.service`,
        ],
        { allowFailure: true, timeoutMs: 30_000 },
      )
      if (r.exitCode !== 0) return []
      const ids: string[] = []
      for (const line of r.stdout.split('\n')) {
        const [name, , active] = line.trim().split(/\s+/)
        const id = name ? sessionOfUnit(name) : null
        if (id && active && ALIVE.has(active)) ids.push(id)
      }
      return ids.sort()
    },
    async stop(name) {
      // --no-block: the caller follows the log and reports how the worker ended.
      await sys.exec(['systemctl', 'stop', '--no-block', '--', name], { timeoutMs: 60_000 })
    },
    async journalTail(name) {
      const r = await sys.exec(['journalctl', '--unit', name, '--lines=15', '--no-pager', '--output=cat'], {
        allowFailure: true,
        timeoutMs: 30_000,
      })
      return r.stdout.split('\n').filter((l) => l.trim() !== '')
    },
  }
}
