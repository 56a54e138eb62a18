// Our block of lines inside someone else's file, between marker comments: find it, replace it,
// remove it, as pure text functions, so steps, undo and checks read a block the same way.

export const blockMarkers = (marker: string) => ({
  begin: `# >>> vps-provision:${marker} >>>`,
  end: `# <<< vps-provision:${marker} <<<`,
})

/** Returns `current` with the block inserted or replaced; every other byte is kept. */
export function upsertBlock(current: string | null, marker: string, content: string): string {
  if (/[\n>< ]/.test(marker))
    throw new Error(`Unable to use block marker ${JSON.stringify(marker)}: no spaces, <, > or newlines`)
  const { begin, end } = blockMarkers(marker)
  const block = `${begin}\n${content.replace(/\n+$/, '')}\n${end}\n`
  if (current === null || current === '') return block
  const lines = current.split('\n')
  const b = lines.indexOf(begin)
  const e = b >= 0 ? lines.indexOf(end, b + 1) : -1
  if (b >= 0 && e >= 0) {
    const before = lines.slice(0, b).join('\n')
    const after = lines.slice(e + 1).join('\n')
    // `after` starts right after the end marker's newline (empty when the block ended the file).
    return `${b > 0 ? `${before}\n` : ''}${block}${after}`
  }
  return `${current}${current.endsWith('\n') ? '' : '\n'}${block}`
}

/** Where the block is: the indexes of its begin and end lines in `lines`, or null. */
function findBlock(lines: readonly string[], marker: string): { b: number; e: number } | null {
  const { begin, end } = blockMarkers(marker)
  const b = lines.indexOf(begin)
  const e = b >= 0 ? lines.indexOf(end, b + 1) : -1
  return b >= 0 && e >= 0 ? { b, e } : null
}

/** The block's content (without its markers), or null when the file has no such block. */
export function blockContent(current: string, marker: string): string | null {
  const lines = current.split('\n')
  const at = findBlock(lines, marker)
  return at
    ? lines
        .slice(at.b + 1, at.e)
        .map((l) => `${l}\n`)
        .join('')
    : null
}

/** Returns `current` without the block (markers included); every other byte is kept. */
export function removeBlock(current: string, marker: string): string {
  const lines = current.split('\n')
  const at = findBlock(lines, marker)
  if (!at) return current
  return [...lines.slice(0, at.b), ...lines.slice(at.e + 1)].join('\n')
}
