import { describe, expect, it } from 'vitest'
import { DriftError, executeUndo, planUndoDrift, type UndoOptions } from '../../src/engine/undo-executor.js'
import { Undo, type UndoKind } from '../../src/model/undo.js'
import { file, packages } from '../../src/steps/index.js'
import { sha256 } from '../../src/util/hash.js'
import { converge } from '../helpers/step-harness.js'
import { FakeSystem } from '../support/fake/index.js'

const BASHRC = '/etc/bash.bashrc'

function options(backups: Record<string, Buffer> = {}, extra: Partial<UndoOptions> = {}): UndoOptions {
  return {
    backupDir: '/backups',
    readBackup: async (rel) => backups[rel] ?? null,
    written: null,
    force: false,
    keepDrifted: async (path) => `/backups/drifted${path}`,
    ...extra,
  }
}

async function bashrcBackup(sys: FakeSystem) {
  const data = (await sys.readFile(BASHRC)) as Buffer
  const undo: Undo = {
    kind: 'restore-file',
    path: BASHRC,
    backup: '1-bash.bashrc',
    sha256: sha256(data),
    mode: 0o644,
    uid: 0,
    gid: 0,
  }
  return { undo, backups: { '1-bash.bashrc': data } }
}

/** One undo of every kind, as the step kinds journal them for a change that did not happen. */
const EVERY_KIND: Undo[] = [
  { kind: 'remove-file', path: '/etc/motd' },
  {
    kind: 'restore-block',
    path: '/home/dev/.ssh/authorized_keys',
    marker: 'root-keys',
    previous: null,
    removeEmptyFile: true,
  },
  { kind: 'remove-dir', path: '/var/cache/vps-provision' },
  { kind: 'remove-tree', path: '/opt/antigravity', marker: '.vps-provision-unpacked' },
  { kind: 'remove-swap-file', path: '/swapfile' },
  { kind: 'remove-clone', path: '/home/dev/app', user: 'dev' },
  { kind: 'purge-packages', packages: ['curl', 'libcurl4t64'] },
  { kind: 'delete-user', username: 'dev', removeHome: true },
  { kind: 'delete-group', group: 'developers' },
  { kind: 'remove-from-group', username: 'messagebus', group: 'audio' },
  { kind: 'disable-unit', unit: 'ufw.service' },
  { kind: 'stop-unit', unit: 'ufw.service' },
  {
    kind: 'remove-apt-source',
    sourcePath: '/etc/apt/sources.list.d/vscode.sources',
    keyringPath: '/usr/share/keyrings/microsoft.gpg',
  },
  { kind: 'remove-maintainer-files', roots: ['/etc/apt/sources.list.d', '/usr/share/keyrings'], before: [] },
  { kind: 'remove-docker-volume', volume: 'data', session: '20261206-230000-abcdef' },
  { kind: 'keep-docker-data', session: '20261206-230000-abcdef' },
  { kind: 'argv', argv: ['usermod', '--lock', '--', 'dev'], allowFailure: true },
  { kind: 'irreversible', reason: 'package lists are a cache' },
]

describe('executeUndo when the change never happened', () => {
  it('covers every undo kind', () => {
    const kinds = new Set<UndoKind>([...EVERY_KIND.map((u) => u.kind), 'restore-file'])
    expect([...kinds].sort()).toEqual(Undo.options.map((o) => o.shape.kind.value).sort())
  })

  it.each(EVERY_KIND.map((u) => [u.kind, u] as const))('%s changes nothing', async (_, undo) => {
    const sys = FakeSystem.debian13()
    const before = sys.snapshot()
    const r = await executeUndo(sys, Undo.parse(undo), options())
    expect(sys.snapshot()).toEqual(before)
    if (undo.kind !== 'argv') expect(r.outcome).toBe('skipped')
  })

  it('restore-file changes nothing', async () => {
    const sys = FakeSystem.debian13()
    const { undo, backups } = await bashrcBackup(sys)
    const before = sys.snapshot()
    expect(await executeUndo(sys, undo, options(backups))).toEqual({
      outcome: 'skipped',
      detail: `${BASHRC} already as before`,
    })
    expect(sys.snapshot()).toEqual(before)
  })
})

describe('executeUndo after the change', () => {
  it('restores a file, then is a no-op the second time', async () => {
    const sys = FakeSystem.debian13()
    const { undo, backups } = await bashrcBackup(sys)
    const before = sys.snapshot()
    sys.writeText(BASHRC, 'ours\n', { mode: 0o600 })
    const written = { [BASHRC]: sha256('ours\n') }
    expect((await executeUndo(sys, undo, options(backups, { written }))).outcome).toBe('undone')
    expect(sys.snapshot()).toEqual(before)
    expect((await executeUndo(sys, undo, options(backups, { written }))).outcome).toBe('skipped')
  })

  it('refuses a file someone edited since we wrote it, naming it', async () => {
    const sys = FakeSystem.debian13()
    const { undo, backups } = await bashrcBackup(sys)
    sys.writeText(BASHRC, 'theirs\n')
    const err = await executeUndo(
      sys,
      undo,
      options(backups, { written: { [BASHRC]: sha256('ours\n') } }),
    ).catch((e) => e)
    expect(err).toBeInstanceOf(DriftError)
    expect(err).toMatchObject({ paths: [BASHRC], exitCode: 3 })
    expect(sys.readText(BASHRC)).toBe('theirs\n')
  })

  it('with force keeps a copy of the edited file first, then restores', async () => {
    const sys = FakeSystem.debian13()
    const { undo, backups } = await bashrcBackup(sys)
    sys.writeText(BASHRC, 'theirs\n')
    const kept: [string, string][] = []
    const r = await executeUndo(
      sys,
      undo,
      options(backups, {
        written: { [BASHRC]: sha256('ours\n') },
        force: true,
        keepDrifted: async (path, data) => {
          kept.push([path, data.toString()])
          return '/backups/drifted/1'
        },
      }),
    )
    expect(kept).toEqual([[BASHRC, 'theirs\n']])
    expect(r).toEqual({
      outcome: 'undone',
      detail: `restored ${BASHRC}; kept the edited copy at /backups/drifted/1`,
    })
    expect(sys.readText(BASHRC)).toBe(backups['1-bash.bashrc'].toString())
  })

  it('detects drift on remove-file too', async () => {
    const sys = FakeSystem.debian13()
    sys.writeText('/etc/motd', 'edited\n')
    await expect(
      executeUndo(
        sys,
        { kind: 'remove-file', path: '/etc/motd' },
        options({}, { written: { '/etc/motd': sha256('x') } }),
      ),
    ).rejects.toBeInstanceOf(DriftError)
    expect(sys.readText('/etc/motd')).toBe('edited\n')
  })

  it('refuses a missing or corrupt backup', async () => {
    const sys = FakeSystem.debian13()
    const { undo } = await bashrcBackup(sys)
    await expect(executeUndo(sys, undo, options())).rejects.toThrow(/backup 1-bash.bashrc is missing/)
    await expect(executeUndo(sys, undo, options({ '1-bash.bashrc': Buffer.from('x') }))).rejects.toThrow(
      /is corrupt/,
    )
  })

  it('leaves a directory someone put files into', async () => {
    const sys = FakeSystem.debian13()
    sys.writeText('/srv/x/keep', 'data')
    expect(await executeUndo(sys, { kind: 'remove-dir', path: '/srv/x' }, options())).toEqual({
      outcome: 'skipped',
      detail: '/srv/x is not empty (1 entries); left in place',
    })
  })

  it('purges only what is still installed', async () => {
    const sys = FakeSystem.debian13()
    await converge(sys, [packages(['curl'])])
    await sys.exec(['apt-get', '-y', 'purge', 'curl'])
    const r = await executeUndo(sys, { kind: 'purge-packages', packages: ['curl', 'libcurl4t64'] }, options())
    expect(r).toEqual({ outcome: 'undone', detail: 'purged libcurl4t64' })
  })

  it('refuses a purge that would take packages installed since, unless forced', async () => {
    const sys = FakeSystem.debian13()
    await converge(sys, [packages(['gpg'])])
    sys.addPackage('later', { version: '1', depends: ['gpg'] })
    await sys.exec(['apt-get', '-y', 'install', 'later'])
    const undo: Undo = { kind: 'purge-packages', packages: ['gpg'] }
    await expect(executeUndo(sys, undo, options())).rejects.toThrow(
      'Unable to purge gpg: apt would also remove later, installed since',
    )
    expect(sys.packageVersion('later')).toBe('1')
    await executeUndo(sys, undo, options({}, { force: true }))
    expect([sys.packageVersion('gpg'), sys.packageVersion('later')]).toEqual([null, null])
  })

  it('explains a user that cannot be deleted', async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['useradd', '--user-group', 'dev'])
    sys.failOn((argv) =>
      argv[0] === 'userdel'
        ? { exitCode: 8, stdout: '', stderr: 'userdel: user dev is currently used by process 4242\n' }
        : null,
    )
    const err = await executeUndo(
      sys,
      { kind: 'delete-user', username: 'dev', removeHome: true },
      options(),
    ).catch((e) => e)
    expect(err.message).toMatch(
      /^Unable to delete user dev: `userdel --remove -- dev` exited 8: userdel: user dev is currently used/,
    )
    expect(err.hint).toContain('loginctl terminate-user dev')
  })

  it('stops on a failing argv undo unless it may fail', async () => {
    const sys = FakeSystem.debian13()
    await expect(
      executeUndo(sys, { kind: 'argv', argv: ['false'], allowFailure: false }, options()),
    ).rejects.toThrow(/^Unable to undo with false/)
    expect(await executeUndo(sys, { kind: 'argv', argv: ['false'], allowFailure: true }, options())).toEqual({
      outcome: 'undone',
      detail: 'ran false (exit 1)',
    })
  })
})

describe('planUndoDrift', () => {
  it('lists every drifted path before anything is undone, judging rewrites by the later undo', async () => {
    const sys = FakeSystem.debian13()
    const first = await converge(sys, [file({ path: '/etc/motd', content: 'one\n', mode: 0o644 })])
    const second = await converge(sys, [file({ path: '/etc/motd', content: 'two\n', mode: 0o644 })])
    await converge(sys, [file({ path: '/etc/issue.net', content: 'x\n', mode: 0o644 })]).then(() =>
      sys.writeText('/etc/issue.net', 'edited\n'),
    )
    const newestFirst = [
      {
        undo: { kind: 'remove-file', path: '/etc/issue.net' } as Undo,
        written: { '/etc/issue.net': sha256('x\n') },
      },
      ...[...first.changes, ...second.changes]
        .reverse()
        .map((c) => ({ undo: c.undo, written: c.result?.files ?? null })),
    ]
    // /etc/motd was written twice by the session: not drift. /etc/issue.net was edited: drift.
    expect(await planUndoDrift(sys, newestFirst)).toEqual(['/etc/issue.net'])
    sys.writeText('/etc/motd', 'three\n')
    expect(await planUndoDrift(sys, newestFirst)).toEqual(['/etc/issue.net', '/etc/motd'])
  })
})
