// The event log of a detached run: the worker (the run inside its own systemd unit) appends every
// RunEvent it emits, one JSON object per line, to /var/log/vps-provision/events-<session>.ndjson,
// and ends it with one `worker-end` record that says how the process ended. Clients
// (`vps-provision run`, `status --follow`, `stop`) read it back with event-follow.ts and render it
// exactly as a run in their own process would.
//
// Safety: root-only (0600 in the 0700 log directory), created exclusively (a planted file or
// symlink is refused, never followed), append-only with one write(2) per line (O_APPEND). It is a
// display record, not the write-ahead journal: a line lost in a crash costs a line of progress,
// never an action, so it is fsync'd only at phase boundaries and at the end. A torn last line is
// skipped by the reader. Secrets are redacted by value in every string, as in the journal, and
// credentials never enter it.
import * as fs from 'node:fs'
import { dirname, join } from 'node:path'
import type { RunEvent } from '../model/events.js'
import { assertSessionId } from '../model/ids.js'
import { UnsafePathError } from '../system/atomic.js'
import { redact } from '../system/port.js'
import type { StatePaths } from './paths.js'

/** The last record of a worker's log: its exit code and, when it did not end normally, why. */
export interface WorkerEnd {
  type: 'worker-end'
  ts: string
  exitCode: number
  /** The signal that stopped the run at a safe point (SIGTERM from `vps-provision stop`). */
  stoppedBy: string | null
  /** The one-line error the worker reported (lock busy, bad configuration...), with its hint. */
  error: { message: string; hint?: string } | null
}

export type EventRecord = RunEvent | WorkerEnd

export function eventLogPath(paths: StatePaths, sessionId: string): string {
  return join(paths.logDir, `events-${assertSessionId(sessionId)}.ndjson`)
}

/** Every string in a record, with each secret value replaced; credentials are always dropped. */
export function redactRecord(record: EventRecord, secrets: readonly string[]): EventRecord {
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(value, secrets)
    if (Array.isArray(value)) return value.map(scrub)
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = k === 'credentials' ? null : scrub(v)
      return out
    }
    return value
  }
  return scrub(record) as EventRecord
}

/** Records after which a reader should not lose what came before, even on a power loss. */
const DURABLE = new Set(['session-start', 'phase-end', 'phase-skip', 'session-end', 'worker-end'])

export class EventLog {
  private readonly secrets: string[] = []
  private broken: string | null = null

  private constructor(
    readonly path: string,
    private fd: number | null,
  ) {}

  /**
   * Creates the log; it must not exist yet (each session has one worker). The directory is the
   * tool's log directory, already made private by the caller (ensurePrivateDir).
   */
  static create(path: string): EventLog {
    const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants
    let fd: number
    try {
      fd = fs.openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST' || code === 'ELOOP')
        throw new UnsafePathError('create the event log', path, 'it already exists (one worker per session)')
      throw err
    }
    try {
      // The umask may have narrowed the mode, never widened it; make it exactly 0600.
      fs.fchmodSync(fd, 0o600)
      fs.fsyncSync(fd)
      const dir = fs.openSync(dirname(path), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
      try {
        fs.fsyncSync(dir)
      } finally {
        fs.closeSync(dir)
      }
    } catch (err) {
      fs.closeSync(fd)
      throw err
    }
    return new EventLog(path, fd)
  }

  /** Redacted from every line written from now on (the engine reports the password here). */
  addSecret(value: string): void {
    if (value.length > 0 && !this.secrets.includes(value)) this.secrets.push(value)
  }

  /** Never throws: a full disk must not stop the run; the reader then sees the log end early. */
  append(record: EventRecord): void {
    if (this.fd === null || this.broken) return
    try {
      const line = Buffer.from(`${JSON.stringify(redactRecord(record, this.secrets))}\n`)
      let off = 0
      while (off < line.length) off += fs.writeSync(this.fd, line, off, line.length - off)
      if (DURABLE.has(record.type)) fs.fsyncSync(this.fd)
    } catch (err) {
      this.broken = (err as Error).message
    }
  }

  /** Why appending stopped (ENOSPC...), or null. */
  get failure(): string | null {
    return this.broken
  }

  close(): void {
    if (this.fd === null) return
    try {
      fs.fsyncSync(this.fd)
    } catch {
      // Already reported through failure, or the disk is gone; the record is best effort.
    }
    fs.closeSync(this.fd)
    this.fd = null
  }
}

const RECORD_TYPES = new Set<string>([
  'session-start',
  'phase-start',
  'phase-skip',
  'phase-end',
  'step-start',
  'step-end',
  'action',
  'output',
  'message',
  'session-end',
  'worker-end',
])

/**
 * One line of the log, or null when it is not one of our records (a torn line after a crash, or
 * damage): the reader skips it. Only the shape the renderers rely on is checked; every string they
 * print still goes through clean().
 */
export function parseEventLine(line: string): EventRecord | null {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return null
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null
  const r = value as { type?: unknown; ts?: unknown }
  if (typeof r.type !== 'string' || !RECORD_TYPES.has(r.type) || typeof r.ts !== 'string') return null
  if (r.type === 'worker-end' && typeof (value as { exitCode?: unknown }).exitCode !== 'number') return null
  if (r.type === 'session-end' && typeof (value as { summary?: unknown }).summary !== 'object') return null
  if (r.type === 'session-start' && !Array.isArray((value as { phases?: unknown }).phases)) return null
  return value as EventRecord
}
