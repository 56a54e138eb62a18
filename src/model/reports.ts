// What the engine reports to the CLI and the renderers, as plain data: a plan, a session's log,
// what a run built.
import type {
  DeveloperUser,
  IDEInstallation,
  PhaseName,
  ProvisioningSession,
  RdpCertificate,
  TransactionLogEntry,
} from './schemas.js'

export interface Report {
  notes: string[]
  developerUser: DeveloperUser | null
  ideInstallations: IDEInstallation[]
  /** The certificate xrdp.ini names, null before rdp-config made one. */
  rdpCertificate: RdpCertificate | null
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
