// A chroot shares the host's PID namespace and /proc (the lab's trixie root, a rescue chroot): an
// undo that ends "the user's processes" by uid there would signal the HOST's processes with that
// uid. The chroot integration test proves it with a host process; this pins the rule on the fake.
import { describe, expect, it } from 'vitest'
import { executeUndo, type UndoOptions } from '../../src/engine/undo-executor.js'
import { FakeSystem } from '../support/fake/index.js'

const options: UndoOptions = {
  backupDir: '/backups',
  readBackup: async () => null,
  written: null,
  force: false,
  keepDrifted: async (p) => p,
}

const signalling = (sys: FakeSystem) =>
  sys.execLog.filter((e) => e.argv[0] === 'pkill' || e.argv[0] === 'loginctl').map((e) => e.argv[0])

describe('delete-user undo and other people’s processes', () => {
  it('in a chroot deletes the user without signalling anything', async () => {
    const sys = FakeSystem.debian13({ systemd: false })
    await sys.exec(['useradd', '--create-home', '--user-group', 'dev'])
    const r = await executeUndo(sys, { kind: 'delete-user', username: 'dev', removeHome: true }, options)
    expect(r.outcome).toBe('undone')
    expect(signalling(sys)).toEqual([])
  })

  it('on a booted machine ends the user’s session first', async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['useradd', '--create-home', '--user-group', 'dev'])
    await executeUndo(sys, { kind: 'delete-user', username: 'dev', removeHome: true }, options)
    expect(signalling(sys)).toContain('pkill')
  })
})
