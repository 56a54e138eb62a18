// A minimal in-memory StepContext for step-kind tests: records every journaled change (with its
// undo and result), keeps backups in a Map, collects secrets, and can undo everything LIFO through
// the real undo executor. converge() is the runner's contract in small: check -> apply -> check.
import { basename } from 'node:path'
import { expect } from 'vitest'
import { defaultConfig } from '../../src/config/schema.js'
import { emptyOutputs } from '../../src/engine/new-session.js'
import { executeUndo, type UndoOutcome } from '../../src/engine/undo-executor.js'
import type { Undo } from '../../src/model/undo.js'
import type { Change, ChangeResult, Step, StepContext } from '../../src/steps/types.js'
import type { System } from '../../src/system/port.js'
import { sha256 as sha256Hex } from '../../src/util/hash.js'

export interface RecordedChange extends Change {
  status: 'begun' | 'done' | 'failed'
  result?: ChangeResult
  error?: string
}

export interface Harness {
  ctx: StepContext
  changes: RecordedChange[]
  backups: Map<string, Buffer>
  secrets: string[]
  messages: string[]
  /** Lines streamed by long work (apt). */
  progress: string[]
}

/** Stands in for SIGKILL: the harness throws it at the chosen point of the chosen change. */
export class SimulatedCrash extends Error {}

export interface HarnessOptions {
  /** Crash at the n-th change (1-based): after `begin` is recorded, before or after the change. */
  crash?: { at: number; when: 'before-change' | 'after-change' }
}

export function makeHarness(sys: System, opts: HarnessOptions = {}): Harness {
  const changes: RecordedChange[] = []
  const backups = new Map<string, Buffer>()
  const secrets: string[] = []
  const messages: string[] = []
  const progress: string[] = []
  const ctx: StepContext = {
    sys,
    cfg: defaultConfig(),
    facts: { virtualization: 'kvm', container: false, chroot: false, systemd: true, architecture: 'amd64' },
    outputs: emptyOutputs(),
    secret: (value) => {
      secrets.push(value)
    },
    log: (text) => messages.push(`info: ${text}`),
    warn: (text) => messages.push(`warn: ${text}`),
    progress: (line) => progress.push(line),
    async backup(path): Promise<Undo> {
      const st = await sys.stat(path)
      if (!st) return { kind: 'remove-file', path }
      const data = (await sys.readFile(path)) ?? Buffer.alloc(0)
      const name = `${backups.size + 1}-${basename(path)}`
      backups.set(name, Buffer.from(data))
      const sha256 = sha256Hex(data)
      return { kind: 'restore-file', path, backup: name, sha256, mode: st.mode, uid: st.uid, gid: st.gid }
    },
    async change(change, fn) {
      // Like the journal: the undo is recorded before the change is made.
      const rec: RecordedChange = { ...change, status: 'begun' }
      changes.push(rec)
      const crashHere = opts.crash?.at === changes.length
      if (crashHere && opts.crash?.when === 'before-change') throw new SimulatedCrash()
      try {
        const result = (await fn()) ?? {}
        if (crashHere) throw new SimulatedCrash()
        rec.result = result
        rec.status = 'done'
      } catch (err) {
        if (err instanceof SimulatedCrash) throw err
        rec.status = 'failed'
        rec.error = err instanceof Error ? err.message : String(err)
        throw err
      }
    },
  }
  return { ctx, changes, backups, secrets, messages, progress }
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
    await step.apply(h.ctx)
    const after = await step.check(sys)
    if (!after.done) throw new Error(`step did not converge: ${step.id}: ${after.why ?? '(no reason)'}`)
  }
  return h
}

/** Undoes every recorded change newest first, like `rollback`. */
export async function undoAll(
  sys: System,
  h: Harness,
  opts: { force?: boolean } = {},
): Promise<UndoOutcome[]> {
  const outcomes: UndoOutcome[] = []
  for (const c of [...h.changes].reverse()) {
    outcomes.push(
      await executeUndo(sys, c.undo, {
        backupDir: '/backups',
        readBackup: async (rel) => h.backups.get(rel) ?? null,
        written: c.status === 'done' ? (c.result?.files ?? null) : null,
        force: opts.force ?? false,
        keepDrifted: async (path) => `/backups/drifted${path}`,
      }),
    )
  }
  return outcomes
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
  for (let at = 1; at <= h.changes.length; at++) {
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
  expect(redo.changes.length).toBe(h.changes.length)
  expect(sys.snapshot()).toEqual(after)
  return { sys, h, before }
}

/** A compact view of the journal for table assertions: "FILE_CREATE /etc/x -> remove-file". */
export const journaled = (h: Harness): string[] =>
  h.changes.map((c) => `${c.actionType} ${c.target} -> ${c.undo.kind}`)
