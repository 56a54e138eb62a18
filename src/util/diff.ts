// The line diff `plan` shows for what a file step would write: jsdiff's hunks, rendered as a
// unified diff. A difference in the final newline alone gets a sentence, not a hunk of markers.
import { structuredPatch } from 'diff'

/** Lines before times lines after, past which plan shows a one-line summary instead of a diff. */
const MAX_CELLS = 4_000_000
const CONTEXT = 3

function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

const joinLines = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join('')

/** A unified diff of `before` (null: absent) -> `after`; empty string when equal. */
export function unifiedDiff(path: string, before: string | null, after: string): string {
  if (before === after) return ''
  const a = splitLines(before ?? '')
  const b = splitLines(after)
  const header = `--- ${before === null ? '/dev/null' : path}\n+++ ${path}\n`
  if ((a.length + 1) * (b.length + 1) > MAX_CELLS)
    return `${header}@@ ${a.length} lines -> ${b.length} lines @@\n`
  const { hunks } = structuredPatch(path, path, joinLines(a), joinLines(b), '', '', { context: CONTEXT })
  if (hunks.length === 0) return `${header}@@ only the final newline differs @@\n`
  let out = header
  for (const h of hunks) {
    // An empty side starts at the line before, as in diff -u: "-0,0" for a new file.
    const oldStart = h.oldLines === 0 ? h.oldStart - 1 : h.oldStart
    const newStart = h.newLines === 0 ? h.newStart - 1 : h.newStart
    out += `@@ -${oldStart},${h.oldLines} +${newStart},${h.newLines} @@\n${joinLines(h.lines)}`
  }
  return out
}
