// What the CLI calls. Each command gets its dependencies injected (the System port, where state
// lives, where events go, an abort signal wired to SIGINT/SIGTERM), so tests drive the same code
// paths as the binary with a fake system and a temp state root.
import type { Config } from '../config/schema.js'
import type { EventSink, Summary } from '../model/events.js'
import type { LogView, PlanReport, Report } from '../model/reports.js'
import type { PhaseName, ProvisioningSession, VPSInstance } from '../model/schemas.js'
import type { System } from '../system/port.js'
import type { StatePaths } from './paths.js'

export type { LogView, PlanReport, PlanStep, Report } from '../model/reports.js'

import type { Facts, Phase } from '../steps/types.js'

export interface EngineDeps {
  sys: System
  paths: StatePaths
  emit: EventSink
  /** Aborted on SIGINT/SIGTERM: the runner finishes the current action, records it and stops. */
  signal: AbortSignal
  /** The phases to run, in order; defaults to the workstation's (bin/ hands it to createEngine). */
  phases?: readonly Phase[]
  /** True when stdout is a terminal: decides where a generated password goes. */
  interactive: boolean
  /**
   * Told every secret value (the generated password) as soon as it is known, so records kept
   * outside the journal (a detached run's event log) can redact it too.
   */
  onSecret?: (value: string) => void
  /**
   * A person at a terminal started this run, from this SSH connection (both null: a console): a
   * change of how SSH is reached then waits for `confirm` or is undone by a timer (ssh-guard.ts).
   * Absent or null: unattended (cloud-init, a pipe, no terminal), no timer.
   */
  sshOrigin?: SshOrigin | null
  /** How to start this program again (node, its flags, the script), for the revert timer's command. */
  selfCommand?: readonly string[]
  /** Variables that command needs (VPS_PROVISION_ROOT in tests). */
  selfEnv?: Readonly<Record<string, string>>
  /** How often a step waiting for `confirm` looks again (tests: a few ms; default 1 s). */
  guardPollMs?: number
  /** node-exporter's textfile directory (engine/metrics.ts); the Debian package's by default. */
  textfileDir?: string
  /** Reads what the run produced (user, IDEs, summary lines) from the machine afterwards. */
  describe?: (sys: System, cfg: Config, facts: Facts, vps: VPSInstance | null) => Promise<Report>
}

/** The SSH connection a process runs in: SSH_CONNECTION, and the sshd process of that session. */
export interface SshOrigin {
  connection: string | null
  sshdPid: number | null
}

/** What `revert-pending` did (ssh-guard.ts). */
export interface RevertResult {
  sessionId: string
  /** What was put back, one line each. */
  lines: string[]
  /** The undo was recorded in the journal (false: the run still waits and records it itself). */
  journaled: boolean
}

export type ConfirmResult =
  | { confirmed: true; sessionId: string; timer: string }
  | { confirmed: false; reason: string; hint?: string }

export interface RunOptions {
  force: boolean
  /** The id chosen by a detaching client for its worker (names the unit and the event log). */
  sessionId?: string
}

export interface RollbackOptions {
  /** A session id or "latest"; validated before any path is built. */
  session: string
  /** Stop once this phase is reverted. */
  to: PhaseName | null
  force: boolean
  /** Only what was made for this developer (Step.user): `user remove`, across sessions. */
  user?: string
}

export interface RemoveUserOptions {
  name: string
  /** Archive the home to a 0600 tarball before it is deleted. */
  keepHome: boolean
  force: boolean
}

export interface Engine {
  run(deps: EngineDeps, cfg: Config, opts: RunOptions): Promise<Summary>
  plan(deps: EngineDeps, cfg: Config): Promise<PlanReport>
  verify(deps: EngineDeps, cfg: Config): Promise<Summary>
  rollback(deps: EngineDeps, opts: RollbackOptions): Promise<Summary>
  removeUser(deps: EngineDeps, opts: RemoveUserOptions): Promise<Summary>
  status(paths: StatePaths, session: string): Promise<ProvisioningSession>
  sessions(paths: StatePaths): Promise<ProvisioningSession[]>
  log(paths: StatePaths, session: string): Promise<LogView>
  /** What the revert timer runs: undo the unconfirmed SSH change of a session. */
  revertPending(deps: Pick<EngineDeps, 'sys' | 'paths'>, session: string): Promise<RevertResult>
  /** `confirm`: stop the waiting revert timer, from a new SSH connection only. */
  confirmSsh(deps: Pick<EngineDeps, 'sys' | 'paths'>, caller: SshOrigin): Promise<ConfirmResult>
}

/** What bin/ hands the engine: the phases in order, and how to describe what they built. */
export interface Workstation {
  phases: readonly Phase[]
  describe: NonNullable<EngineDeps['describe']>
}
