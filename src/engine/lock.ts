// One exclusive kernel lock for run and rollback. Node has no flock(2), so util-linux's flock(1)
// takes it on a descriptor we open and hand down: flock locks belong to the open file description,
// which parent and child share, so the lock stays ours after flock exits, and the kernel drops it
// the moment our process dies, however it dies. No pid files, no stale-lock guessing.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { z } from 'zod'
import { EXIT, ProvisionError } from '../model/errors.js'
import { ensurePrivateDir, UnsafePathError } from '../system/atomic.js'
import { FIXED_PATH } from '../system/env.js'
import type { StatePaths } from './paths.js'

export const LockHolder = z.object({
  pid: z.number().int().positive(),
  sessionId: z.string().nullable(),
  command: z.string(),
  since: z.string(),
})
export type LockHolder = z.infer<typeof LockHolder>

export type LockResult = { ok: true; release(): Promise<void> } | { ok: false; holder: LockHolder | null }

// Distinct from flock's own failure codes, so "busy" cannot be confused with "flock broke".
const BUSY = 75

export async function acquireLock(
  paths: StatePaths,
  holder: { sessionId: string | null; command: string },
): Promise<LockResult> {
  await ensurePrivateDir(paths.stateDir)
  const fd = openLockFile(paths.lockFile)
  let status: number
  try {
    status = await runFlock(fd)
  } catch (err) {
    fs.closeSync(fd)
    throw err
  }
  if (status === BUSY) {
    const current = readHolder(fd)
    fs.closeSync(fd)
    return { ok: false, holder: current }
  }
  const info: LockHolder = { pid: process.pid, ...holder, since: new Date().toISOString() }
  try {
    writeHolder(fd, `${JSON.stringify(info)}\n`)
  } catch (err) {
    fs.closeSync(fd)
    throw err
  }
  let released = false
  return {
    ok: true,
    async release() {
      if (released) return
      released = true
      // Clear the holder while still locked, so nobody reads us as the holder afterwards.
      try {
        fs.ftruncateSync(fd, 0)
      } finally {
        fs.closeSync(fd)
      }
    },
  }
}

/** The error run and rollback exit with (75) when another invocation holds the lock. */
export function lockedError(paths: StatePaths, holder: LockHolder | null): ProvisionError {
  const who = holder
    ? `pid ${holder.pid} (${holder.command}${holder.sessionId ? ` session ${holder.sessionId}` : ''} since ${holder.since})`
    : 'another process'
  const check = holder ? `check it with \`ps -p ${holder.pid} -o pid,etime,args\`` : 'check `ps aux`'
  return new ProvisionError(
    `Unable to lock ${paths.stateDir}: held by ${who}`,
    EXIT.locked,
    `Wait for it to finish, or ${check}; the lock is released automatically when that process exits`,
  )
}

function openLockFile(path: string): number {
  const { O_RDWR, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants
  let fd: number
  try {
    fd = fs.openSync(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new UnsafePathError('lock', path, 'it is a symbolic link')
    }
    throw err
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new UnsafePathError('lock', path, 'it is not a regular file')
    fs.fchmodSync(fd, 0o600)
    return fd
  } catch (err) {
    fs.closeSync(fd)
    throw err
  }
}

function runFlock(fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(BUSY), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      // Never the caller's PATH: an evil directory first in it would run its own `flock` as root.
      env: { PATH: FIXED_PATH, LC_ALL: 'C' },
    })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', (err) => reject(new Error(`Unable to lock with flock(1): ${err.message}`)))
    child.on('close', (status, signal) => {
      if (status === 0 || status === BUSY) return resolve(status)
      const why = signal ? `killed by ${signal}` : `exited ${status}`
      reject(new Error(`Unable to lock with flock(1): ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`))
    })
  })
}

function writeHolder(fd: number, text: string): void {
  const bytes = Buffer.from(text)
  fs.ftruncateSync(fd, 0)
  fs.writeSync(fd, bytes, 0, bytes.length, 0)
  fs.fsyncSync(fd)
}

/** Best effort: the holder may be between truncate and write, or from an older version. */
function readHolder(fd: number): LockHolder | null {
  try {
    const size = Math.min(fs.fstatSync(fd).size, 4096)
    const buf = Buffer.alloc(size)
    const n = fs.readSync(fd, buf, 0, size, 0)
    const parsed = LockHolder.safeParse(JSON.parse(buf.subarray(0, n).toString('utf8')))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
