// Small text helpers shared by every renderer. Anything that reaches a terminal or a log passes
// through `clean`, because apt output and error messages can carry escape sequences that would
// move the cursor, recolour the terminal or hide what came before.
import type { ChalkInstance } from 'chalk'

/** Where renderers write: process.stdout in bin/, a memory stream in tests. */
export interface OutStream {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
  /** Node streams report a reader that went away (EPIPE) as an 'error' event. */
  on?(event: 'error', listener: (err: Error) => void): unknown
  off?(event: 'error', listener: (err: Error) => void): unknown
}

export interface Out {
  readonly stream: OutStream
  write(text: string): void
  line(text?: string): void
}

/** Write failures (EPIPE, EIO on a dead terminal) must never stop the work being reported. */
export function makeOut(stream: OutStream): Out {
  const write = (text: string) => {
    try {
      stream.write(text)
    } catch {
      // The reader is gone; the run goes on and the journal still records everything.
    }
  }
  return { stream, write, line: (text = '') => write(`${text}\n`) }
}

const ESC = '\u001b'
const BEL = '\u0007'
// CSI and OSC sequences, then any other ESC pair; built from strings so no raw control character
// sits in a regex literal.
const SEQUENCES = new RegExp(
  `${ESC}\\[[0-?]*[ -/]*[@-~]|${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)?|${ESC}.?`,
  'gs',
)

/** C0 (except tab) and C1 controls: a lone 0x9b is a CSI on some terminals. */
function dropControls(text: string): string {
  let out = ''
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0
    if ((c < 0x20 && c !== 9) || (c >= 0x7f && c < 0xa0)) continue
    out += ch
  }
  return out
}

/** One safe line: escape sequences and control characters removed, newlines turned into spaces. */
export function clean(text: string): string {
  return dropControls(text.replace(/\r?\n/g, ' ').replace(SEQUENCES, ''))
}

/** Keeps line breaks (for diffs and multi-line lists) but nothing else that controls a terminal. */
export function cleanLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => dropControls(l.replace(SEQUENCES, '')))
}

/** `2026-11-26T10:00:00.123Z` -> `2026-11-26T10:00:00Z`: logs read better without milliseconds. */
export function plainTime(ts: string): string {
  return ts.replace(/\.\d+Z$/, 'Z')
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  if (seconds < 10) return `${Math.round(seconds * 10) / 10}s`
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`
}

/** Left-aligned columns; the last column is not padded so copy-paste gets no trailing blanks. */
export function table(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = []
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length)
  }
  return rows.map((row) =>
    `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd(),
  )
}

/** Status words keep their meaning without colour; colour only reinforces them. */
export function statusColor(c: ChalkInstance, status: string): string {
  if (/^(COMPLETED|applied|ok|done|undone)$/i.test(status)) return c.green(status)
  if (/^(FAILED|failed|FAIL)$/i.test(status)) return c.red(status)
  if (/^(SKIPPED|already-done|ROLLED_BACK|PENDING)$/i.test(status)) return c.dim(status)
  if (/^(IN_PROGRESS|RUNNING|INITIALIZING|would-apply)$/i.test(status)) return c.yellow(status)
  return status
}
