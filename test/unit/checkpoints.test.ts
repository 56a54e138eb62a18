import { spawnSync } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CheckpointStore, stateChecksum } from '../../src/engine/checkpoints.js'
import { type StatePaths, statePaths } from '../../src/engine/paths.js'
import { FORMAT, WRITTEN_BY } from '../../src/model/format.js'
import type { Checkpoint, PhaseName } from '../../src/model/schemas.js'

let root: string
let paths: StatePaths
let store: CheckpointStore
beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'vps-checkpoints-'))
  paths = statePaths(root)
  store = new CheckpointStore(paths)
})
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true })
})

const cp = (phase: PhaseName, observed = [phase]): Checkpoint => ({
  phase_name: phase,
  completed_at: '2025-01-02T03:04:05.000Z',
  session_id: '20250102-030405-abc123',
  checksum: stateChecksum(observed),
})
const file = (name: string) => join(paths.checkpointsDir, name)
const metadata = async () => JSON.parse(await fsp.readFile(file('metadata.json'), 'utf8'))

describe('CheckpointStore', () => {
  it('writes, reads, lists in phase order and removes, keeping metadata.json in step', async () => {
    await store.write(cp('rdp-config'))
    await store.write(cp('system-prep'))
    expect(await store.read('system-prep')).toEqual({
      ...cp('system-prep'),
      format: FORMAT.checkpoint,
      written_by: WRITTEN_BY,
    })
    expect(await store.read('preflight')).toBeNull()
    expect((await store.list()).map((c) => c.phase_name)).toEqual(['system-prep', 'rdp-config'])
    expect(Object.keys(await metadata())).toEqual(['system-prep', 'rdp-config'])

    await store.remove('system-prep')
    await store.remove('system-prep')
    expect(await store.read('system-prep')).toBeNull()
    expect(Object.keys(await metadata())).toEqual(['rdp-config'])
    expect((await fsp.stat(paths.checkpointsDir)).mode & 0o777).toBe(0o700)
    expect((await fsp.stat(file('rdp-config.done'))).mode & 0o777).toBe(0o600)
    expect((await fsp.readdir(paths.checkpointsDir)).sort()).toEqual(['metadata.json', 'rdp-config.done'])
  })

  it('removing from a store that was never written is fine', async () => {
    await store.remove('preflight')
    expect(await store.list()).toEqual([])
  })

  it.each([
    ['unparsable', '{"phase_name": "system-prep", '],
    ['not matching the schema', JSON.stringify({ ...cp('system-prep'), checksum: 'nope' })],
    ['for another phase', JSON.stringify(cp('rdp-config'))],
    ['empty', ''],
  ])('reads a checkpoint that is %s as missing', async (_what, content) => {
    await fsp.mkdir(paths.checkpointsDir, { recursive: true })
    await fsp.writeFile(file('system-prep.done'), content)
    expect(await store.read('system-prep')).toBeNull()
    expect(await store.list()).toEqual([])
  })

  it('reads a symlinked checkpoint as missing and never writes through it', async () => {
    await fsp.mkdir(paths.checkpointsDir, { recursive: true })
    await fsp.writeFile(join(root, 'elsewhere'), JSON.stringify(cp('system-prep')))
    await fsp.symlink(join(root, 'elsewhere'), file('system-prep.done'))
    expect(await store.read('system-prep')).toBeNull()
    await expect(store.write(cp('system-prep'))).rejects.toThrow(/symbolic link/)
    expect(JSON.parse(await fsp.readFile(join(root, 'elsewhere'), 'utf8'))).toEqual(cp('system-prep'))
  })

  it('refuses an invalid checkpoint or a phase name that is not one of ours', async () => {
    await expect(store.write({ ...cp('preflight'), checksum: 'x' })).rejects.toThrow()
    await expect(store.read('../../etc/passwd' as PhaseName)).resolves.toBeNull()
    await expect(store.remove('../x' as PhaseName)).rejects.toThrow()
  })

  it('treats the .done files as the truth when metadata.json is stale or garbage', async () => {
    await store.write(cp('preflight'))
    await fsp.writeFile(file('metadata.json'), 'garbage')
    await fsp.writeFile(file('system-prep.done'), JSON.stringify(cp('system-prep')))
    expect((await store.list()).map((c) => c.phase_name)).toEqual(['preflight', 'system-prep'])
    await store.write(cp('rdp-config'))
    expect(Object.keys(await metadata())).toEqual(['preflight', 'system-prep', 'rdp-config'])
  })
})

describe('crash at the checkpoint failpoints (a real process killed with SIGKILL)', () => {
  const crashAt = (failpoint: string) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/fixtures/checkpoint-writer.ts',
        root,
        'desktop-install',
        '20250102-030405-abc123',
      ],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: { ...process.env, VPS_PROVISION_FAILPOINT: failpoint },
        encoding: 'utf8',
        timeout: 30_000,
      },
    )

  it('before the rename: no checkpoint, the phase simply runs again', async () => {
    await store.write(cp('preflight'))
    const child = crashAt('checkpoint.before-rename')
    expect(child.signal).toBe('SIGKILL')
    expect(await store.read('desktop-install')).toBeNull()
    expect((await store.list()).map((c) => c.phase_name)).toEqual(['preflight'])
    await store.write(cp('desktop-install'))
    expect(Object.keys(await metadata())).toEqual(['preflight', 'desktop-install'])
  })

  it('after the rename: the checkpoint counts, and the next write repairs metadata.json', async () => {
    await store.write(cp('preflight'))
    const child = crashAt('checkpoint.after-rename')
    expect(child.signal).toBe('SIGKILL')
    expect(await store.read('desktop-install')).toMatchObject({ phase_name: 'desktop-install' })
    expect(Object.keys(await metadata())).toEqual(['preflight'])
    await store.write(cp('rdp-config'))
    expect(Object.keys(await metadata())).toEqual(['preflight', 'desktop-install', 'rdp-config'])
  })

  it('without a failpoint the child completes normally', async () => {
    const child = crashAt('')
    expect([child.status, child.stdout, child.stderr]).toEqual([0, 'written\n', ''])
    expect(await store.read('desktop-install')).not.toBeNull()
  })
})

describe('stateChecksum', () => {
  it('is stable, order-sensitive and unambiguous about boundaries', () => {
    expect(stateChecksum(['a', 'b'])).toBe(stateChecksum(['a', 'b']))
    expect(stateChecksum(['a', 'b'])).not.toBe(stateChecksum(['b', 'a']))
    expect(stateChecksum(['ab', 'c'])).not.toBe(stateChecksum(['a', 'bc']))
    expect(stateChecksum(['1:a'])).not.toBe(stateChecksum(['a', '']))
    expect(stateChecksum([])).not.toBe(stateChecksum(['']))
    expect(stateChecksum(['x'])).toMatch(/^[0-9a-f]{64}$/)
  })
})
