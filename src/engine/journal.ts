// The write-ahead transaction log's writer: each record is appended and fsync'd before the change
// it announces, never rewritten. The format and its reader are in journal-format.ts; what the
// records say about each action is in journal-actions.ts.
import * as fs from 'node:fs'
import { dirname } from 'node:path'
import { FORMAT } from '../model/format.js'
import type { ActionType, PhaseName } from '../model/schemas.js'
import type { Undo } from '../model/undo.js'
import type { ChangeResult } from '../steps/types.js'
import { fsyncDirSync, UnsafePathError } from '../system/atomic.js'
import { redact } from '../system/port.js'
import { sha256 } from '../util/hash.js'
import { type Body, JournalRecord, JournalWriteError, type Sequencer, scanNamed } from './journal-format.js'

export { type ActionState, type DerivedAction, deriveActions, toTransactionLog } from './journal-actions.js'
export { JournalRecord, type JournalView, JournalWriteError, readJournal } from './journal-format.js'

export interface JournalOptions {
  /** Replaces fs.writeSync for appends, so tests can aim them at /dev/full for a real ENOSPC. */
  write?: (fd: number, data: Buffer) => number
  now?: () => Date
}

export interface BeginInput {
  phase: PhaseName
  step: string
  action_type: ActionType
  target: string
  undo: Undo
  /** The developer the change was made for (Step.user), when it was made for one. */
  user?: string
}

export class Journal {
  private readonly secrets = new Set<string>()
  private broken: string | null = null
  /** What opening found: a torn tail that was cut off. */
  readonly warnings: string[]

  private constructor(
    readonly path: string,
    private fd: number,
    private lastSum: string,
    private readonly seq: Sequencer,
    warnings: string[],
    private readonly opts: JournalOptions,
  ) {
    this.warnings = warnings
  }

  /** Creates the journal or reopens it, continuing its chain and numbering. The directory must exist. */
  static open(path: string, opts: JournalOptions = {}): Journal {
    const { O_RDWR, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants
    const flags = O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK
    let fd: number
    try {
      fd = fs.openSync(path, flags, 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP')
        throw new UnsafePathError('open journal', path, 'it is a symbolic link')
      throw err
    }
    try {
      const st = fs.fstatSync(fd)
      if (!st.isFile()) throw new UnsafePathError('open journal', path, 'it is not a regular file')
      fs.fchmodSync(fd, 0o600)
      const found = scanNamed(path, fs.readFileSync(fd))
      if (found.damage) throw new Error(`Unable to open journal ${path}: damaged at ${found.damage}`)
      // Cut the torn tail off now, or the next append would glue onto it and damage the middle.
      if (found.goodLength < st.size) fs.ftruncateSync(fd, found.goodLength)
      fs.fsyncSync(fd)
      if (st.size === 0) fsyncDirSync(dirname(path))
      return new Journal(path, fd, found.lastSum, found.seq, found.warnings, opts)
    } catch (err) {
      fs.closeSync(fd)
      throw err
    }
  }

  /** The value is replaced by [REDACTED] in every line written from now on. */
  addSecret(value: string): void {
    if (value.length > 0) this.secrets.add(value)
  }

  /** Durable before it returns: only then may the caller make the change. */
  begin(input: BeginInput): number {
    const seq = this.seq.maxSeq + 1
    const { phase, step, action_type, target, undo, user } = input
    this.append({ type: 'begin', seq, phase, step, action_type, target, undo, ...(user ? { user } : {}) })
    return seq
  }

  done(seq: number, result: ChangeResult = {}): void {
    this.append({ type: 'done', seq, result })
  }

  failed(seq: number, error: string): void {
    this.append({ type: 'failed', seq, error })
  }

  undone(seq: number, outcome: 'undone' | 'skipped', detail: string): void {
    this.append({ type: 'undone', seq, outcome, detail })
  }

  close(): void {
    if (this.fd < 0) return
    fs.closeSync(this.fd)
    this.fd = -1
  }

  private append(body: Body): void {
    if (this.fd < 0) throw new JournalWriteError(this.path, 'the journal is closed')
    if (this.broken) throw new JournalWriteError(this.path, `an earlier append failed (${this.broken})`)
    const reason = this.seq.reject(body)
    if (reason) throw new Error(`Unable to journal ${body.type} for seq ${body.seq}: ${reason}`)
    const ts = (this.opts.now?.() ?? new Date()).toISOString()
    const unsigned = redactDeep({ v: FORMAT.journal, ...body, ts, prev: this.lastSum }, [...this.secrets])
    const sum = sha256(JSON.stringify(unsigned))
    const parsed = JournalRecord.safeParse({ ...unsigned, sum })
    const line = Buffer.from(`${JSON.stringify({ ...unsigned, sum })}\n`)
    // A secret that overlaps the record's own structure cannot be redacted by value: refuse.
    const leak = [...this.secrets].some((s) => line.includes(JSON.stringify(s).slice(1, -1)))
    if (!parsed.success || leak) {
      const why = parsed.success
        ? 'a secret could not be redacted'
        : `invalid record: ${parsed.error.issues[0]?.message}`
      throw new Error(`Unable to journal ${body.type} for seq ${body.seq}: ${why}`)
    }
    try {
      // A full disk first shows as a short write; writing the rest then fails with the real
      // reason (ENOSPC), which is what a person needs to read.
      const write = this.opts.write ?? fs.writeSync
      for (let off = 0; off < line.length; ) {
        const n = write(this.fd, off === 0 ? line : line.subarray(off))
        if (n <= 0) throw new Error(`short write (${off} of ${line.length} bytes)`)
        off += n
      }
      fs.fsyncSync(this.fd)
    } catch (err) {
      // A partial line may be on disk now; appending after it would turn a torn tail into damage.
      this.broken = (err as Error).message
      throw new JournalWriteError(this.path, this.broken)
    }
    this.seq.accept(parsed.data)
    this.lastSum = sum
  }
}

/** Redacts by value inside every string (and every key of nested maps such as result.files). */
function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value
  if (typeof value === 'string') return redact(value, secrets) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets)) as T
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [redact(k, secrets), redactDeep(v, secrets)])
    return Object.fromEntries(entries) as T
  }
  return value
}
