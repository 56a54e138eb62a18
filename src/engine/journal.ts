// The write-ahead transaction log: one checksummed, hash-chained JSON record per line, appended and
// fsync'd before the change it announces, never rewritten. Reading tolerates exactly one kind of
// damage, a torn last line (the crash came mid-append, so its change was never made); anything
// broken before that means we no longer know what happened, and callers refuse automatic rollback.
import * as fs from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import { ActionType, PhaseName, type TransactionLogEntry } from '../model/schemas.js'
import { redact } from '../system/port.js'
import { fsyncDirSync, readFileNoFollowSync, sha256Hex, UnsafePathError } from './atomic.js'
import type { ChangeResult } from './types.js'
import { describeUndo, Undo } from './undo.js'

const hex64 = z.string().regex(/^[0-9a-f]{64}$/)
const GENESIS = '0'.repeat(64)
const base = {
  v: z.literal(1),
  seq: z.number().int().positive(),
  ts: z.iso.datetime(),
  prev: hex64,
  sum: hex64,
}
const ChangeResultSchema = z.object({
  files: z.record(z.string(), z.string().nullable()).optional(),
  output: z.string().optional(),
})

export const JournalRecord = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('begin'),
    phase: PhaseName,
    step: z.string(),
    action_type: ActionType,
    target: z.string(),
    undo: Undo,
  }),
  z.object({ ...base, type: z.literal('done'), result: ChangeResultSchema }),
  z.object({ ...base, type: z.literal('failed'), error: z.string() }),
  z.object({
    ...base,
    type: z.literal('undone'),
    outcome: z.enum(['undone', 'skipped']),
    detail: z.string(),
  }),
])
export type JournalRecord = z.infer<typeof JournalRecord>
// What a caller supplies; the journal adds version, time and chain. Distributes over the union.
type Body = JournalRecord extends infer R
  ? R extends unknown
    ? Omit<R, 'v' | 'ts' | 'prev' | 'sum'>
    : never
  : never

export class JournalWriteError extends Error {
  constructor(path: string, reason: string) {
    super(`Unable to append to journal ${path}: ${reason}`)
    this.name = 'JournalWriteError'
  }
}

/** Which records may follow which; shared by reader and writer so we never write what we'd reject. */
class Sequencer {
  maxSeq = 0
  private readonly state = new Map<number, { resolved: boolean; undone: boolean }>()

  reject(r: Pick<JournalRecord, 'type' | 'seq'>): string | null {
    const s = this.state.get(r.seq)
    if (r.type === 'begin') return r.seq > this.maxSeq ? null : `seq ${r.seq} begins again`
    if (!s) return `${r.type} for seq ${r.seq}, which never began`
    if (r.type === 'undone') return s.undone ? `seq ${r.seq} undone twice` : null
    return s.resolved || s.undone ? `${r.type} for seq ${r.seq}, which already ended` : null
  }

  accept(r: Pick<JournalRecord, 'type' | 'seq'>): void {
    if (r.type === 'begin') {
      this.maxSeq = r.seq
      this.state.set(r.seq, { resolved: false, undone: false })
      return
    }
    const s = this.state.get(r.seq)
    if (s && r.type === 'undone') s.undone = true
    else if (s) s.resolved = true
  }
}

interface Scan {
  records: JournalRecord[]
  warnings: string[]
  damage: string | null
  /** Bytes up to the end of the last trusted line: what a writer keeps. */
  goodLength: number
  lastSum: string
  seq: Sequencer
}

function checkLine(text: string, prev: string, seq: Sequencer): JournalRecord | string {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(text)
  } catch {
    return 'not valid JSON'
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object'
  const { sum, ...rest } = raw
  if (sum !== sha256Hex(JSON.stringify(rest))) return 'checksum mismatch'
  const parsed = JournalRecord.safeParse(raw)
  if (!parsed.success) return `invalid record: ${parsed.error.issues[0]?.message ?? 'unknown'}`
  if (parsed.data.prev !== prev) return 'chain broken (a record is missing or out of order)'
  return seq.reject(parsed.data) ?? parsed.data
}

const TORN = new Set(['not valid JSON', 'not a JSON object', 'checksum mismatch'])

function scan(bytes: Buffer): Scan {
  const out: Scan = {
    records: [],
    warnings: [],
    damage: null,
    goodLength: 0,
    lastSum: GENESIS,
    seq: new Sequencer(),
  }
  let start = 0
  let line = 0
  while (start < bytes.length) {
    line += 1
    const nl = bytes.indexOf(0x0a, start)
    if (nl === -1) {
      out.warnings.push(
        `line ${line}: dropped a torn last record (${bytes.length - start} bytes, no newline)`,
      )
      break
    }
    const result = checkLine(bytes.subarray(start, nl).toString('utf8'), out.lastSum, out.seq)
    if (typeof result === 'string') {
      // Only garbage can come from a torn write; a complete, verified record that breaks the
      // chain or the ordering means records were removed or reordered: that is damage.
      if (nl + 1 === bytes.length && TORN.has(result)) {
        out.warnings.push(`line ${line}: dropped a torn last record (${result})`)
      } else out.damage = `line ${line}: ${result}`
      break
    }
    out.seq.accept(result)
    out.records.push(result)
    out.lastSum = result.sum
    start = nl + 1
    out.goodLength = start
  }
  return out
}

export interface JournalView {
  /** The trusted prefix: everything before a dropped torn tail or the first damage. */
  records: JournalRecord[]
  warnings: string[]
  /** Where and why the journal is broken before its last line; automatic rollback is refused. */
  damage: string | null
}

/** The trusted records of a journal, plus what was dropped and where it is damaged, if anywhere. */
export function readJournal(path: string): JournalView {
  const { records, warnings, damage } = scan(readFileNoFollowSync(path) ?? Buffer.alloc(0))
  return { records, warnings, damage }
}

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
      const found = scan(fs.readFileSync(fd))
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
    const { phase, step, action_type, target, undo } = input
    this.append({ type: 'begin', seq, phase, step, action_type, target, undo })
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
    const unsigned = redactDeep({ v: 1, ...body, ts, prev: this.lastSum }, [...this.secrets])
    const sum = sha256Hex(JSON.stringify(unsigned))
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
      const written = (this.opts.write ?? fs.writeSync)(this.fd, line)
      if (written !== line.length) throw new Error(`short write (${written} of ${line.length} bytes)`)
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

export type ActionState = 'done' | 'in-doubt' | 'failed' | 'undone'

export interface DerivedAction {
  seq: number
  /** When the action began. */
  ts: string
  phase: PhaseName
  step: string
  action_type: ActionType
  target: string
  undo: Undo
  state: ActionState
  result: ChangeResult | null
  error: string | null
  /** How rollback settled it, once it has. */
  undone: { outcome: 'undone' | 'skipped'; detail: string; ts: string } | null
}

/** One entry per action in seq order; a begin with neither done nor failed is in doubt. */
export function deriveActions(records: readonly JournalRecord[]): DerivedAction[] {
  const actions = new Map<number, DerivedAction>()
  for (const r of records) {
    if (r.type === 'begin') {
      const { seq, ts, phase, step, action_type, target, undo } = r
      const action = { seq, ts, phase, step, action_type, target, undo }
      actions.set(seq, { ...action, state: 'in-doubt', result: null, error: null, undone: null })
      continue
    }
    const a = actions.get(r.seq)
    if (!a) continue
    if (r.type === 'done') Object.assign(a, { state: 'done', result: r.result })
    else if (r.type === 'failed') Object.assign(a, { state: 'failed', error: r.error })
    else Object.assign(a, { state: 'undone', undone: { outcome: r.outcome, detail: r.detail, ts: r.ts } })
  }
  return [...actions.values()].sort((a, b) => a.seq - b.seq)
}

/** The seed's TransactionLog view: the undo in words, never something to execute. */
export function toTransactionLog(actions: readonly DerivedAction[]): TransactionLogEntry[] {
  return actions.map((a) => ({
    sequence_number: a.seq,
    timestamp: a.ts,
    action_type: a.action_type,
    target: a.target,
    rollback_command: describeUndo(a.undo),
    executed: a.state === 'undone',
  }))
}
