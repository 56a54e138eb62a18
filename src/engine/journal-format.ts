// The journal's on-disk format and its reader: one checksummed, hash-chained JSON record per line.
// Reading tolerates exactly one kind of damage, a torn last line (the crash came mid-append, so its
// change was never made); anything broken before that means we no longer know what happened.
import { z } from 'zod'
import { FORMAT, FutureFormatError, upgradeFormat } from '../model/format.js'
import { ActionType, PhaseName } from '../model/schemas.js'
import { Undo } from '../model/undo.js'
import { readFileNoFollowSync } from '../system/atomic.js'
import { sha256 } from '../util/hash.js'

const hex64 = z.string().regex(/^[0-9a-f]{64}$/)
export const GENESIS = '0'.repeat(64)
const base = {
  /** The journal format (src/model/format.ts); every record carries it, so a reader knows at line 1. */
  v: z.literal(FORMAT.journal),
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
    user: z.string().optional(),
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
export type Body = JournalRecord extends infer R
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
export class Sequencer {
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

export interface Scan {
  records: JournalRecord[]
  warnings: string[]
  damage: string | null
  /** Bytes up to the end of the last trusted line: what a writer keeps. */
  goodLength: number
  lastSum: string
  seq: Sequencer
}

export function checkLine(text: string, prev: string, seq: Sequencer): JournalRecord | string {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(text)
  } catch {
    return 'not valid JSON'
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object'
  const { sum, ...rest } = raw
  if (sum !== sha256(JSON.stringify(rest))) return 'checksum mismatch'
  // After the checksum (over the bytes as written), before the schema: an older format is lifted
  // in memory, a newer one throws FutureFormatError, which is no damage but a refusal by name.
  const parsed = JournalRecord.safeParse(upgradeFormat('journal', 'the journal', raw))
  if (!parsed.success) return `invalid record: ${parsed.error.issues[0]?.message ?? 'unknown'}`
  if (parsed.data.prev !== prev) return 'chain broken (a record is missing or out of order)'
  return seq.reject(parsed.data) ?? parsed.data
}

const TORN = new Set(['not valid JSON', 'not a JSON object', 'checksum mismatch'])

export function scan(bytes: Buffer): Scan {
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
  const { records, warnings, damage } = scanNamed(path, readFileNoFollowSync(path) ?? Buffer.alloc(0))
  return { records, warnings, damage }
}

/** scan(), with a refusal of a newer format naming the journal's file. */
export function scanNamed(path: string, bytes: Buffer): Scan {
  try {
    return scan(bytes)
  } catch (err) {
    throw err instanceof FutureFormatError ? err.about(`journal ${path}`) : err
  }
}
