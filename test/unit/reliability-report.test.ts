import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeReliabilityReport } from '../../scripts/gen-reliability.js'
import { RESULTS_FILE, readRecordsFile, type StoredRecord } from '../support/reliability.js'

function row(id: string, at: string, observed: string): StoredRecord {
  return {
    id,
    area: 'test',
    case: id,
    injection: 'none',
    expected: 'x',
    observed,
    backend: 'chroot',
    passed: true,
    at,
    machine: 'm',
    file: '',
    durationMs: 1000,
  }
}
const ndjson = (rows: StoredRecord[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('')

describe('writeReliabilityReport', () => {
  let tmp: string
  let files: { recorded: string; report: string }
  let machineDir: string
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'reliability-'))
    files = { recorded: path.join(tmp, 'reliability.ndjson'), report: path.join(tmp, 'reliability.md') }
    machineDir = path.join(tmp, 'machine')
  })
  afterEach(() => rmSync(tmp, { recursive: true, force: true }))

  it('keeps rows other machines recorded and lets this machine’s newer rows replace theirs', () => {
    writeFileSync(
      files.recorded,
      ndjson([row('a', '2026-11-26T10:00:00.000Z', 'old a'), row('b', '2026-11-26T10:00:00.000Z', 'only b')]),
    )
    mkdirSync(machineDir)
    writeFileSync(
      path.join(machineDir, RESULTS_FILE),
      ndjson([row('a', '2026-11-27T08:00:00.000Z', 'new a'), row('c', '2026-11-27T08:00:00.000Z', 'c')]),
    )

    const { rows } = writeReliabilityReport(machineDir, files)

    expect(rows).toBe(3)
    expect(readRecordsFile(files.recorded).map((r) => [r.id, r.observed])).toEqual([
      ['a', 'new a'],
      ['b', 'only b'],
      ['c', 'c'],
    ])
    const report = readFileSync(files.report, 'utf8')
    expect(report).toContain('| `b` |')
    expect(report).toContain('new a')
    expect(report).not.toContain('old a')
  })

  it('leaves the recorded rows as they are on a machine that recorded none', () => {
    const before = ndjson([
      row('a', '2026-11-26T10:00:00.000Z', 'a'),
      row('b', '2026-11-26T10:00:00.000Z', 'b'),
    ])
    writeFileSync(files.recorded, before)

    writeReliabilityReport(machineDir, files)

    expect(readFileSync(files.recorded, 'utf8')).toBe(before)
  })
})
