// The read-only parts of issue 20 item 3: which repositories a source file names (both formats),
// who owns a path according to dpkg-query -S (and that the fake answers in Debian's form), and
// when rollback may take a killed transaction to be over.
import { describe, expect, it } from 'vitest'
import type { DerivedAction, JournalRecord } from '../../src/engine/journal.js'
import { inDoubtEnds } from '../../src/engine/rollback-guards.js'
import {
  isManagedSource,
  normalizeUri,
  parseAptSources,
  sharedRepositories,
} from '../../src/facts/apt-sources.js'
import { changedPaths, ownedPaths, parseOwnedPaths } from '../../src/facts/maintainer-files.js'
import type { RecordedPath } from '../../src/model/undo.js'
import { renderSources } from '../../src/steps/apt-source.js'
import { FakeSystem } from '../support/fake/index.js'
import { FILE_OWNER_LINE } from '../support/parity.js'

describe('apt source files', () => {
  it('reads one-line .list entries, options and comments included', () => {
    const text = [
      '# Cursor',
      'deb [arch=amd64,arm64 signed-by=/etc/apt/keyrings/cursor.gpg] https://Downloads.Cursor.com/aptrepo/ stable main',
      'deb-src https://example.org/debian trixie main # sources too',
      '',
    ].join('\n')
    expect(parseAptSources('cursor.list', text)).toEqual([
      {
        uri: 'https://downloads.cursor.com/aptrepo',
        suites: ['stable'],
        signedBy: '/etc/apt/keyrings/cursor.gpg',
      },
      { uri: 'https://example.org/debian', suites: ['trixie'], signedBy: null },
    ])
  })

  it('reads deb822 stanzas: several URIs, disabled ones left out, an inline key', () => {
    const text = [
      'Types: deb',
      'URIs: https://packages.microsoft.com/repos/code/ https://mirror.example/code',
      'Suites: stable',
      'Components: main',
      'Signed-By: /usr/share/keyrings/microsoft.gpg',
      '',
      'Types: deb',
      'URIs: https://off.example/repo',
      'Suites: stable',
      'Enabled: no',
      '',
      'Types: deb',
      'URIs: https://inline.example/repo',
      'Suites: x',
      'Signed-By:',
      ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
      ' .',
      ' mQINBF',
      '',
    ].join('\n')
    expect(parseAptSources('vscode.sources', text)).toEqual([
      {
        uri: 'https://packages.microsoft.com/repos/code',
        suites: ['stable'],
        signedBy: '/usr/share/keyrings/microsoft.gpg',
      },
      {
        uri: 'https://mirror.example/code',
        suites: ['stable'],
        signedBy: '/usr/share/keyrings/microsoft.gpg',
      },
      { uri: 'https://inline.example/repo', suites: ['x'], signedBy: '(inline key)' },
    ])
    expect(parseAptSources('notes.txt', text)).toEqual([])
  })

  it('one repository in both formats, told apart from another by URI alone', () => {
    const ours = parseAptSources(
      'vscode.sources',
      renderSources({
        name: 'vscode',
        uri: 'https://packages.microsoft.com/repos/code',
        suite: 'stable',
        components: ['main'],
        keyUrl: 'https://packages.microsoft.com/keys/microsoft.asc',
        keyringPath: '/usr/share/keyrings/microsoft.gpg',
        sourcePath: '/etc/apt/sources.list.d/vscode.sources',
      }),
    )
    const theirs = parseAptSources(
      'vscode.list',
      'deb [arch=amd64 signed-by=/etc/apt/keyrings/packages.microsoft.gpg] https://packages.microsoft.com/repos/code/ stable main\n',
    )
    expect(sharedRepositories(theirs, ours)).toEqual(['https://packages.microsoft.com/repos/code'])
    expect(
      sharedRepositories(parseAptSources('x.list', 'deb https://other.example/code stable main'), ours),
    ).toEqual([])
    expect(normalizeUri('HTTPS://Packages.Microsoft.com/repos/Code//')).toBe(
      'https://packages.microsoft.com/repos/Code',
    )
  })

  it('knows its own files by their first line', () => {
    expect(isManagedSource('# Managed by vps-provision; key from https://k\nTypes: deb\n')).toBe(true)
    expect(isManagedSource('Types: deb\n# Managed by vps-provision\n')).toBe(false)
  })
})

describe('dpkg-query -S', () => {
  it('the fake answers in the form Debian does, exit 1 when any path is nobody’s', async () => {
    const sys = FakeSystem.debian13()
    const r = await sys.exec(
      ['dpkg-query', '-S', '/usr/share/keyrings', '/etc/apt/sources.list.d', '/etc/cron.d/nobody'],
      { allowFailure: true },
    )
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toBe('dpkg-query: no path found matching pattern /etc/cron.d/nobody\n')
    const lines = r.stdout.split('\n').filter(Boolean)
    expect(lines).toHaveLength(2)
    for (const l of lines) expect(l).toMatch(FILE_OWNER_LINE)
    expect(await sys.exec(['dpkg-query', '-S', '/usr/share/keyrings'])).toMatchObject({ exitCode: 0 })
  })

  it('owned paths: owner lines count, diversions and stderr do not; wildcards are escaped', async () => {
    expect(
      parseOwnedPaths(
        [
          'diversion by dash from: /bin/sh',
          'diversion by dash to: /bin/sh.distrib',
          'dash: /bin/sh',
          'libc6:amd64, libc-bin: /etc/ld.so.conf.d',
        ].join('\n'),
      ),
    ).toEqual(new Set(['/bin/sh', '/etc/ld.so.conf.d']))
    const sys = FakeSystem.debian13()
    expect(await ownedPaths(sys, ['/usr/share/keyrings', '/etc/cron.d/x'])).toEqual(
      new Set(['/usr/share/keyrings']),
    )
    sys.failOn((argv) => (argv[0] === 'dpkg-query' ? { exitCode: 0, stdout: '', stderr: '' } : null))
    await ownedPaths(sys, ['/etc/cron.d/a[1]*'])
    expect(sys.execLog.at(-1)?.argv).toEqual(['dpkg-query', '-S', '/etc/cron.d/a\\[1]\\*'])
    expect(await ownedPaths(sys, [])).toEqual(new Set())
  })
})

describe('what changed in the watched places', () => {
  const file = (path: string, sha: string): RecordedPath => ({
    kind: 'file',
    path,
    mode: 0o644,
    uid: 0,
    gid: 0,
    sha256: sha,
  })
  it('files and links that appeared, changed or went; not directories, not a mode alone', () => {
    const a = (p: RecordedPath[]) => new Map(p.map((x) => [x.path, x]))
    const before = a([
      file('/r/same', '1'.repeat(64)),
      file('/r/edited', '2'.repeat(64)),
      file('/r/gone', '3'.repeat(64)),
      { kind: 'symlink', path: '/r/link', uid: 0, gid: 0, target: 'a' },
    ])
    const after = a([
      { kind: 'file', path: '/r/same', mode: 0o600, uid: 0, gid: 0, sha256: '1'.repeat(64) },
      file('/r/edited', '4'.repeat(64)),
      file('/r/new', '5'.repeat(64)),
      { kind: 'symlink', path: '/r/link', uid: 0, gid: 0, target: 'b' },
      { kind: 'dir', path: '/r/d', mode: 0o755, uid: 0, gid: 0 },
    ])
    expect(changedPaths(before, after).map((c) => c.path)).toEqual([
      '/r/edited',
      '/r/gone',
      '/r/link',
      '/r/new',
    ])
  })
})

describe('when a killed transaction was over (inDoubtEnds)', () => {
  const rec = (type: string, seq: number, ts: string) => ({ type, seq, ts }) as unknown as JournalRecord
  const action = (seq: number, kind: string, state: DerivedAction['state']) =>
    ({ seq, state, undo: { kind } }) as unknown as DerivedAction
  const t = (s: string) => `2026-01-01T00:00:${s}.000Z`

  it("the journal's next record, other than rollback's own; or a later run's start, whichever is first", () => {
    const records = [
      rec('begin', 1, t('01')),
      rec('begin', 2, t('02')),
      rec('undone', 2, t('50')),
      rec('begin', 3, t('40')),
    ]
    const actions = [
      action(1, 'purge-packages', 'in-doubt'),
      action(2, 'remove-maintainer-files', 'in-doubt'),
      action(3, 'remove-maintainer-files', 'in-doubt'),
    ]
    const ends = inDoubtEnds(records, actions, Date.parse(t('30')))
    expect([...ends]).toEqual([
      [2, Date.parse(t('30'))],
      [3, Date.parse(t('30'))],
    ])
    expect([...inDoubtEnds(records, actions, null)]).toEqual([
      [2, Date.parse(t('40'))],
      [3, null],
    ])
  })
})
