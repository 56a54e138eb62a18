// The reliability record: every fault-injection and hostile-input test appends one JSON row per case
// it ran (what was injected, what was expected, what was OBSERVED, on which backend, pass or fail),
// and scripts/gen-reliability.ts merges them into docs/reliability.ndjson (the newest row per case id,
// kept in the repository so rows from other machines survive) and renders docs/reliability.md.
//
// `observed` is built by the test from what it saw (exit code, first line of the message, the
// manifest comparison), never a constant: a row says what happened on that run, on that machine.
//
// Rows go to $VPS_PROVISION_RELIABILITY_DIR/results.ndjson (default /var/tmp/vps-provision-reliability),
// appended with one write(2) each (O_APPEND), so rows from consecutive test files never interleave.

import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { cpus, hostname, release } from 'node:os'
import path from 'node:path'

export type Backend = 'fake' | 'chroot' | 'container' | 'vm'

export interface CaseRecord {
  /** Stable id, e.g. `fault-2.after-begin`; the report keeps the newest row per id. */
  id: string
  /** The case number or group, e.g. `2 SIGKILL at failpoints`, `hostile input`. */
  area: string
  /** What this row proves, in a few words. */
  case: string
  /** How the fault or input was produced. */
  injection: string
  expected: string
  /** What the test saw: exit code, first line of the message, the manifest comparison. */
  observed: string
  backend: Backend
  passed: boolean
}

export interface StoredRecord extends CaseRecord {
  /** ISO time the row was written. */
  at: string
  /** hostname, kernel, CPU count: where it ran. */
  machine: string
  /** The test file that wrote it (relative to the repository). */
  file: string
  durationMs: number
}

export const RESULTS_FILE = 'results.ndjson'

export function reliabilityDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VPS_PROVISION_RELIABILITY_DIR || '/var/tmp/vps-provision-reliability'
}

export function machineDescription(): string {
  return `${hostname()} (Linux ${release()}, ${cpus().length} CPUs)`
}

export function recordCase(
  r: CaseRecord,
  meta: { file?: string; durationMs?: number; at?: Date } = {},
): StoredRecord {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(r.id)) throw new Error(`recordCase: bad id ${JSON.stringify(r.id)}`)
  if (r.observed.trim() === '') throw new Error(`recordCase(${r.id}): observed is empty`)
  const row: StoredRecord = {
    ...r,
    observed: oneLine(r.observed, 600),
    at: (meta.at ?? new Date()).toISOString(),
    machine: machineDescription(),
    file: meta.file ?? '',
    durationMs: Math.round(meta.durationMs ?? 0),
  }
  const dir = reliabilityDir()
  mkdirSync(dir, { recursive: true })
  appendFileSync(path.join(dir, RESULTS_FILE), `${JSON.stringify(row)}\n`)
  return row
}

/** Every row this machine stored, oldest first. */
export function readRecords(dir = reliabilityDir()): StoredRecord[] {
  return readRecordsFile(path.join(dir, RESULTS_FILE))
}

/** The rows of one ndjson file; a missing file has none, and lines that do not parse (a torn last line) are skipped. */
export function readRecordsFile(file: string): StoredRecord[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  const out: StoredRecord[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      const r = JSON.parse(line) as StoredRecord
      if (typeof r.id === 'string' && typeof r.passed === 'boolean') out.push(r)
    } catch {
      // torn or foreign line
    }
  }
  return out
}

/** Collapses whitespace (a table cell is one line), shows control characters as \xNN, caps the length. */
export function oneLine(text: string, max = 300): string {
  const s = text
    .replace(/\s+/g, ' ')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
    .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .trim()
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

/**
 * Runs one case and records it whether it passes or throws. The body pushes what it sees into
 * `seen` as it goes; a failure adds the assertion's first line, so the row says where it broke.
 */
export async function reliabilityCase(
  meta: Omit<CaseRecord, 'observed' | 'passed'> & { file?: string },
  body: (seen: string[]) => Promise<void>,
): Promise<void> {
  const seen: string[] = []
  const started = Date.now()
  const { file, ...rec } = meta
  try {
    await body(seen)
    if (seen.length === 0) throw new Error('the case observed nothing: a row must say what was seen')
  } catch (err) {
    const first = String((err as Error)?.message ?? err).split('\n')[0] ?? ''
    seen.push(`FAILED: ${first}`)
    recordCase(
      { ...rec, observed: seen.join('; '), passed: false },
      { file, durationMs: Date.now() - started },
    )
    throw err
  }
  recordCase({ ...rec, observed: seen.join('; '), passed: true }, { file, durationMs: Date.now() - started })
}

/** What a suite's rows share: its area, file and backend, and the command that reproduces them. */
export interface Suite {
  area: string
  file: string
  backend: Backend
  /** Put before each row's injection (e.g. "`E2E_REQUIRED=1 npx vitest run … x.test.ts`:"). */
  reproduce?: string
}

/** `reliabilityCase` bound to one suite: each row then only says its own id, case, injection and expectation. */
export function caseOf(suite: Suite) {
  return (
    row: { id: string; case: string; injection: string; expected: string },
    body: (seen: string[]) => Promise<void>,
  ): Promise<void> =>
    reliabilityCase(
      {
        ...row,
        area: suite.area,
        backend: suite.backend,
        file: suite.file,
        injection: suite.reproduce ? `${suite.reproduce} ${row.injection}` : row.injection,
      },
      body,
    )
}
