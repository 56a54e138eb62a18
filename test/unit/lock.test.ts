import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acquireLock, type LockHolder, lockedError } from '../../src/engine/lock.js'
import { type StatePaths, statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const SESSION = '20250102-030405-abc123'

let root: string
let paths: StatePaths
const children: Holder[] = []
beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'vps-lock-'))
  paths = statePaths(root)
})
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill()
  await fsp.rm(root, { recursive: true, force: true })
})

/** test/fixtures/lock-holder.ts in its own process, driven line by line. */
class Holder {
  readonly proc: ChildProcessWithoutNullStreams
  private readonly lines: AsyncIterator<string>
  private readonly exited: Promise<void>

  constructor(sessionId: string) {
    this.proc = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fixtures/lock-holder.ts', root, sessionId],
      {
        cwd: REPO,
      },
    )
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]()
    this.exited = new Promise((resolve) => this.proc.once('close', () => resolve()))
    children.push(this)
  }

  async line(): Promise<string> {
    const { value, done } = await this.lines.next()
    if (done) throw new Error(`lock-holder ${this.proc.pid} ended without output`)
    return value
  }

  async ready(): Promise<this> {
    expect(await this.line()).toBe('ready')
    return this
  }

  async go(): Promise<{ ok: boolean; pid: number; holder?: LockHolder | null }> {
    this.proc.stdin.write('go\n')
    return JSON.parse(await this.line())
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
    await this.exited
  }
}

describe('acquireLock', () => {
  it('is exclusive across processes, names the holder, and dies with it (SIGKILL)', async () => {
    const child = await new Holder(SESSION).ready()
    expect(await child.go()).toMatchObject({ ok: true, pid: child.proc.pid })

    const busy = await acquireLock(paths, { sessionId: null, command: 'rollback' })
    expect(busy.ok).toBe(false)
    const holder = busy.ok ? null : busy.holder
    expect(holder).toMatchObject({ pid: child.proc.pid, sessionId: SESSION, command: 'run' })
    expect(Date.parse(holder?.since ?? '')).not.toBeNaN()

    await child.kill()
    const mine = await acquireLock(paths, { sessionId: null, command: 'rollback' })
    expect(mine.ok).toBe(true)
    const info = JSON.parse(await fsp.readFile(paths.lockFile, 'utf8'))
    expect(info).toMatchObject({ pid: process.pid, sessionId: null, command: 'rollback' })
    expect((await fsp.stat(paths.lockFile)).mode & 0o777).toBe(0o600)
    expect((await fsp.stat(paths.stateDir)).mode & 0o777).toBe(0o700)
    if (mine.ok) await mine.release()
  })

  it('lets exactly one of five racing processes win', async () => {
    const racers = await Promise.all(Array.from({ length: 5 }, () => new Holder(SESSION).ready()))
    const results = await Promise.all(racers.map((r) => r.go()))
    const winners = results.filter((r) => r.ok)
    expect(winners).toHaveLength(1)
    const winner = winners[0]?.pid
    for (const r of results.filter((x) => !x.ok)) {
      // A loser may look between the winner's lock and its holder write: then the holder is unknown.
      if (r.holder) expect(r.holder.pid).toBe(winner)
    }
  })

  it('is released by release(), in this process and in another', async () => {
    const first = await acquireLock(paths, { sessionId: SESSION, command: 'run' })
    expect(first.ok).toBe(true)
    const second = await acquireLock(paths, { sessionId: null, command: 'run' })
    expect(second).toMatchObject({ ok: false, holder: { pid: process.pid, sessionId: SESSION } })
    if (first.ok) {
      await first.release()
      await first.release()
    }
    expect(await fsp.readFile(paths.lockFile, 'utf8')).toBe('')

    const child = await new Holder(SESSION).ready()
    expect(await child.go()).toMatchObject({ ok: true })
    child.proc.stdin.write('release\n')
    expect(await child.line()).toBe('released')
    const third = await acquireLock(paths, { sessionId: null, command: 'run' })
    expect(third.ok).toBe(true)
    if (third.ok) await third.release()
  })

  it('refuses a lock file planted as a symlink and leaves its target alone', async () => {
    await fsp.mkdir(paths.stateDir, { recursive: true })
    await fsp.writeFile(join(root, 'target'), 'keep')
    await fsp.symlink(join(root, 'target'), paths.lockFile)
    await expect(acquireLock(paths, { sessionId: null, command: 'run' })).rejects.toThrow(/symbolic link/)
    expect(await fsp.readFile(join(root, 'target'), 'utf8')).toBe('keep')
  })

  it('reports an unknown holder when the lock file holds no readable info', async () => {
    const first = await acquireLock(paths, { sessionId: null, command: 'run' })
    await fsp.writeFile(paths.lockFile, 'not json')
    expect(await acquireLock(paths, { sessionId: null, command: 'run' })).toEqual({ ok: false, holder: null })
    if (first.ok) await first.release()
  })
})

describe('lockedError', () => {
  it('says who holds the lock and exits 75', () => {
    const holder = { pid: 4242, sessionId: SESSION, command: 'run', since: '2025-01-02T03:04:05.000Z' }
    const err = lockedError(paths, holder)
    expect(err.exitCode).toBe(EXIT.locked)
    expect(err.message).toBe(
      `Unable to lock ${paths.stateDir}: held by pid 4242 (run session ${SESSION} since 2025-01-02T03:04:05.000Z)`,
    )
    expect(err.hint).toMatch(/ps -p 4242/)
    expect(lockedError(paths, { ...holder, sessionId: null }).message).toMatch(/\(run since /)
    expect(lockedError(paths, null).message).toBe(`Unable to lock ${paths.stateDir}: held by another process`)
  })
})
