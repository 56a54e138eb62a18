import { describe, expect, it } from 'vitest'
import { editIni, iniValues, markedBlock, upsertBlock } from '../../../src/steps/index.js'
import { converge, expectContract, journaled } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'
import { XRDP_INI } from '../../support/fake/xrdp-files.js'

const B = '# >>> vps-provision:x >>>'
const E = '# <<< vps-provision:x <<<'

describe('upsertBlock', () => {
  it.each([
    ['a new file', null, `${B}\nnew\n${E}\n`],
    ['an empty file', '', `${B}\nnew\n${E}\n`],
    ['appended after a final newline', 'a\nb\n', `a\nb\n${B}\nnew\n${E}\n`],
    ['appended after a missing final newline', 'a', `a\n${B}\nnew\n${E}\n`],
    [
      'replaced in the middle, rest byte-identical',
      `a\r\n${B}\nold\nold2\n${E}\n  z\n`,
      `a\r\n${B}\nnew\n${E}\n  z\n`,
    ],
    ['replaced at the start', `${B}\nold\n${E}\nz`, `${B}\nnew\n${E}\nz`],
    ['replaced at the end', `a\n${B}\nold\n${E}\n`, `a\n${B}\nnew\n${E}\n`],
    ['unchanged when equal', `a\n${B}\nnew\n${E}\n`, `a\n${B}\nnew\n${E}\n`],
  ])('%s', (_, current, expected) => {
    expect(upsertBlock(current, 'x', 'new\n')).toBe(expected)
    expect(upsertBlock(expected, 'x', 'new')).toBe(expected)
  })

  it('leaves other markers alone', () => {
    const other = '# >>> vps-provision:y >>>\ny\n# <<< vps-provision:y <<<\n'
    expect(upsertBlock(other, 'x', 'x')).toBe(`${other}${B}\nx\n${E}\n`)
  })

  it('refuses a marker that could break the marker lines', () => {
    expect(() => upsertBlock('', 'a b', '')).toThrow(/Unable to use block marker/)
  })
})

describe('markedBlock', () => {
  it('edits /etc/bash.bashrc and restores it on rollback', async () => {
    const step = () => [markedBlock({ path: '/etc/bash.bashrc', marker: 'prompt', content: 'PS1="dev$ "' })]
    const { sys, h } = await expectContract(() => FakeSystem.debian13(), step)
    expect(journaled(h)).toEqual(['FILE_MODIFY /etc/bash.bashrc -> restore-file'])
    await converge(sys, step())
    expect(sys.readText('/etc/bash.bashrc')).toBe(
      '# System-wide .bashrc file for interactive bash(1) shells.\n[ -z "$PS1" ] && return\n' +
        '# >>> vps-provision:prompt >>>\nPS1="dev$ "\n# <<< vps-provision:prompt <<<\n',
    )
  })

  it("keeps the mode and owner of a user's file", async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['useradd', '--create-home', '--user-group', 'dev'])
    const before = await sys.stat('/home/dev/.bashrc')
    await converge(sys, [
      markedBlock({ path: '/home/dev/.bashrc', marker: 'path', content: 'export PATH=$HOME/bin:$PATH' }),
    ])
    expect(await sys.stat('/home/dev/.bashrc')).toMatchObject({ mode: before?.mode, uid: 1000, gid: 1000 })
  })

  it('creates a missing file with the given owner', async () => {
    const { sys } = await expectContract(
      () => FakeSystem.debian13(),
      () => [
        markedBlock({
          path: '/root/.gitconfig',
          marker: 'git',
          content: '[init]\n\tdefaultBranch = main',
          mode: 0o600,
        }),
      ],
    )
    expect(await sys.stat('/root/.gitconfig')).toMatchObject({ kind: 'file', mode: 0o600, uid: 0, gid: 0 })
  })
})

describe('editIni', () => {
  const ini = '[Globals]\n; port=1\nport = 3389\nfork = true\n\n; next section\n[Logging]\nLogLevel = INFO\n'
  it.each([
    [
      'replaces in place, keeping spacing',
      { Globals: { port: 'tcp://.:3389' } },
      ini.replace('port = 3389', 'port = tcp://.:3389'),
    ],
    [
      'matches key names case-insensitively',
      { Globals: { PORT: 4000 } },
      ini.replace('port = 3389', 'port = 4000'),
    ],
    [
      'appends after the last key of the section',
      { Globals: { security_layer: 'tls' } },
      ini.replace('fork = true\n', 'fork = true\nsecurity_layer = tls\n'),
    ],
    [
      'adds a missing section at the end',
      { Channels: { rdpdr: false } },
      `${ini}\n[Channels]\nrdpdr = false\n`,
    ],
    ['touches nothing when values hold', { Logging: { LogLevel: 'INFO' } }, ini],
  ])('%s', (_, values, expected) => {
    expect(editIni(ini, values)).toBe(expected)
    expect(editIni(expected, values)).toBe(expected)
  })

  it('sets every duplicate of a key', () => {
    expect(editIni('[A]\nk=1\nk=2\n', { A: { k: 3 } })).toBe('[A]\nk=3\nk=3\n')
  })

  it('keeps a missing final newline and CRLF line ends', () => {
    expect(editIni('[A]\r\nk=1\r\nj=2', { A: { k: 5 } })).toBe('[A]\r\nk=5\r\nj=2')
  })

  it('creates a file from nothing', () => {
    expect(editIni(null, { A: { k: 1 } })).toBe('[A]\nk=1\n')
  })
})

describe('iniValues', () => {
  const fresh = () => {
    const sys = FakeSystem.debian13()
    sys.writeText('/etc/xrdp/xrdp.ini', XRDP_INI)
    return sys
  }

  it('changes only the named keys of xrdp.ini', async () => {
    const step = () => [
      iniValues({
        id: 'xrdp-ini',
        path: '/etc/xrdp/xrdp.ini',
        values: { Globals: { port: 'tcp://.:3389', security_layer: 'tls' } },
      }),
    ]
    const { sys, h } = await expectContract(fresh, step)
    expect(journaled(h)).toEqual(['FILE_MODIFY /etc/xrdp/xrdp.ini -> restore-file'])
    await converge(sys, step())
    const after = sys.readText('/etc/xrdp/xrdp.ini') ?? ''
    const changed = after.split('\n').filter((l, i) => l !== XRDP_INI.split('\n')[i])
    expect(changed).toEqual(['port=tcp://.:3389', 'security_layer=tls'])
    expect(after.split('\n')).toHaveLength(XRDP_INI.split('\n').length)
  })

  it('shows the edit as a diff in check', async () => {
    const c = await iniValues({ path: '/etc/xrdp/xrdp.ini', values: { Globals: { port: 3390 } } }).check(
      fresh(),
    )
    expect(c.diff).toContain('-port=3389\n+port=3390\n')
  })
})
