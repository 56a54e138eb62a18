import { describe, expect, it } from 'vitest'
import { unifiedDiff } from '../../../src/util/diff.js'

describe('unifiedDiff', () => {
  it('is empty for equal text', () => {
    expect(unifiedDiff('/f', 'a\nb\n', 'a\nb\n')).toBe('')
  })

  it('shows a new file against /dev/null', () => {
    expect(unifiedDiff('/f', null, 'a\nb\n')).toBe('--- /dev/null\n+++ /f\n@@ -0,0 +1,2 @@\n+a\n+b\n')
  })

  it('keeps three lines of context and numbers the hunk', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n')
    const after = before.replace('5', 'five')
    expect(unifiedDiff('/f', `${before}\n`, `${after}\n`)).toBe(
      '--- /f\n+++ /f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n',
    )
  })

  it('splits distant changes into separate hunks', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `l${i}`)
    const after = [...lines]
    after[2] = 'X'
    after[25] = 'Y'
    const d = unifiedDiff('/f', `${lines.join('\n')}\n`, `${after.join('\n')}\n`)
    expect(d.match(/^@@/gm)).toHaveLength(2)
    expect(d).toContain('@@ -1,6 +1,6 @@')
    expect(d).toContain('@@ -23,7 +23,7 @@')
  })

  it('notices a missing final newline', () => {
    expect(unifiedDiff('/f', 'a', 'a\n')).toContain('only the final newline differs')
  })
})
