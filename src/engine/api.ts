// What the CLI calls. Each command gets its dependencies injected (the System port, where state
// lives, where events go, an abort signal wired to SIGINT/SIGTERM), so tests drive the same code
// paths as the binary with a fake system and a temp state root.
import type { Config } from '../config/schema.js'
import type {
  DeveloperUser,
  IDEInstallation,
  PhaseName,
  ProvisioningSession,
  TransactionLogEntry,
  VPSInstance,
} from '../model/schemas.js'
import type { System } from '../system/port.js'
import type { EventSink, Summary } from './events.js'
import type { StatePaths } from './paths.js'
import type { Facts, Phase } from './types.js'

export interface EngineDeps {
  sys: System
  paths: StatePaths
  emit: EventSink
  /** Aborted on SIGINT/SIGTERM: the runner finishes the current action, records it and stops. */
  signal: AbortSignal
  /** The phases to run, in order; defaults to all of phases/index.ts. */
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

export interface Report {
  notes: string[]
  developerUser: DeveloperUser | null
  ideInstallations: IDEInstallation[]
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

export interface PlanStep {
  phase: PhaseName
  step: string
  title: string
  done: boolean
  why: string | null
  diff: string | null
}

export interface PlanReport {
  phases: { name: PhaseName; title: string; skipped: string | null; steps: PlanStep[] }[]
}

export interface LogView {
  session: ProvisioningSession | null
  entries: (TransactionLogEntry & { state: string; phase: string; step: string })[]
  warnings: string[]
  /** Set when the journal is damaged before its end: automatic rollback is refused. */
  damage: string | null
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
