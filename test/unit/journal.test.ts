import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  promises as fsp,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  type BeginInput,
  deriveActions,
  Journal,
  JournalWriteError,
  readJournal,
  toTransactionLog,
} from '../../src/engine/journal.js'

let dir: string
let path: string
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'vps-journal-'))
  path = join(dir, 'transaction.log')
})
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true })
})

const action = (target: string, extra: Partial<BeginInput> = {}): BeginInput => ({
  phase: 'system-prep',
  step: 'system-prep.packages',
  action_type: 'FILE_CREATE',
  target,
  undo: { kind: 'remove-file', path: target },
  ...extra,
})

/** Four records; the last carries multi-byte text so some cuts land mid-character. */
function writeFour(): Buffer {
  const j = Journal.open(path)
  const a = j.begin(action('/etc/a'))
  j.done(a, { files: { '/etc/a': 'f'.repeat(64) } })
  const b = j.begin(action('/etc/b'))
  j.failed(b, 'exit 100: É ✓ 🚀')
  j.close()
  return readFileSync(path)
}

/** Byte offsets where each line starts, plus the total length. */
function lineStarts(bytes: Buffer): number[] {
  const starts = [0]
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) starts.push(i + 1)
  return starts
}

const flip = (buf: Buffer, i: number) => buf.writeUInt8((buf[i] as number) ^ 0x01, i)
const lines = (bytes: Buffer) => bytes.toString('utf8').split('\n').slice(0, -1)

describe('Journal', () => {
  it('round-trips every record type and derives each action state', () => {
    const j = Journal.open(path)
    const a = j.begin(action('/etc/a'))
    j.done(a, { files: { '/etc/a': 'a'.repeat(64) }, output: 'ok' })
    const b = j.begin(
      action('/etc/b', {
        action_type: 'PACKAGE_INSTALL',
        undo: { kind: 'purge-packages', packages: ['xrdp'] },
      }),
    )
    j.failed(b, 'apt-get exited 100')
    const c = j.begin(action('/etc/c'))
    j.undone(a, 'undone', 'removed /etc/a')
    j.close()
    expect([a, b, c]).toEqual([1, 2, 3])

    const { records, warnings, damage } = readJournal(path)
    expect(warnings).toEqual([])
    expect(damage).toBeNull()
    expect(records.map((r) => r.type)).toEqual(['begin', 'done', 'begin', 'failed', 'begin', 'undone'])
    const actions = deriveActions(records)
    expect(actions.map((x) => [x.seq, x.state])).toEqual([
      [1, 'undone'],
      [2, 'failed'],
      [3, 'in-doubt'],
    ])
    expect(actions[0]?.result).toEqual({ files: { '/etc/a': 'a'.repeat(64) }, output: 'ok' })
    expect(actions[0]?.undone).toMatchObject({ outcome: 'undone', detail: 'removed /etc/a' })
    expect(actions[1]?.error).toBe('apt-get exited 100')
    expect(toTransactionLog(actions)).toEqual([
      expect.objectContaining({
        sequence_number: 1,
        target: '/etc/a',
        rollback_command: 'remove file /etc/a',
        executed: true,
      }),
      expect.objectContaining({
        sequence_number: 2,
        action_type: 'PACKAGE_INSTALL',
        rollback_command: 'apt-get purge xrdp',
        executed: false,
      }),
      expect.objectContaining({ sequence_number: 3, executed: false }),
    ])
  })

  it('creates the file 0600 and continues the chain and numbering when reopened', async () => {
    writeFour()
    expect((await fsp.stat(path)).mode & 0o777).toBe(0o600)
    const j = Journal.open(path)
    expect(j.begin(action('/etc/c'))).toBe(3)
    j.undone(3, 'skipped', 'never happened')
    j.close()
    const { records, damage, warnings } = readJournal(path)
    expect([damage, warnings]).toEqual([null, []])
    expect(records).toHaveLength(6)
  })

  it('treats a missing or empty file as no records', () => {
    expect(readJournal(path)).toEqual({ records: [], warnings: [], damage: null })
    writeFileSync(path, '')
    expect(readJournal(path)).toEqual({ records: [], warnings: [], damage: null })
  })

  it('refuses to write what it could not read back', () => {
    const j = Journal.open(path)
    expect(() => j.done(7)).toThrow(/never began/)
    const a = j.begin(action('/etc/a'))
    j.done(a)
    expect(() => j.failed(a, 'late')).toThrow(/already ended/)
    expect(() => j.begin(action('relative/path'))).toThrow(/invalid record/)
    j.close()
    expect(readJournal(path).records).toHaveLength(2)
  })

  it('refuses a journal path that is a symlink or not a regular file', async () => {
    await fsp.writeFile(join(dir, 'elsewhere'), '')
    await fsp.symlink(join(dir, 'elsewhere'), path)
    expect(() => Journal.open(path)).toThrow(/symbolic link/)
    expect(() => readJournal(path)).toThrow(/symbolic link/)
    expect(() => Journal.open('/dev/null')).toThrow(/not a regular file/)
  })
})

describe('torn tails and damage', () => {
  it('drops a last record torn at every byte offset, with a warning and no damage', () => {
    const full = writeFour()
    const starts = lineStarts(full)
    const lastStart = starts.at(-2) as number
    for (let cut = lastStart; cut < full.length; cut++) {
      writeFileSync(path, full.subarray(0, cut))
      const view = readJournal(path)
      expect(view.damage, `cut at ${cut}`).toBeNull()
      expect(
        view.records.map((r) => r.type),
        `cut at ${cut}`,
      ).toEqual(['begin', 'done', 'begin'])
      expect(view.warnings, `cut at ${cut}`).toHaveLength(cut > lastStart ? 1 : 0)

      // Reopening cuts the torn bytes off, so the next append does not glue onto them.
      const j = Journal.open(path)
      j.failed(2, 'retried')
      j.close()
      const after = readJournal(path)
      expect([after.damage, after.warnings], `cut at ${cut}`).toEqual([null, []])
      expect(deriveActions(after.records).map((a) => a.state)).toEqual(['done', 'failed'])
    }
  })

  it('drops a complete last line whose checksum does not verify', () => {
    const full = writeFour()
    const broken = Buffer.from(full)
    flip(broken, full.length - 10)
    writeFileSync(path, broken)
    const view = readJournal(path)
    expect(view.damage).toBeNull()
    expect(view.records).toHaveLength(3)
    expect(view.warnings[0]).toMatch(/^line 4: dropped a torn last record/)
  })

  it('reports damage for a flipped bit at every byte of a middle record', () => {
    const full = writeFour()
    const starts = lineStarts(full)
    const [from, to] = [starts[1] as number, (starts[2] as number) - 1] // line 2 without its newline
    for (let i = from; i < to; i++) {
      const broken = Buffer.from(full)
      flip(broken, i)
      writeFileSync(path, broken)
      const view = readJournal(path)
      expect(view.damage, `byte ${i}`).toMatch(/^line 2: /)
      expect(view.records, `byte ${i}`).toHaveLength(1)
    }
    expect(() => Journal.open(path)).toThrow(/Unable to open journal .*damaged at line 2/)
  })

  it('reports a deleted or reordered middle line as a broken chain', () => {
    const [l1, l2, l3, l4] = lines(writeFour())
    writeFileSync(path, `${[l1, l3, l4].join('\n')}\n`)
    expect(readJournal(path).damage).toMatch(/^line 2: chain broken/)
    writeFileSync(path, `${[l1, l3, l2, l4].join('\n')}\n`)
    expect(readJournal(path).damage).toMatch(/^line 2: chain broken/)
    writeFileSync(path, `${[l2, l1, l3, l4].join('\n')}\n`)
    expect(readJournal(path).damage).toMatch(/^line 1: chain broken/)
  })
})

describe('hostile and secret content', () => {
  it('keeps injection strings verbatim and never executes them', () => {
    const sentinel = join(tmpdir(), `pwned-${randomBytes(8).toString('hex')}`)
    const nasty = [
      `; touch ${sentinel}`,
      `$(touch ${sentinel})`,
      `\`touch ${sentinel}\``,
      `a\nb\r\nc`,
      `"quoted" 'single' \\back\\slash`,
      '\u0000nul \u2028 line-sep {"type":"done"}',
    ]
    const j = Journal.open(path)
    for (const s of nasty) {
      const seq = j.begin(
        action(`/etc/${s}`, { step: s, undo: { kind: 'argv', argv: ['echo', s], allowFailure: true } }),
      )
      j.failed(seq, s)
      const again = j.begin(action('/etc/x', { undo: { kind: 'irreversible', reason: s } }))
      j.done(again, { output: s, files: { [s]: null } })
      j.undone(again, 'skipped', s)
    }
    j.close()
    const { records, damage, warnings } = readJournal(path)
    expect([damage, warnings]).toEqual([null, []])
    const actions = deriveActions(records)
    nasty.forEach((s, i) => {
      const [failed, done] = [actions[2 * i], actions[2 * i + 1]]
      expect(failed).toMatchObject({ target: `/etc/${s}`, step: s, error: s, undo: { argv: ['echo', s] } })
      expect(done).toMatchObject({ result: { output: s, files: { [s]: null } }, undo: { reason: s } })
      expect(done?.undone?.detail).toBe(s)
    })
    expect(existsSync(sentinel)).toBe(false)
  })

  it('redacts registered secrets from every field before the bytes hit the disk', () => {
    const secrets = ['hunter2-Sup3r-s3cret', 'pa"ss\\word']
    const j = Journal.open(path)
    for (const s of secrets) j.addSecret(s)
    const seq = j.begin(
      action(`/home/dev/${secrets[0]}`, {
        undo: { kind: 'argv', argv: ['chpasswd', secrets[1] as string], allowFailure: false },
      }),
    )
    j.failed(seq, `chpasswd rejected ${secrets[0]} and ${secrets[1]}`)
    j.close()
    const bytes = readFileSync(path)
    for (const s of secrets) {
      expect(bytes.includes(s)).toBe(false)
      expect(bytes.includes(JSON.stringify(s).slice(1, -1))).toBe(false)
    }
    const { records, damage, warnings } = readJournal(path)
    expect([damage, warnings]).toEqual([null, []])
    const [a] = deriveActions(records)
    expect(a?.target).toBe('/home/dev/[REDACTED]')
    expect(a?.error).toBe('chpasswd rejected [REDACTED] and [REDACTED]')
  })
})

describe('write failures', () => {
  it('throws JournalWriteError on a real ENOSPC and stays refused afterwards', () => {
    const full = openSync('/dev/full', 'w')
    try {
      const j = Journal.open(path, { write: (_fd, data) => writeSync(full, data) })
      expect(() => j.begin(action('/etc/a'))).toThrow(JournalWriteError)
      expect(() => j.begin(action('/etc/a'))).toThrow(/an earlier append failed/)
      j.close()
    } finally {
      closeSync(full)
    }
    expect(readJournal(path)).toEqual({ records: [], warnings: [], damage: null })
  })

  it('survives a half-written line (EIO mid-append): the next open cuts it off', () => {
    writeFour()
    const j = Journal.open(path, {
      write: (fd, data) => {
        writeSync(fd, data.subarray(0, 20))
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })
      },
    })
    expect(() => j.begin(action('/etc/c'))).toThrow(/Unable to append to journal .*EIO/)
    j.close()
    expect(readJournal(path).warnings).toHaveLength(1)
    const again = Journal.open(path)
    expect(again.warnings).toHaveLength(1)
    expect(again.begin(action('/etc/c'))).toBe(3)
    again.close()
    expect(readJournal(path)).toMatchObject({ warnings: [], damage: null })
  })
})
