// The StepContext the runner hands to each step: the single choke point through which a step may
// change the machine. `change` is the write-ahead protocol: begin (fsync'd) -> change -> done.
import { basename, join } from 'node:path'
import type { Config } from '../config/schema.js'
import { errorMessage, ProvisionError } from '../model/errors.js'
import { type EventSink, now } from '../model/events.js'
import type { PhaseName, ProvisioningAction } from '../model/schemas.js'
import { describeUndo, type Undo } from '../model/undo.js'
import type {
  Change,
  ChangeResult,
  Facts,
  PlannedPackages,
  SessionOutputs,
  StepContext,
} from '../steps/types.js'
import { ensurePrivateDir, writeFileAtomic } from '../system/atomic.js'
import { redact, type System } from '../system/port.js'
import { sha256 as sha256Hex } from '../util/hash.js'
import { type Failpoint, failpoint } from './failpoints.js'
import type { Journal } from './journal.js'
import { backupTree } from './tree-backup.js'

/** Thrown at the next safe point after SIGINT/SIGTERM: nothing half-done is left unrecorded. */
export class Aborted extends ProvisionError {
  constructor(readonly signalName: string) {
    const code = signalName === 'SIGTERM' ? 143 : 130
    super(
      `Stopped by ${signalName}`,
      code as 130 | 143,
      'Resume with `vps-provision run`, or undo with `vps-provision rollback latest`.',
    )
    this.name = 'Aborted'
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Aborted(typeof signal.reason === 'string' ? signal.reason : 'SIGINT')
}

export interface Secrets {
  add(value: string): void
  scrub(text: string): string
}

export function secretsFor(journal: Journal | null): Secrets {
  const values: string[] = []
  return {
    add(value) {
      if (value.length === 0 || values.includes(value)) return
      values.push(value)
      journal?.addSecret(value)
    },
    scrub: (text) => redact(text, values),
  }
}

export interface ContextDeps {
  sys: System
  cfg: Config
  facts: Facts
  journal: Journal
  backupDir: string
  emit: EventSink
  signal: AbortSignal
  secrets: Secrets
  outputs: SessionOutputs
  /** Where an in-process crash test stops a change; unset, the SIGKILL failpoints of failpoints.ts. */
  failpoint?: (name: Failpoint) => void
  /** Step.packages of every phase of the run. */
  plannedPackages?: readonly PlannedPackages[]
  /** The session's record of a phase's actions (a change journaled for a later phase goes there). */
  actionsOf?: (phase: PhaseName) => ProvisioningAction[]
  /** The session's record of a phase's retried network attempts (shown by `status`). */
  retriesOf?: (phase: PhaseName) => string[]
}

export function makeStepContext(
  deps: ContextDeps,
  phase: PhaseName,
  step: string,
  actions: ProvisioningAction[],
  user?: string,
): StepContext {
  const { sys, emit, secrets } = deps
  return {
    sys,
    cfg: deps.cfg,
    facts: deps.facts,
    outputs: deps.outputs,
    secret: (value) => secrets.add(value),
    log: (text) => emit({ type: 'message', ts: now(), level: 'info', text: secrets.scrub(text) }),
    warn: (text) => emit({ type: 'message', ts: now(), level: 'warn', text: secrets.scrub(text) }),
    retried(text) {
      const clean = secrets.scrub(text)
      emit({ type: 'message', ts: now(), level: 'warn', text: clean })
      deps.retriesOf?.(phase).push(`${step}: ${clean}`)
    },
    progress: (line) => emit({ type: 'output', ts: now(), phase, line: secrets.scrub(line) }),
    backup: (path) => backupFile(sys, deps.backupDir, path),
    backupTree: (root) => backupTree(sys, deps.backupDir, root),
    change: (change, fn) => journaledChange(deps, { phase, step, actions, user }, change, fn),
    place: { phase, step },
    // The backup directory is named by the session id (paths.ts: backups/<id>).
    session: basename(deps.backupDir),
    plannedPackages: deps.plannedPackages ?? [],
  }
}

interface StepPlace {
  phase: PhaseName
  step: string
  /** The session's record of this phase's actions, which the change appends to. */
  actions: ProvisioningAction[]
  /** The developer the step is for (Step.user). */
  user?: string | undefined
}

/** The write-ahead protocol: `begin` is durable before `fn` runs; `done` or `failed` follows it. */
async function journaledChange(
  deps: ContextDeps,
  place: StepPlace,
  change: Change,
  fn: () => Promise<ChangeResult | undefined>,
): Promise<void> {
  const { journal, secrets } = deps
  const stopHere = deps.failpoint ?? failpoint
  throwIfAborted(deps.signal)
  stopHere('action.before-begin')
  const { actionType: action_type, target, undo } = change
  // A later step's part of this change is journaled, and listed, as that step's own.
  const at = change.for
    ? { ...change.for, actions: deps.actionsOf?.(change.for.phase) ?? place.actions }
    : place
  const user = place.user
  const seq = journal.begin({
    phase: at.phase,
    step: at.step,
    action_type,
    target,
    undo,
    ...(user ? { user } : {}),
  })
  stopHere('action.after-begin')
  const action: ProvisioningAction = {
    sequence_number: seq,
    action_type,
    target: secrets.scrub(target),
    status: 'PENDING',
    rollback_command: secrets.scrub(describeUndo(undo)),
    timestamp: now(),
    output: '',
  }
  at.actions.push(action)
  emitAction(deps.emit, action, 'begin')
  let result: ChangeResult | undefined
  try {
    result = await fn()
  } catch (err) {
    const message = secrets.scrub(errorMessage(err))
    journal.failed(seq, message)
    action.status = 'FAILED'
    action.output = message.slice(-2000)
    emitAction(deps.emit, action, 'failed', message)
    throw err
  }
  stopHere('action.after-change')
  journal.done(seq, result ?? {})
  stopHere('action.after-done')
  action.status = 'COMPLETED'
  action.output = secrets.scrub(result?.output ?? '').slice(-2000)
  emitAction(deps.emit, action, 'done')
}

function emitAction(
  emit: EventSink,
  action: ProvisioningAction,
  status: 'begin' | 'done' | 'failed',
  detail?: string,
): void {
  const { sequence_number: seq, action_type: actionType, target } = action
  emit({
    type: 'action',
    ts: now(),
    seq,
    actionType,
    target,
    status,
    ...(detail === undefined ? {} : { detail }),
  })
}

async function backupFile(sys: System, backupDir: string, path: string): Promise<Undo> {
  const st = await sys.stat(path)
  if (!st) return { kind: 'remove-file', path }
  if (st.kind !== 'file') {
    throw new ProvisionError(`Unable to back up ${path}: it is a ${st.kind}, not a regular file`, 2)
  }
  const data = (await sys.readFile(path)) ?? Buffer.alloc(0)
  const sha256 = sha256Hex(data)
  // The path hash keeps two files with one basename apart; the sha keeps two versions apart.
  const tag = sha256Hex(path).slice(0, 8)
  const name = `${tag}-${sha256.slice(0, 12)}-${basename(path)}`
  await ensurePrivateDir(backupDir)
  await writeFileAtomic(join(backupDir, name), data, 0o600)
  return { kind: 'restore-file', path, backup: name, sha256, mode: st.mode, uid: st.uid, gid: st.gid }
}
