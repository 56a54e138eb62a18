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
  /** Reads what the run produced (user, IDEs, summary lines) from the machine afterwards. */
  describe?: (sys: System, cfg: Config, facts: Facts, vps: VPSInstance | null) => Promise<Report>
}

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
}

export interface Engine {
  run(deps: EngineDeps, cfg: Config, opts: RunOptions): Promise<Summary>
  plan(deps: EngineDeps, cfg: Config): Promise<PlanReport>
  verify(deps: EngineDeps, cfg: Config): Promise<Summary>
  rollback(deps: EngineDeps, opts: RollbackOptions): Promise<Summary>
  status(paths: StatePaths, session: string): Promise<ProvisioningSession>
  sessions(paths: StatePaths): Promise<ProvisioningSession[]>
  log(paths: StatePaths, session: string): Promise<LogView>
}

/** What bin/ hands the engine: the phases in order, and how to describe what they built. */
export interface Workstation {
  phases: readonly Phase[]
  describe: NonNullable<EngineDeps['describe']>
}
