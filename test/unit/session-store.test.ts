import { promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type StatePaths, statePaths } from '../../src/engine/paths.js'
import { SessionStore } from '../../src/engine/session-store.js'
import { EXIT, ProvisionError } from '../../src/model/errors.js'
import { FORMAT, WRITTEN_BY } from '../../src/model/format.js'
import type { ProvisioningSession } from '../../src/model/schemas.js'

let root: string
let paths: StatePaths
let store: SessionStore
beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'vps-sessions-'))
  paths = statePaths(root)
  store = new SessionStore(paths)
})
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true })
})

const session = (id: string, extra: Partial<ProvisioningSession> = {}): ProvisioningSession => ({
  session_id: id,
  command: 'run',
  start_time: '2025-01-02T03:04:05.000Z',
  end_time: null,
  status: 'IN_PROGRESS',
  phases: [],
  error_details: null,
  duration_seconds: 0,
  vps_info: null,
  developer_user: null,
  rdp_certificate: null,
  ide_installations: [],
  ...extra,
})
const OLD = '20250102-030405-aaaaaa'
const MID = '20250102-030406-000000'
const NEW = '20250203-000000-zzzzzz'

async function usageError(p: Promise<unknown>): Promise<ProvisionError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ProvisionError)
  expect((err as ProvisionError).exitCode).toBe(EXIT.usage)
  return err as ProvisionError
}

describe('SessionStore', () => {
  it('saves 0600 in a 0700 directory and loads what it saved', async () => {
    const s = session(OLD, { status: 'COMPLETED', end_time: '2025-01-02T03:10:00.000Z' })
    await store.save(s)
    await store.save(s)
    // Saved in today's format, naming its writer (src/model/format.ts).
    expect(await store.load(OLD)).toEqual({ ...s, format: FORMAT.session, written_by: WRITTEN_BY })
    expect((await fsp.stat(paths.sessionFile(OLD))).mode & 0o777).toBe(0o600)
    expect((await fsp.stat(paths.sessionsDir)).mode & 0o777).toBe(0o700)
    expect(await fsp.readdir(paths.sessionsDir)).toEqual([`session-${OLD}.json`])
  })

  it('refuses to save an invalid session', async () => {
    await expect(store.save({ ...session(OLD), status: 'BOGUS' } as never)).rejects.toThrow()
    await expect(store.save(session('../../etc/x'))).rejects.toThrow(/not a session id/)
  })

  it('lists oldest to newest by id, ignoring strays, symlinks and damaged files', async () => {
    for (const id of [NEW, OLD, MID]) await store.save(session(id))
    await fsp.writeFile(join(paths.sessionsDir, 'notes.txt'), 'x')
    await fsp.writeFile(join(paths.sessionsDir, 'session-20250101-000000-broken.json'), '{')
    await fsp.symlink(paths.sessionFile(OLD), join(paths.sessionsDir, 'session-20240101-000000-linked.json'))
    expect((await store.list()).map((s) => s.session_id)).toEqual([OLD, MID, NEW])
    expect(await store.ids()).toEqual(['20250101-000000-broken', OLD, MID, NEW])
    expect((await store.latest())?.session_id).toBe(NEW)
  })

  it('has no sessions before the first save', async () => {
    expect(await store.list()).toEqual([])
    expect(await store.latest()).toBeNull()
    const err = await usageError(store.resolve('latest'))
    expect(err.message).toBe('Unable to find session latest: no sessions recorded yet')
  })

  it('resolves "latest" and known ids, and explains unknown or malformed ones', async () => {
    await store.save(session(OLD))
    await store.save(session(NEW))
    expect(await store.resolve('latest')).toBe(NEW)
    expect(await store.resolve(OLD)).toBe(OLD)

    const unknown = await usageError(store.resolve(MID))
    expect(unknown.message).toBe(`Unable to find session ${MID}: no such session`)
    expect(unknown.hint).toMatch(/vps-provision sessions/)
    for (const bad of ['../../etc/passwd', `${OLD}; rm -rf /`, '', 'LATEST']) {
      expect((await usageError(store.resolve(bad))).message).toMatch(/not a session id/)
    }
  })

  it('load: unknown ids are usage errors, malformed ids never reach the filesystem', async () => {
    expect((await usageError(store.load(MID))).message).toBe(`Unable to find session ${MID}: no such session`)
    await usageError(store.load('../../../etc/shadow'))
  })

  it('load: refuses a session file that is a symlink', async () => {
    await fsp.mkdir(paths.sessionsDir, { recursive: true })
    await fsp.writeFile(join(root, 'planted.json'), JSON.stringify(session(OLD)))
    await fsp.symlink(join(root, 'planted.json'), paths.sessionFile(OLD))
    await expect(store.load(OLD)).rejects.toThrow(`Unable to load session ${OLD}: Unable to read`)
    await expect(store.load(OLD)).rejects.toThrow(/symbolic link/)
  })

  it.each([
    ['not JSON', '{"session_id":', /is not valid JSON/],
    ['not a session', JSON.stringify({ session_id: OLD }), /is not a valid session \(start_time: /],
    ['someone else', JSON.stringify(session(NEW)), new RegExp(`holds session ${NEW}`)],
  ])('load: explains a file that is %s', async (_what, content, message) => {
    await fsp.mkdir(paths.sessionsDir, { recursive: true })
    await fsp.writeFile(paths.sessionFile(OLD), content)
    await expect(store.load(OLD)).rejects.toThrow(message)
    await expect(store.load(OLD)).rejects.toThrow(`Unable to load session ${OLD}: `)
  })

  it('fills the defaults of an older session file', async () => {
    const { developer_user: _d, ide_installations: _i, command: _c, ...older } = session(OLD)
    await fsp.mkdir(paths.sessionsDir, { recursive: true })
    await fsp.writeFile(paths.sessionFile(OLD), JSON.stringify(older))
    // No format recorded: format 1, as releases up to 0.1.0 wrote it.
    expect(await store.load(OLD)).toEqual({ ...session(OLD), format: 1 })
  })
})
