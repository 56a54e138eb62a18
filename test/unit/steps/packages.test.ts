import { describe, expect, it } from 'vitest'
import { debInstall, packages } from '../../../src/steps/index.js'
import { converge, expectContract, journaled, makeHarness } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'

const noWait = { sleep: async () => {} }
/** /etc as it was before the install, kept in the session's backups (test/unit/undo-restore.test.ts). */
const etcRecord = expect.objectContaining({
  root: '/etc',
  record: expect.stringMatching(/^tree-.*-etc\.json$/),
})

/** A small universe of our own, so these tables do not depend on the fake's package list. */
function withTools(sys: FakeSystem): FakeSystem {
  sys.addPackage('libtool-a1', { version: '1.0-1' })
  sys.addPackage('tool-a-data', { version: '1.0-1', files: { '/usr/share/tool-a/data': 'x\n' } })
  sys.addPackage('tool-a', {
    version: '1.0-1',
    depends: ['libtool-a1'],
    recommends: ['tool-a-data'],
    bin: ['/usr/bin/tool-a'],
    files: { '/etc/tool-a.conf': 'a=1\n' },
  })
  sys.addPackage('tool-b', {
    version: '2.0-1',
    depends: ['libtool-a1 | libtool-a2'],
    units: ['tool-b.service'],
  })
  sys.addPackage('tool-c', { version: '3.0-1', sysusers: ['toolc'] })
  return sys
}

describe('packages', () => {
  it.each([
    {
      name: 'one package with its dependency, no Recommends',
      names: ['tool-a'],
      recommends: false,
      target: 'tool-a',
      purge: ['libtool-a1', 'tool-a'],
    },
    {
      name: 'Recommends when asked',
      names: ['tool-a'],
      recommends: true,
      target: 'tool-a',
      purge: ['libtool-a1', 'tool-a', 'tool-a-data'],
    },
    {
      name: 'only the missing ones, in one transaction (units and system users too)',
      names: ['bash', 'tool-b', 'tool-c'],
      recommends: false,
      target: 'tool-b tool-c',
      purge: ['libtool-a1', 'tool-b', 'tool-c'],
    },
    {
      name: 'a dependency that was already there is not ours to purge',
      names: ['tool-a'],
      recommends: false,
      target: 'tool-a',
      purge: ['tool-a'],
      setup: (sys: FakeSystem) => sys.exec(['apt-get', 'install', '-y', 'libtool-a1']),
    },
  ])('$name', async ({ names, recommends, target, purge, setup }) => {
    const fresh = async () => {
      const sys = withTools(FakeSystem.debian13())
      await setup?.(sys)
      return sys
    }
    const { sys, h } = await expectContract(fresh, () => [packages(names, { recommends, retry: noWait })])
    expect(journaled(h)).toEqual([
      `PACKAGE_INSTALL ${target} -> purge-packages`,
      `FILE_MODIFY maintainer scripts of ${target} -> remove-maintainer-files`,
    ])
    expect(h.changes[0]?.undo).toEqual({ kind: 'purge-packages', packages: purge, restoreMissing: etcRecord })
    for (const n of names) expect(sys.packageVersion(n)).not.toBeNull()
  })

  it('streams apt output as progress', async () => {
    const h = await converge(withTools(FakeSystem.debian13()), [packages(['tool-a'])])
    expect(h.progress).toContain('Unpacking tool-a (1.0-1) ...')
  })

  it('journals nothing when everything is installed', async () => {
    const sys = FakeSystem.debian13()
    const step = packages(['bash', 'apt'])
    expect((await step.check(sys)).done).toBe(true)
    expect((await converge(sys, [step])).changes).toEqual([])
  })

  it('says what is missing and observes versions', async () => {
    const c = await packages(['bash', 'git'], { id: 'tools' }).check(FakeSystem.debian13())
    expect(c).toMatchObject({ done: false, why: 'not installed: git' })
    expect(c.observed).toMatch(/^bash=5\.2\.37-2\+b5\ngit=-$/)
  })

  it('retries transient network failures with exponential backoff', async () => {
    const sys = FakeSystem.debian13()
    let failures = 2
    sys.failOn((argv) =>
      argv.includes('install') && !argv.includes('-s') && failures-- > 0
        ? {
            exitCode: 100,
            stdout: '',
            stderr: 'E: Failed to fetch http://deb.debian.org/x.deb  Temporary failure resolving',
          }
        : null,
    )
    const waits: number[] = []
    const h = await converge(sys, [
      packages(['wget'], { retry: { sleep: async (ms) => void waits.push(ms), baseDelayMs: 10 } }),
    ])
    expect(waits).toEqual([10, 20])
    expect(h.messages.filter((m) => m.startsWith('warn'))).toHaveLength(2)
    expect(h.changes.map((c) => c.status)).toEqual(['done', 'done'])
    expect(sys.packageVersion('wget')).not.toBeNull()
  })

  it('gives up after three tries and explains the network problem', async () => {
    const sys = FakeSystem.debian13()
    sys.failOn((argv) =>
      argv.includes('install') && !argv.includes('-s')
        ? { exitCode: 100, stdout: '', stderr: 'E: Could not connect to deb.debian.org:80' }
        : null,
    )
    const h = makeHarness(sys)
    await expect(converge(sys, [packages(['wget'], { retry: noWait })], h)).rejects.toThrow(
      /Unable to install wget: the package mirror could not be reached/,
    )
    expect(sys.execLog.filter((e) => e.argv.includes('install') && !e.argv.includes('-s'))).toHaveLength(3)
    // What the scripts of a failed transaction wrote is listed all the same: that change is done.
    expect(h.changes.map((c) => c.status)).toEqual(['failed', 'done'])
  })

  it('explains an unknown package after one apt-get update', async () => {
    const sys = FakeSystem.debian13()
    const h = makeHarness(sys)
    await expect(converge(sys, [packages(['no-such-thing'])], h)).rejects.toThrow(
      'Unable to install no-such-thing: apt cannot find package no-such-thing',
    )
    expect(journaled(h)).toEqual(['COMMAND_EXEC apt-get update -> irreversible'])
  })

  it('refreshes the lists once when a just-added source provides the package', async () => {
    const sys = FakeSystem.debian13()
    sys.addPackage('code', { version: '1.105.0-1', source: 'vscode.sources', bin: ['/usr/bin/code'] })
    sys.writeText(
      '/etc/apt/sources.list.d/vscode.sources',
      'Types: deb\nURIs: https://packages.microsoft.com/repos/code\nSuites: stable\nComponents: main\nSigned-By: /usr/share/keyrings/microsoft.gpg\n',
    )
    sys.writeText('/usr/share/keyrings/microsoft.gpg', '\u0099key')
    const h = await converge(sys, [packages(['code'])])
    expect(journaled(h)).toEqual([
      'COMMAND_EXEC apt-get update -> irreversible',
      'PACKAGE_INSTALL code -> purge-packages',
      'FILE_MODIFY maintainer scripts of code -> remove-maintainer-files',
    ])
  })

  it('refuses names that are not Debian package names', () => {
    expect(() => packages(['--purge'])).toThrow(/not a Debian package name/)
    expect(() => packages([])).toThrow(/no package names/)
  })
})

describe('debInstall', () => {
  const deb = '/var/cache/vps-provision/downloads/cursor.deb'
  const fresh = () => {
    const sys = FakeSystem.debian13()
    // The fake reads a local .deb as its package definition in JSON.
    sys.writeText(
      deb,
      JSON.stringify({ name: 'cursor', version: '1.7.0', depends: ['git'], bin: ['/usr/bin/cursor'] }),
    )
    return sys
  }

  it('installs the file with its dependencies and purges exactly those on undo', async () => {
    const { h } = await expectContract(fresh, () => [debInstall({ path: deb, packageName: 'cursor' })])
    expect(journaled(h)).toEqual([
      `PACKAGE_INSTALL cursor (${deb}) -> purge-packages`,
      `FILE_MODIFY maintainer scripts of cursor (${deb}) -> remove-maintainer-files`,
    ])
    expect(h.changes[0]?.undo).toEqual({
      kind: 'purge-packages',
      packages: ['cursor', 'git', 'git-man'],
      restoreMissing: etcRecord,
    })
  })

  it('is done when the package is installed, whatever file is there', async () => {
    const sys = fresh()
    await converge(sys, [debInstall({ id: 'cursor', path: deb, packageName: 'cursor' })])
    await sys.removeFile(deb)
    expect((await debInstall({ path: deb, packageName: 'cursor' }).check(sys)).done).toBe(true)
  })

  it('rejects a relative path', () => {
    expect(() => debInstall({ path: 'x.deb', packageName: 'xx' })).toThrow(/not an absolute path/)
  })
})
