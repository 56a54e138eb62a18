// The StepContext the runner hands to each step: the single choke point through which a step may
// change the machine. `change` is the write-ahead protocol: begin (fsync'd) -> change -> done.
import { basename, join } from 'node:path'
import type { Config } from '../config/schema.js'
import { errorMessage, ProvisionError } from '../model/errors.js'
import { type EventSink, now } from '../model/events.js'
import type { PhaseName, ProvisioningAction } from '../model/schemas.js'
import { describeUndo, type Undo } from '../model/undo.js'
import type { Facts, SessionOutputs, StepContext } from '../steps/types.js'
import { ensurePrivateDir, writeFileAtomic } from '../system/atomic.js'
import { redact, type System } from '../system/port.js'
import { sha256 as sha256Hex } from '../util/hash.js'
import { failpoint } from './failpoints.js'
import type { Journal } from './journal.js'

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
}

export function makeStepContext(
  deps: ContextDeps,
  phase: PhaseName,
  step: string,
  actions: ProvisioningAction[],
): StepContext {
  const { sys, journal, emit, secrets } = deps
  return {
    sys,
    cfg: deps.cfg,
    facts: deps.facts,
    outputs: deps.outputs,
    secret: (value) => secrets.add(value),
    log: (text) => emit({ type: 'message', ts: now(), level: 'info', text: secrets.scrub(text) }),
    warn: (text) => emit({ type: 'message', ts: now(), level: 'warn', text: secrets.scrub(text) }),
    progress: (line) => emit({ type: 'output', ts: now(), phase, line: secrets.scrub(line) }),
    backup: (path) => backupFile(sys, deps.backupDir, path),

    async change(change, fn) {
      throwIfAborted(deps.signal)
      failpoint('action.before-begin')
      const seq = journal.begin({
        phase,
        step,
        action_type: change.actionType,
        target: change.target,
        undo: change.undo,
      })
      failpoint('action.after-begin')
      const target = secrets.scrub(change.target)
      const action: ProvisioningAction = {
        sequence_number: seq,
        action_type: change.actionType,
        target,
        status: 'PENDING',
        rollback_command: secrets.scrub(describeUndo(change.undo)),
        timestamp: now(),
        output: '',
      }
      actions.push(action)
      emit({ type: 'action', ts: now(), seq, actionType: change.actionType, target, status: 'begin' })
      let result: Awaited<ReturnType<typeof fn>>
      try {
        result = await fn()
      } catch (err) {
        const message = secrets.scrub(errorMessage(err))
        journal.failed(seq, message)
        action.status = 'FAILED'
        action.output = message.slice(-2000)
        emit({
          type: 'action',
          ts: now(),
          seq,
          actionType: change.actionType,
          target,
          status: 'failed',
          detail: message,
        })
        throw err
      }
      failpoint('action.after-change')
      journal.done(seq, result ?? {})
      failpoint('action.after-done')
      action.status = 'COMPLETED'
      action.output = secrets.scrub(result?.output ?? '').slice(-2000)
      emit({ type: 'action', ts: now(), seq, actionType: change.actionType, target, status: 'done' })
    },
  }
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
