// Reading a worker's event log (event-log.ts) from the start while it grows: `tail -f` that knows
// when to stop. It hands every complete record to `onRecord` (replaying what happened so far, then
// following) and ends at the worker's `worker-end` record, when the worker is gone without one
// (killed, out of memory: the unit's state says so), or when the caller aborts (Ctrl-C: detach).
import { promises as fsp } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import type { RunEvent } from '../model/events.js'
import { parseEventLine, type WorkerEnd } from './event-log.js'

export interface FollowOptions {
  /** The worker still runs (its unit is active, activating or deactivating). */
  alive(): Promise<boolean>
  onEvent(event: RunEvent): void
  /** A line that is not a record (damage); a torn last line of a dead worker is reported too. */
  onSkipped?(line: string): void
  /** Aborting ends the follow at once with { kind: 'detached' }; the worker is not touched. */
  signal?: AbortSignal
  /** How often to look for new lines; default 200 ms. */
  pollMs?: number
  /** How often to ask whether the worker still runs while nothing new arrives; default 2 s. */
  aliveEveryMs?: number
}

export type FollowEnd =
  | { kind: 'ended'; end: WorkerEnd }
  | { kind: 'detached' }
  /** The worker is gone and its log has no worker-end: it was killed, or never started. */
  | { kind: 'vanished'; started: boolean }

export async function followEventLog(path: string, opts: FollowOptions): Promise<FollowEnd> {
  const pollMs = opts.pollMs ?? 200
  const aliveEveryMs = opts.aliveEveryMs ?? 2000
  let offset = 0
  let pending = ''
  let started = false
  let lastAliveCheck = Date.now()
  // A read may end inside a multi-byte character of a line still being written.
  const decoder = new StringDecoder('utf8')

  /** Reads what was appended since the last call; returns the worker-end if it came. */
  const drain = async (): Promise<WorkerEnd | null> => {
    const chunk = await readFrom(path, offset)
    if (chunk === null) return null
    started = true
    if (chunk.length === 0) return null
    offset += chunk.length
    pending += decoder.write(chunk)
    const lines = pending.split('\n')
    // The last piece has no newline yet: a line still being written, kept for the next read.
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (line.trim() === '') continue
      const record = parseEventLine(line)
      if (!record) {
        opts.onSkipped?.(line)
        continue
      }
      if (record.type === 'worker-end') return record
      opts.onEvent(record)
    }
    return null
  }

  for (;;) {
    if (opts.signal?.aborted) return { kind: 'detached' }
    const before = offset
    const end = await drain()
    if (end) return { kind: 'ended', end }
    if (offset !== before) {
      lastAliveCheck = Date.now()
      continue
    }
    if (Date.now() - lastAliveCheck >= aliveEveryMs) {
      lastAliveCheck = Date.now()
      if (!(await opts.alive())) {
        // It may have written its last lines between our read and its exit.
        const last = await drain()
        if (last) return { kind: 'ended', end: last }
        if (pending.trim() !== '') opts.onSkipped?.(pending)
        return { kind: 'vanished', started }
      }
    }
    if (await sleepUnlessAborted(pollMs, opts.signal)) return { kind: 'detached' }
  }
}

/** The bytes from `offset` to the end; null while the file does not exist. Never follows a symlink. */
async function readFrom(path: string, offset: number): Promise<Buffer | null> {
  let handle: fsp.FileHandle
  try {
    handle = await fsp.open(path, fsp.constants.O_RDONLY | fsp.constants.O_NOFOLLOW)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    const { size } = await handle.stat()
    if (size <= offset) return Buffer.alloc(0)
    const buf = Buffer.alloc(size - offset)
    const { bytesRead } = await handle.read(buf, 0, buf.length, offset)
    return buf.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/** true when aborted during the wait. */
function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(false)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
