// Rollback's purge of a package transaction puts back what a maintainer script removed that was
// there before the install (issue 19: locales' postrm took systemd's /etc/default/locale symlink).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { executeUndo } from '../../src/engine/undo-executor.js'
import { packages } from '../../src/steps/index.js'
import { converge, expectContract } from '../helpers/step-harness.js'
import { FakeSystem } from '../support/fake/index.js'

const noWait = { retry: { sleep: async () => {} } }

/** A package whose postrm removes a file, a symlink and another file it never shipped. */
function withGreedyPostrm(sys: FakeSystem): FakeSystem {
  sys.addPackage('greedy', {
    version: '1.0-1',
    files: { '/etc/greedy.conf': 'g=1\n' },
    purgeRemoves: ['/etc/default/locale', '/etc/site/keep.conf', '/etc/site/link'],
  })
  sys.fs.mkdirp('/etc/site', { mode: 0o750, uid: 0, gid: 4 })
  sys.fs.write('/etc/site/keep.conf', 'mine\n', { mode: 0o640, uid: 0, gid: 4 })
  sys.fs.symlink('/etc/site/link', 'keep.conf')
  return sys
}

describe('purge-packages undo puts back what the purge removed of /etc', () => {
  it('the booted trixie symlink /etc/default/locale survives installing and rolling back locales', async () => {
    const { sys } = await expectContract(
      () => FakeSystem.debian13(),
      () => [packages(['locales'], noWait)],
    )
    expect(sys.fs.lget('/etc/default/locale')).toMatchObject({ kind: 'symlink', target: '../locale.conf' })
  })

  it('files, symlinks and their owners come back exactly; what the package brought does not', async () => {
    const { sys } = await expectContract(
      () => withGreedyPostrm(FakeSystem.debian13()),
      () => [packages(['greedy'], noWait)],
    )
    expect(sys.fs.stat('/etc/site/keep.conf')).toMatchObject({ mode: 0o640, uid: 0, gid: 4 })
    expect(sys.fs.lget('/etc/site/link')?.target).toBe('keep.conf')
  })

  it('keeps each content once however many transactions record it', async () => {
    const sys = withGreedyPostrm(FakeSystem.debian13())
    const h = await converge(sys, [packages(['greedy'], noWait), packages(['locales'], noWait)])
    const kept = readdirSync(h.backupDir)
    const contents = kept.filter((f) => f.startsWith('content-'))
    const files = new Set(sys.fs.below('/etc').filter((p) => sys.fs.lget(p)?.kind === 'file'))
    expect(kept.filter((f) => /^tree-.*-etc\.json$/.test(f))).toHaveLength(2)
    // The watched places outside /etc (maintainer-files.test.ts): unchanged, so one record of them.
    expect(kept.filter((f) => f.startsWith('tree-'))).toHaveLength(3)
    const keyrings = sys.fs.below('/usr/share/keyrings').filter((p) => sys.fs.lget(p)?.kind === 'file')
    expect(contents.length).toBeLessThanOrEqual(files.size + keyrings.length)
  })

  it('a rollback killed between the purge and the restore puts the paths back when resumed', async () => {
    const sys = withGreedyPostrm(FakeSystem.debian13())
    const h = await converge(sys, [packages(['greedy'], noWait)])
    const [change] = h.changes
    if (change?.undo.kind !== 'purge-packages') throw new Error('expected a purge-packages undo')
    const { restoreMissing: _, ...purgeOnly } = change.undo
    await executeUndo(sys, purgeOnly, options(h.backupDir))
    expect(sys.fs.lget('/etc/site/keep.conf')).toBeUndefined()
    const resumed = await executeUndo(sys, change.undo, options(h.backupDir))
    expect(resumed.detail).toContain('put back /etc/default/locale, /etc/site/keep.conf, /etc/site/link')
    expect(sys.fs.text('/etc/site/keep.conf')).toBe('mine\n')
  })

  it('an undo journaled before records were kept purges and puts nothing back', async () => {
    const sys = withGreedyPostrm(FakeSystem.debian13())
    const h = await converge(sys, [packages(['greedy'], noWait)])
    const old = await executeUndo(sys, { kind: 'purge-packages', packages: ['greedy'] }, options(h.backupDir))
    expect(old).toEqual({ outcome: 'undone', detail: 'purged greedy' })
    expect(sys.fs.lget('/etc/default/locale')).toBeUndefined()
  })
})

function options(backupDir: string) {
  return {
    backupDir,
    readBackup: async (name: string) => readFileSync(join(backupDir, name)),
    written: null,
    force: false,
    keepDrifted: async () => '',
  }
}
