// The engine's vocabulary. A Phase is an ordered list of Steps built from the validated config;
// a Step checks whether its desired state holds and, if not, applies it through the System port,
// journaling each change (with its undo) before making it.
import type { Config } from '../config/schema.js'
import type { Facts } from '../facts/environment.js'
import type {
  ActionType,
  DeveloperUser,
  IDEInstallation,
  PhaseName,
  RdpCertificate,
  VPSInstance,
} from '../model/schemas.js'
import type { TreeBackup, Undo } from '../model/undo.js'
import type { System } from '../system/port.js'

export type { Facts, System }

export interface Check {
  /** The desired state already holds: apply would change nothing. */
  done: boolean
  /** Stable text of what was observed (versions, hashes, users); hashed into the checkpoint. */
  observed: string
  /** Why the step is not done, for `plan` and logs ("xrdp not installed"). */
  why?: string
  /** For file steps: a unified diff of what apply would write. */
  diff?: string
  /** For a read-only check that failed: what to do about it. */
  hint?: string
  /** A read-only check not run because a check it presumes did not pass; `why` says which. */
  notChecked?: boolean
  /**
   * The state holds because the step cannot apply here (swap in a container): what the person
   * should hear. The runner says it as a warning when the step is found done.
   */
  warning?: string
}

export interface Step {
  /** Stable and dotted ("rdp-config.xrdp-ini"): renaming one breaks resume. */
  id: string
  title: string
  /**
   * Needs nothing the steps before it in its phase do (a download that only fills the cache): the
   * runner may run it while those steps work. The next step that is not in the background waits.
   */
  background?: boolean
  /** A read-only check whose observed text `verify` shows when it passes (a fingerprint). */
  tell?: true
  /** The Debian packages its apply may install (for joinsEarlier, below). */
  packages?: readonly string[]
  /**
   * Its packages may be installed by an earlier phase's package transaction, journaled as this
   * step's own change (packages.ts): one dpkg pass instead of one per phase.
   */
  joinsEarlier?: boolean
  /**
   * The independent part of its phase this step belongs to (an IDE: "cursor"). When a step of a
   * part fails, the runner undoes what that part changed in this run, skips its later steps (and
   * the read-only checks of the same part), and the phase goes on with the other parts.
   */
  part?: string
  /**
   * The developer this step is for (their account, home files, services): journaled with each of
   * its changes, so `vps-provision user remove NAME` undoes exactly what was made for them.
   */
  user?: string
  /** Pure query: must not change the machine. */
  check(sys: System): Promise<Check>
  apply(ctx: StepContext): Promise<void>
}

/** One journaled change, declared before it is made. */
export interface Change {
  actionType: ActionType
  target: string
  undo: Undo
  /** Journaled as a later step's own change (its phase, its id): that step's part of this one. */
  for?: { phase: PhaseName; step: string }
}

/** The packages a step of the run will install (Step.packages), where it stands in the run. */
export interface PlannedPackages {
  phase: PhaseName
  step: string
  names: readonly string[]
  joinsEarlier: boolean
}

/** What the change left behind, recorded in the `done` record so rollback can detect drift. */
export interface ChangeResult {
  /** path -> sha256 of the content we wrote (null: we removed it). */
  files?: Record<string, string | null>
  /** Short output for the session's ProvisioningAction.output (already redacted). */
  output?: string
}

export interface StepContext {
  sys: System
  cfg: Config
  facts: Facts
  /**
   * Write-ahead journaling: appends and fsyncs `begin` with the undo, runs `fn`, then appends
   * `done` (with `fn`'s ChangeResult) or `failed`. The only way a step may change the machine.
   */
  change(change: Change, fn: () => Promise<ChangeResult | undefined>): Promise<void>
  /**
   * Copies a file of the managed machine into this session's backups and returns the undo that
   * restores it, or a remove-file undo when the file does not exist yet.
   */
  backup(path: string): Promise<Undo>
  /**
   * Records every path under `root` as it is now (kind, mode, owner, symlink target, sha256) and
   * keeps in this session's backups what it takes to put any of them back exactly. Returns where
   * the record is and what it holds.
   */
  backupTree(root: string): Promise<TreeBackup>
  /** Registers a value that must never be written anywhere (journal, logs, JSON). */
  secret(value: string): void
  log(text: string): void
  warn(text: string): void
  /** A warning about a retried network attempt, also kept in the session for `status`. */
  retried(text: string): void
  /** Streams a line of progress from long work (apt) to the renderers. */
  progress(line: string): void
  outputs: SessionOutputs
  /** The step this context belongs to. */
  place: { phase: PhaseName; step: string }
  /** This run's session id: a label on what we make outside files (a Docker volume), for its undo. */
  session: string
  /** What the package steps of this run's phases install (Step.packages), in run order. */
  plannedPackages: readonly PlannedPackages[]
}

/** What phases hand to the final summary. Nothing secret goes in here except `credentials`. */
export interface SessionOutputs {
  developerUser: DeveloperUser | null
  ideInstallations: IDEInstallation[]
  rdpCertificate: RdpCertificate | null
  /** Only in memory; shown once and never persisted by the engine. */
  credentials: { username: string; password: string } | null
  /** Where the credentials were written when there was no TTY. */
  credentialsFile: string | null
  notes: string[]
  vpsInfo: VPSInstance | null
  /** Parts (Step.part) that failed in this run and were undone; the run ends "partly done". */
  failedParts: PartFailure[]
}

export interface PartFailure {
  phase: PhaseName
  part: string
  step: string
  error: string
  /** The command that tries this part again. */
  retry: string
  /** Its changes were undone (false: it failed before changing anything, in preflight). */
  undone: boolean
}

export interface PhaseInput {
  cfg: Config
  facts: Facts
  /** A person is watching a terminal: a generated password can be shown instead of filed. */
  interactive: boolean
  /** Users that earlier sessions created and that are not rolled back: ours to reuse. */
  createdUsers: readonly string[]
  /**
   * A person at a terminal started this run and changes of how SSH is reached get a revert timer
   * (steps/ssh-guard.ts); null: unattended, no terminal, a timeout of 0, or no systemd.
   */
  sshGuard?: SshGuard | null
}

/** How a change of how SSH is reached waits for its confirmation; the engine (ssh-guard.ts) makes it. */
export interface SshGuard {
  /** Seconds until the timer undoes the change. */
  seconds: number
  /** The transient timer, `vps-provision-revert-<session>.timer`. */
  timer: string
  /** `systemd-run` argv that arms it; the revert it runs is `vps-provision revert-pending <session>`. */
  armArgv: readonly string[]
  /** Records, for `confirm`, who started the run and when the change is undone. */
  armed(deadline: Date): Promise<void>
  /** What `confirm` or the revert recorded: still waiting, confirmed, reverted. */
  outcome(): Promise<'armed' | 'confirmed' | 'reverted' | 'none'>
  /** How often the waiting step looks again (tests: a few ms). */
  pollMs: number
}

export interface Phase {
  name: PhaseName
  title: string
  /** Relative expected duration, for the ETA. */
  weight: number
  /** Needs systemd as PID 1 (services). Others can run in a chroot or container. */
  needsSystemd: boolean
  /** Only assertions (preflight, verification): always runs, never checkpointed, never journals. */
  readOnly: boolean
  steps(input: PhaseInput): Step[]
  /** The command that tries one failed part (Step.part) of this phase again, for the summary. */
  retryPart?(part: string): string
}
