// A small line diff for `plan`: shows what a file step would write. LCS over lines is plenty for
// config files; anything huge gets a one-line summary instead of a slow, unreadable diff.

const MAX_CELLS = 4_000_000
const CONTEXT = 3

type Op = { tag: ' ' | '-' | '+'; line: string }

function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

function diffOps(a: string[], b: string[]): Op[] {
  const n = a.length
  const m = b.length
  // lcs[i][j] = length of the LCS of a[i..] and b[j..], flattened into one array.
  const lcs = new Uint32Array((n + 1) * (m + 1))
  const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1))
  const ops: Op[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ tag: ' ', line: a[i++] ?? '' })
      j++
    } else if (i < n && (j === m || at(i + 1, j) >= at(i, j + 1))) ops.push({ tag: '-', line: a[i++] ?? '' })
    else ops.push({ tag: '+', line: b[j++] ?? '' })
  }
  return ops
}

/** A unified diff of `before` (null: absent) -> `after`; empty string when equal. */
export function unifiedDiff(path: string, before: string | null, after: string): string {
  if (before === after) return ''
  const a = splitLines(before ?? '')
  const b = splitLines(after)
  const header = `--- ${before === null ? '/dev/null' : path}\n+++ ${path}\n`
  if ((a.length + 1) * (b.length + 1) > MAX_CELLS)
    return `${header}@@ ${a.length} lines -> ${b.length} lines @@\n`
  const ops = diffOps(a, b)
  const changed = ops.map((o, k) => (o.tag === ' ' ? -1 : k)).filter((k) => k >= 0)
  if (changed.length === 0) return `${header}@@ only the final newline differs @@\n`
  let out = header
  let k = 0
  while (k < changed.length) {
    // Grow a hunk while the next change is within two contexts of the previous one.
    const first = changed[k] ?? 0
    let last = first
    while (k + 1 < changed.length && (changed[k + 1] ?? 0) - last <= 2 * CONTEXT) last = changed[++k] ?? last
    k++
    const start = Math.max(0, first - CONTEXT)
    const end = Math.min(ops.length, last + CONTEXT + 1)
    const before = ops.slice(0, start)
    const hunk = ops.slice(start, end)
    const aStart = before.filter((o) => o.tag !== '+').length
    const bStart = before.filter((o) => o.tag !== '-').length
    const aLen = hunk.filter((o) => o.tag !== '+').length
    const bLen = hunk.filter((o) => o.tag !== '-').length
    out += `@@ -${aLen === 0 ? aStart : aStart + 1},${aLen} +${bLen === 0 ? bStart : bStart + 1},${bLen} @@\n`
    for (const o of hunk) out += `${o.tag}${o.line}\n`
  }
  return out
}
