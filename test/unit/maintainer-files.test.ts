// What a package's maintainer scripts write outside the package (a vendor's apt source and keyring,
// a cron job, a changed file that was there before) is journaled with its transaction and undone
// by rollback, which never removes what someone made afterwards (issue 20, item 3).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DriftError, executeUndo, planUndoDrift } from '../../src/engine/undo-executor.js'
import { debInstall, packages } from '../../src/steps/index.js'
import { sha256 } from '../../src/util/hash.js'
import {
  converge,
  journaled,
  makeHarness,
  type RecordedChange,
  SimulatedCrash,
} from '../helpers/step-harness.js'
import { FakeSystem } from '../support/fake/index.js'
import { VSCODE_VENDOR_SOURCES } from '../support/fake/universe.js'

const noWait = { retry: { sleep: async () => {} } }
const SOURCE = '/etc/apt/sources.list.d/tool.list'
const KEYRING = '/usr/share/keyrings/tool.gpg'
const CRON = '/etc/cron.d/tool'
const TOOL_LIST = 'deb [signed-by=/usr/share/keyrings/tool.gpg] https://apt.tool.example/repo/ stable main\n'

/** A vendor package whose postinst adds an apt source, its keyring and a cron job, and edits a file. */
function withVendorTool(sys: FakeSystem): FakeSystem {
  sys.addPackage('tool', {
    version: '1.0-1',
    bin: ['/usr/bin/tool'],
    postinst: {
      writes: {
        [SOURCE]: TOOL_LIST,
        [KEYRING]: '\u0099tool key\n',
        [CRON]: '0 3 * * * root /usr/bin/tool --update\n',
        '/etc/systemd/system/site.service': '[Service]\nExecStart=/usr/bin/tool\n',
      },
      links: {
        '/etc/systemd/system/multi-user.target.wants/tool.service': '/usr/lib/systemd/system/tool.service',
      },
    },
  })
  // Was there before; the postinst rewrites it.
  sys.writeText('/etc/systemd/system/site.service', '[Service]\nExecStart=/usr/local/bin/site\n')
  return sys
}

const options = (backupDir: string, extra: object = {}) => ({
  backupDir,
  readBackup: async (name: string) => {
    try {
      return readFileSync(join(backupDir, name))
    } catch {
      return null
    }
  },
  written: null,
  force: false,
  keepDrifted: async (path: string) => join(backupDir, 'drifted', path.replaceAll('/', '_')),
  ...extra,
})

/** Undoes the harness's journal newest first, as rollback would with what it knows. */
async function rollback(sys: FakeSystem, changes: RecordedChange[], backupDir: string, extra: object = {}) {
  const outcomes = []
  for (const c of [...changes].reverse())
    outcomes.push(
      await executeUndo(
        sys,
        c.undo,
        options(backupDir, { written: c.status === 'done' ? (c.result?.files ?? null) : null, ...extra }),
      ),
    )
  return outcomes
}

describe('what maintainer scripts write is journaled with their transaction', () => {
  it('journals, before dpkg starts, exactly the files no package owns', async () => {
    const sys = withVendorTool(FakeSystem.debian13())
    const h = await converge(sys, [packages(['tool'], noWait)])
    expect(journaled(h)).toEqual([
      'PACKAGE_INSTALL tool -> purge-packages',
      'FILE_MODIFY maintainer scripts of tool -> remove-maintainer-files',
    ])
    const [, scripts] = h.changes
    expect(scripts?.undo).toMatchObject({
      kind: 'remove-maintainer-files',
      before: [
        expect.objectContaining({ root: '/etc' }),
        expect.objectContaining({ root: '/usr/share/keyrings' }),
      ],
    })
    expect(Object.keys(scripts?.result?.files ?? {})).toEqual(
      [
        CRON,
        SOURCE,
        '/etc/systemd/system/multi-user.target.wants/tool.service',
        '/etc/systemd/system/site.service',
        KEYRING,
      ].sort(),
    )
    expect(scripts?.result?.files?.[SOURCE]).toBe(sha256(TOOL_LIST))
    // /usr/bin/tool is the package's: dpkg-query -S found it, so the purge takes it.
    const search = sys.execLog.find((e) => e.argv[0] === 'dpkg-query' && e.argv[1] === '-S')
    expect(search?.exitCode).toBe(1)
  })

  it('(a) a postinst that writes an apt source and keyring: rollback leaves neither', async () => {
    const sys = withVendorTool(FakeSystem.debian13())
    const before = sys.snapshot()
    const h = await converge(sys, [packages(['tool'], noWait)])
    expect(sys.readText(SOURCE)).toBe(TOOL_LIST)
    const outcomes = await rollback(sys, h.changes, h.backupDir)
    expect(outcomes[0]?.detail).toContain(`removed ${SOURCE}`)
    expect(sys.fs.lget(SOURCE)).toBeUndefined()
    expect(sys.fs.lget(KEYRING)).toBeUndefined()
    // The directory the postinst made for its link goes with it, once empty.
    expect(sys.fs.lget('/etc/systemd/system/multi-user.target.wants')).toBeUndefined()
    expect(sys.snapshot()).toEqual(before)
  })

  it('(b) a file that was there before and a postinst changed is put back', async () => {
    const sys = withVendorTool(FakeSystem.debian13())
    const h = await converge(sys, [packages(['tool'], noWait)])
    expect(sys.readText('/etc/systemd/system/site.service')).toContain('/usr/bin/tool')
    await rollback(sys, h.changes, h.backupDir)
    expect(sys.readText('/etc/systemd/system/site.service')).toBe(
      '[Service]\nExecStart=/usr/local/bin/site\n',
    )
  })

  it('(c) a file someone creates after the run is not removed; one they edit is refused', async () => {
    const sys = withVendorTool(FakeSystem.debian13())
    const h = await converge(sys, [packages(['tool'], noWait)])
    sys.writeText('/etc/cron.d/backup', '0 1 * * * root /usr/local/bin/backup\n')
    sys.writeText('/etc/apt/sources.list.d/mine.list', 'deb https://example.org/debian trixie main\n')
    sys.writeText(CRON, '0 4 * * * root /usr/bin/tool --update\n')
    const pending = [...h.changes].reverse().map((c) => ({ undo: c.undo, written: c.result?.files ?? null }))
    expect(await planUndoDrift(sys, pending, options(h.backupDir))).toEqual([CRON])
    await expect(rollback(sys, h.changes, h.backupDir)).rejects.toBeInstanceOf(DriftError)
    expect(sys.readText(CRON)).toContain('0 4')
    // --force keeps a copy of the edit, then goes on.
    await rollback(sys, h.changes, h.backupDir, { force: true })
    expect(sys.fs.lget(CRON)).toBeUndefined()
    expect(sys.readText('/etc/cron.d/backup')).toContain('backup')
    expect(sys.readText('/etc/apt/sources.list.d/mine.list')).toContain('example.org')
  })

  it('what the package itself ships in a watched place goes with the purge, not with this undo', async () => {
    const sys = FakeSystem.debian13()
    sys.addPackage('cronjob', { version: '1', files: { '/etc/cron.daily/cronjob': '#!/bin/sh\n' } })
    const h = await converge(sys, [packages(['cronjob'], noWait)])
    expect(h.changes[1]?.result?.files).toEqual({})
    expect(h.changes[1]?.result?.output).toBe('the maintainer scripts wrote nothing outside their packages')
  })

  it("VS Code's postinst writes nothing when debconf says no, and its source and key when not", async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['debconf-set-selections'], { stdin: 'code code/add-microsoft-repo boolean false\n' })
    const deb = '/var/cache/vps-provision/downloads/code.deb'
    const def = (await import('../support/fake/universe.js')).AVAILABLE.code
    sys.writeText(deb, JSON.stringify({ name: 'code', ...def, source: undefined }))
    const quiet = await converge(sys, [debInstall({ path: deb, packageName: 'code' })])
    expect(quiet.changes[1]?.result?.files).toEqual({})
    const loud = FakeSystem.debian13()
    loud.writeText(deb, JSON.stringify({ name: 'code', ...def, source: undefined }))
    const h = await converge(loud, [debInstall({ path: deb, packageName: 'code' })])
    expect(Object.keys(h.changes[1]?.result?.files ?? {})).toEqual([
      '/etc/apt/sources.list.d/vscode.sources',
      '/usr/share/keyrings/microsoft.gpg',
    ])
    expect(loud.readText('/etc/apt/sources.list.d/vscode.sources')).toBe(VSCODE_VENDOR_SOURCES)
  })
})

describe('(d) a vendor source for a repository one of ours names', () => {
  const OURS = '/etc/apt/sources.list.d/tool.sources'
  const ours = [
    '# Managed by vps-provision; key from https://apt.tool.example/key.asc',
    'Types: deb',
    'URIs: https://apt.tool.example/repo',
    'Suites: stable',
    'Components: main',
    'Signed-By: /etc/apt/keyrings/tool.gpg',
    '',
  ].join('\n')

  it('is removed right after the transaction, journaled and named; ours stays; rollback ends where it began', async () => {
    const sys = withVendorTool(FakeSystem.debian13())
    sys.writeText(OURS, ours)
    sys.writeText('/etc/apt/keyrings/tool.gpg', '\u0099tool key we checked\n')
    const before = sys.snapshot()
    const h = await converge(sys, [packages(['tool'], noWait)])
    expect(journaled(h)).toEqual([
      'PACKAGE_INSTALL tool -> purge-packages',
      'FILE_MODIFY maintainer scripts of tool -> remove-maintainer-files',
      `FILE_MODIFY ${SOURCE} -> restore-file`,
    ])
    expect(sys.fs.lget(SOURCE)).toBeUndefined()
    expect(sys.readText(OURS)).toBe(ours)
    expect(h.messages.filter((m) => m.startsWith('warn'))).toEqual([
      expect.stringMatching(
        new RegExp(`^warn: Removed ${SOURCE}, .*https://apt\\.tool\\.example/repo like ${OURS}`),
      ),
    ])
    // apt sees one Signed-By for the repository again.
    expect((await sys.exec(['apt-get', 'update'], { allowFailure: true })).exitCode).toBe(0)
    await rollback(sys, h.changes, h.backupDir)
    expect(sys.snapshot()).toEqual(before)
  })

  it('a vendor source for another repository stays', async () => {
    const sys = withVendorTool(FakeSystem.debian13())
    sys.writeText(OURS, ours.replace('apt.tool.example/repo', 'mirror.example/tool'))
    const h = await converge(sys, [packages(['tool'], noWait)])
    expect(journaled(h)).toHaveLength(2)
    expect(sys.readText(SOURCE)).toBe(TOOL_LIST)
  })
})

describe('(e) killed between begin and done: in doubt', () => {
  /** Crashes right after the transaction, before its maintainer files were listed. */
  async function crashed() {
    const sys = withVendorTool(FakeSystem.debian13())
    const h = makeHarness(sys, { crash: { at: 2, when: 'after-change' } })
    await expect(converge(sys, [packages(['tool'], noWait)], h)).rejects.toBeInstanceOf(SimulatedCrash)
    expect(h.changes.map((c) => c.status)).toEqual(['failed', 'in-doubt'])
    expect(sys.readText(SOURCE)).toBe(TOOL_LIST)
    return { sys, h }
  }

  it('with nothing recorded after the crash, nothing is removed: the scripts files are named', async () => {
    const { sys, h } = await crashed()
    sys.writeText('/etc/cron.d/backup', '0 1 * * * root /usr/local/bin/backup\n')
    const before = new Map(sys.fs.below('/etc').map((p) => [p, sys.fs.lget(p)?.data.toString()]))
    const [scripts, purge] = await rollback(sys, h.changes, h.backupDir)
    expect(scripts?.detail).toMatch(/^left in place, in doubt: /)
    for (const p of [SOURCE, KEYRING, CRON, '/etc/cron.d/backup']) expect(scripts?.detail).toContain(p)
    expect(purge?.detail).toBe('purged tool')
    expect(sys.readText('/etc/cron.d/backup')).toContain('backup')
    expect(sys.readText(SOURCE)).toBe(TOOL_LIST)
    // The changed file that was there before is left too: a later edit would look the same.
    expect(sys.readText('/etc/systemd/system/site.service')).toBe(
      before.get('/etc/systemd/system/site.service'),
    )
  })

  it('with a later record, what predates it is undone and what came after stays', async () => {
    const { sys, h } = await crashed()
    const crashOver = Date.now() + 1000 // e.g. the next run's start
    sys.writeText('/etc/cron.d/backup', '0 1 * * * root /usr/local/bin/backup\n')
    sys.writeText('/etc/apt/sources.list.d/mine.list', 'deb https://example.org/debian trixie main\n')
    sys.fs.touch('/etc/cron.d/backup', crashOver + 60_000)
    sys.fs.touch('/etc/apt/sources.list.d/mine.list', crashOver + 60_000)
    await rollback(sys, h.changes, h.backupDir, { inDoubtUntil: crashOver })
    expect(sys.fs.lget(SOURCE)).toBeUndefined()
    expect(sys.fs.lget(KEYRING)).toBeUndefined()
    expect(sys.fs.lget(CRON)).toBeUndefined()
    expect(sys.readText('/etc/systemd/system/site.service')).toBe(
      '[Service]\nExecStart=/usr/local/bin/site\n',
    )
    // Made after the crash was over: someone's, not the scripts'.
    expect(sys.readText('/etc/cron.d/backup')).toContain('backup')
    expect(sys.readText('/etc/apt/sources.list.d/mine.list')).toContain('example.org')
    // Files of the image (older than anything of the run) that no package owns are untouched.
    expect(sys.readText('/etc/apt/sources.list.d/debian.sources')).toContain('deb.debian.org')
  })

  it('killed before dpkg started: nothing differs, nothing is undone', async () => {
    const sys = withVendorTool(FakeSystem.debian13())
    const before = sys.snapshot()
    const h = makeHarness(sys, { crash: { at: 2, when: 'before-change' } })
    await expect(converge(sys, [packages(['tool'], noWait)], h)).rejects.toBeInstanceOf(SimulatedCrash)
    const [scripts] = await rollback(sys, h.changes, h.backupDir)
    expect(scripts?.outcome).toBe('skipped')
    expect(sys.snapshot()).toEqual(before)
  })
})
