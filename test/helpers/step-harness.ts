// Step-kind tests on the engine's own StepContext (makeStepContext) with a real Journal in a temp
// state root: every change goes through the write-ahead path production uses, every backup is a
// file, and `changes` is what that journal says. converge() is the runner's contract in small:
// check -> apply -> check; undoAll() undoes the journal newest first through the real executor.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect } from 'vitest'
import { defaultConfig } from '../../src/config/schema.js'
import { type ContextDeps, makeStepContext, type Secrets, secretsFor } from '../../src/engine/context.js'
import type { Failpoint } from '../../src/engine/failpoints.js'
import {
  type ActionState,
  type DerivedAction,
  deriveActions,
  Journal,
  readJournal,
} from '../../src/engine/journal.js'
import { emptyOutputs } from '../../src/engine/new-session.js'
import { statePaths } from '../../src/engine/paths.js'
import { executeUndo, type UndoOutcome } from '../../src/engine/undo-executor.js'
import type { RunEvent } from '../../src/model/events.js'
import { newSessionId } from '../../src/model/ids.js'
import type { PhaseName } from '../../src/model/schemas.js'
import type { Change, ChangeResult, Step, StepContext } from '../../src/steps/types.js'
import type { System } from '../../src/system/port.js'

export interface RecordedChange extends Change {
  /** 'in-doubt': the journal has the `begin` only (a crash came before `done`). */
  status: ActionState
  result?: ChangeResult
  error?: string
}

export interface Harness {
  /** A context for work outside any one step; converge() gives each step its own. */
  ctx: StepContext
  contextFor(stepId: string): StepContext
  /** Read back from the journal file each time. */
  readonly changes: RecordedChange[]
  backupDir: string
  secrets: string[]
  messages: string[]
  /** Lines streamed by long work (apt). */
  progress: string[]
}

/** Stands in for SIGKILL: the harness throws it at the chosen point of the chosen change. */
export class SimulatedCrash extends Error {}

export interface HarnessOptions {
  /** Crash at the n-th change (1-based): after `begin` is journaled, before or after the change. */
  crash?: { at: number; when: 'before-change' | 'after-change' }
}

// Step kinds belong to no phase; the journal wants one, and nothing here reads it.
const PHASE: PhaseName = 'system-prep'
const CRASH_POINT = { 'before-change': 'action.after-begin', 'after-change': 'action.after-change' } as const

// RAM where there is some: a journal fsyncs every record, which made these tests take 60% longer
// on a disk, and durability is the crash tests' subject (test/unit/crash.test.ts), not theirs.
const TMP = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
let stateRoots: string | null = null
const journals: Journal[] = []
// A test uses its harnesses within itself: their journals close with it (a long file would
// otherwise hold hundreds of descriptors); the state roots go with the file.
afterEach(() => {
  for (const j of journals.splice(0)) j.close()
})
afterAll(() => {
  if (stateRoots) rmSync(stateRoots, { recursive: true, force: true })
  stateRoots = null
})

export function makeHarness(sys: System, opts: HarnessOptions = {}): Harness {
  stateRoots ??= mkdtempSync(join(TMP, 'vps-step-harness-'))
  const paths = statePaths(mkdtempSync(join(stateRoots, 'root-')))
  const session = newSessionId()
  mkdirSync(paths.logDir, { recursive: true, mode: 0o700 })
  const journal = Journal.open(paths.transactionLog(session))
  journals.push(journal)
  const recorded = { secrets: [] as string[], messages: [] as string[], progress: [] as string[] }
  const deps: ContextDeps = {
    sys,
    cfg: defaultConfig(),
    facts: { virtualization: 'kvm', container: false, chroot: false, systemd: true, architecture: 'amd64' },
    journal,
    backupDir: paths.backupDir(session),
    emit: (e: RunEvent) => record(recorded, e),
    signal: new AbortController().signal,
    secrets: recordingSecrets(secretsFor(journal), recorded.secrets),
    outputs: emptyOutputs(),
    failpoint: crashAt(opts.crash),
  }
  const contextFor = (stepId: string) => makeStepContext(deps, PHASE, stepId, [])
  return {
    ctx: contextFor('harness'),
    contextFor,
    get changes() {
      return deriveActions(readJournal(journal.path).records).map(asRecorded)
    },
    backupDir: paths.backupDir(session),
    ...recorded,
  }
}

function record(into: { messages: string[]; progress: string[] }, e: RunEvent): void {
  if (e.type === 'message') into.messages.push(`${e.level}: ${e.text}`)
  if (e.type === 'output') into.progress.push(e.line)
}

function recordingSecrets(secrets: Secrets, seen: string[]): Secrets {
  return {
    add(value) {
      seen.push(value)
      secrets.add(value)
    },
    scrub: secrets.scrub,
  }
}

/**
 * Throws SimulatedCrash where the engine's failpoint would SIGKILL: `begin` stays in doubt. Changes
 * nest (a package transaction's parts, its maintainer files): `after-change` belongs to the
 * innermost change still open.
 */
function crashAt(crash: HarnessOptions['crash']): (name: Failpoint) => void {
  let begun = 0
  const open: number[] = []
  return (name) => {
    if (name === 'action.after-begin') open.push(++begun)
    const at = name === 'action.after-begin' ? begun : open.at(-1)
    if (name === 'action.after-done') open.pop()
    if (crash && at === crash.at && name === CRASH_POINT[crash.when]) throw new SimulatedCrash()
  }
}

function asRecorded(a: DerivedAction): RecordedChange {
  return {
    actionType: a.action_type,
    target: a.target,
    undo: a.undo,
    status: a.state,
    ...(a.result ? { result: a.result } : {}),
    ...(a.error === null ? {} : { error: a.error }),
  }
}

/** Runs each step like the runner does; throws when a step's check still fails after apply. */
export async function converge(
  sys: System,
  steps: readonly Step[],
  h: Harness = makeHarness(sys),
): Promise<Harness> {
  for (const step of steps) {
    const before = await step.check(sys)
    if (before.done) continue
    await step.apply(h.contextFor(step.id))
    const after = await step.check(sys)
    if (!after.done) throw new Error(`step did not converge: ${step.id}: ${after.why ?? '(no reason)'}`)
  }
  return h
}

/** Undoes every journaled change newest first, like `rollback`. */
export async function undoAll(
  sys: System,
  h: Harness,
  opts: { force?: boolean } = {},
): Promise<UndoOutcome[]> {
  const outcomes: UndoOutcome[] = []
  for (const c of h.changes.reverse()) {
    outcomes.push(
      await executeUndo(sys, c.undo, {
        backupDir: h.backupDir,
        readBackup: async (name) => readBackup(h.backupDir, name),
        written: c.status === 'done' ? (c.result?.files ?? null) : null,
        force: opts.force ?? false,
        keepDrifted: async (path) => join(h.backupDir, 'drifted', path),
      }),
    )
  }
  return outcomes
}

function readBackup(dir: string, name: string): Buffer | null {
  try {
    return readFileSync(join(dir, name))
  } catch {
    return null
  }
}

export interface ContractSystem extends System {
  snapshot(): unknown
}

/**
 * The contract every step kind keeps, checked on a fresh machine from `fresh()`:
 * it converges; a second run journals nothing; undoing the journal LIFO restores the starting
 * snapshot exactly; and the same holds after a crash right before or right after any one change
 * (that change's undo then runs without knowing whether the change happened).
 */
export async function expectContract<S extends ContractSystem>(
  fresh: () => S | Promise<S>,
  steps: () => readonly Step[],
  opts: { restores?: boolean } = {},
): Promise<{ sys: S; h: Harness; before: unknown }> {
  const sys = await fresh()
  const before = sys.snapshot()
  const h = await converge(sys, steps())
  const again = await converge(sys, steps())
  if (again.changes.length > 0) throw new Error(`second run journaled ${journaled(again).join(', ')}`)
  const after = sys.snapshot()
  if (opts.restores === false) return { sys, h, before }
  await undoAll(sys, h)
  expect(sys.snapshot(), 'rollback restores the starting state').toEqual(before)
  const changed = h.changes.length
  for (let at = 1; at <= changed; at++) {
    for (const when of ['before-change', 'after-change'] as const) {
      const crashed = await fresh()
      const partial = makeHarness(crashed, { crash: { at, when } })
      await expect(converge(crashed, steps(), partial)).rejects.toBeInstanceOf(SimulatedCrash)
      await undoAll(crashed, partial)
      expect(crashed.snapshot(), `rollback after a crash ${when} change ${at}`).toEqual(before)
    }
  }
  // Converging again after the rollback ends where the first run ended.
  const redo = await converge(sys, steps())
  expect(redo.changes.length).toBe(changed)
  expect(sys.snapshot()).toEqual(after)
  return { sys, h, before }
}

/** A compact view of the journal for table assertions: "FILE_CREATE /etc/x -> remove-file". */
export const journaled = (h: Harness): string[] =>
  h.changes.map((c) => `${c.actionType} ${c.target} -> ${c.undo.kind}`)
