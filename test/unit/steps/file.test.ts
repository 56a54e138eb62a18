import { describe, expect, it } from 'vitest'
import { directory, file, sudoers } from '../../../src/steps/index.js'
import { converge, expectContract, journaled, makeHarness, undoAll } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'

const SSH_DROPIN = '/etc/ssh/sshd_config.d/00-vps-provision.conf'

describe('file', () => {
  it.each([
    {
      name: 'creates an absent file',
      setup: (_: FakeSystem) => {},
      args: { path: '/etc/motd', content: 'hello\n', mode: 0o644 },
      journal: ['FILE_CREATE /etc/motd -> remove-file'],
    },
    {
      name: 'replaces different content, with a backup',
      setup: (sys: FakeSystem) => sys.writeText('/etc/motd', 'old\n'),
      args: { path: '/etc/motd', content: 'hello\n', mode: 0o644 },
      journal: ['FILE_MODIFY /etc/motd -> restore-file'],
    },
    {
      name: 'fixes only the mode',
      setup: (sys: FakeSystem) => sys.writeText('/etc/motd', 'hello\n', { mode: 0o600 }),
      args: { path: '/etc/motd', content: 'hello\n', mode: 0o644 },
      journal: ['FILE_MODIFY /etc/motd -> restore-file'],
    },
    {
      name: 'fixes only the owner',
      setup: (sys: FakeSystem) =>
        sys.writeText('/etc/motd', 'hello\n', { mode: 0o644, uid: 1000, gid: 1000 }),
      args: { path: '/etc/motd', content: 'hello\n', mode: 0o644 },
      journal: ['FILE_MODIFY /etc/motd -> restore-file'],
    },
    {
      name: 'content computed from the current content',
      setup: (sys: FakeSystem) => sys.writeText('/etc/motd', 'a\n'),
      args: {
        path: '/etc/motd',
        content: (cur: string | null) => (cur?.includes('b') ? cur : `${cur ?? ''}b\n`),
        mode: 0o644,
      },
      journal: ['FILE_MODIFY /etc/motd -> restore-file'],
    },
    {
      name: 'validated content that passes',
      setup: (sys: FakeSystem) => sys.exec(['apt-get', 'install', '-y', 'sudo']),
      args: {
        path: '/etc/sudoers.d/dev',
        content: 'dev ALL=(ALL:ALL) NOPASSWD: ALL\n',
        mode: 0o440,
        validate: ['visudo', '-cf', '{}'],
      },
      journal: ['FILE_CREATE /etc/sudoers.d/dev -> remove-file'],
    },
  ])('$name', async ({ setup, args, journal }) => {
    const fresh = async () => {
      const sys = FakeSystem.debian13()
      await setup(sys)
      return sys
    }
    const { sys, h } = await expectContract(fresh, () => [file(args)])
    expect(journaled(h)).toEqual(journal)
    await converge(sys, [file(args)])
    expect(await sys.stat(args.path)).toMatchObject({ kind: 'file', mode: args.mode, uid: 0, gid: 0 })
  })

  it('reports the written hash for drift detection', async () => {
    const sys = FakeSystem.debian13()
    const h = await converge(sys, [file({ path: '/etc/motd', content: 'hi\n', mode: 0o644 })])
    expect(h.changes[0]?.result?.files).toEqual({
      '/etc/motd': '98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4',
    })
  })

  it('shows a unified diff in check, and none for sensitive content', async () => {
    const sys = FakeSystem.debian13()
    sys.writeText('/etc/motd', 'one\ntwo\n')
    const c = await file({ path: '/etc/motd', content: 'one\n2\n', mode: 0o644 }).check(sys)
    expect(c).toMatchObject({ done: false, why: '/etc/motd: content differs' })
    expect(c.diff).toBe('--- /etc/motd\n+++ /etc/motd\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n')
    const s = await file({ path: '/etc/motd', content: 'pw\n', mode: 0o600, sensitive: true }).check(sys)
    expect(s.diff).toBeUndefined()
    expect(s.why).toBe('/etc/motd: content differs; mode 0644, want 0600')
  })

  it('leaves the target untouched and removes the temp file when validation fails', async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['apt-get', 'install', '-y', 'sudo'])
    sys.writeText('/etc/sudoers.d/dev', 'dev ALL=(ALL) ALL\n', { mode: 0o440 })
    const before = sys.snapshot()
    const h = makeHarness(sys)
    const bad = file({
      path: '/etc/sudoers.d/dev',
      content: 'dev ALL=oops\n',
      mode: 0o440,
      validate: ['visudo', '-cf', '{}'],
    })
    await expect(converge(sys, [bad], h)).rejects.toThrow(
      /^Unable to validate \/etc\/sudoers\.d\/dev: `visudo -cf \/etc\/sudoers\.d\/\.dev\.vps-provision-tmp` exited 1/,
    )
    expect(h.changes).toEqual([])
    expect(sys.snapshot()).toEqual(before)
  })

  it.each([
    ['PasswordAuthentication no\n', true],
    ['PasswordAuthentication maybe\n', false],
  ])('validates an sshd drop-in with sshd -t (%j)', async (content, valid) => {
    const sys = FakeSystem.debian13()
    const step = file({ path: SSH_DROPIN, content, mode: 0o644, validate: ['sshd', '-t', '-f', '{}'] })
    const result = converge(sys, [step])
    if (valid) await result
    else
      await expect(result).rejects.toThrow(
        /^Unable to validate \/etc\/ssh\/sshd_config\.d\/00-vps-provision\.conf/,
      )
    expect(sys.readText(SSH_DROPIN)).toBe(valid ? content : null)
    expect(sys.fs.list('/etc/ssh/sshd_config.d').filter((n) => n.includes('tmp'))).toEqual([])
  })

  it('refuses to write into a missing directory', async () => {
    const sys = FakeSystem.debian13()
    await expect(
      converge(sys, [file({ path: '/etc/nope/x.conf', content: '', mode: 0o644 })]),
    ).rejects.toThrow('Unable to write /etc/nope/x.conf: directory /etc/nope does not exist')
  })

  it('refuses to replace a directory', async () => {
    const sys = FakeSystem.debian13()
    await expect(file({ path: '/etc', content: '', mode: 0o644 }).check(sys)).rejects.toThrow(/it is a dir/)
  })
})

describe('sudoers', () => {
  const withSudo = async () => {
    const sys = FakeSystem.debian13()
    await sys.exec(['apt-get', 'install', '-y', 'sudo'])
    return sys
  }

  it('installs a validated 0440 drop-in', async () => {
    const { sys, h } = await expectContract(withSudo, () => [
      sudoers({ name: 'vps-provision-dev', content: 'dev ALL=(ALL:ALL) NOPASSWD: ALL' }),
    ])
    expect(h.changes[0]?.undo).toEqual({ kind: 'remove-file', path: '/etc/sudoers.d/vps-provision-dev' })
    await converge(sys, [sudoers({ name: 'vps-provision-dev', content: 'dev ALL=(ALL:ALL) NOPASSWD: ALL' })])
    expect(sys.readText('/etc/sudoers.d/vps-provision-dev')).toBe('dev ALL=(ALL:ALL) NOPASSWD: ALL\n')
    expect((await sys.stat('/etc/sudoers.d/vps-provision-dev'))?.mode).toBe(0o440)
    expect(
      sys.execLog.some(
        (e) => e.argv.join(' ') === 'visudo -cf /etc/sudoers.d/.vps-provision-dev.vps-provision-tmp',
      ),
    ).toBe(true)
  })

  it('refuses names sudo would silently skip', () => {
    expect(() => sudoers({ name: 'dev.conf', content: '' })).toThrow(/use only letters/)
    expect(() => sudoers({ name: 'dev~', content: '' })).toThrow(/use only letters/)
  })
})

describe('directory', () => {
  it('creates missing parents, each with its own remove-dir undo', async () => {
    const { sys, h } = await expectContract(
      () => FakeSystem.debian13(),
      () => [directory({ path: '/opt/vps/antigravity', mode: 0o750, uid: 0, gid: 0 })],
    )
    expect(journaled(h)).toEqual([
      'FILE_CREATE /opt/vps -> remove-dir',
      'FILE_CREATE /opt/vps/antigravity -> remove-dir',
    ])
    await converge(sys, [directory({ path: '/opt/vps/antigravity', mode: 0o750 })])
    expect(await sys.stat('/opt/vps')).toMatchObject({ mode: 0o755 })
    expect(await sys.stat('/opt/vps/antigravity')).toMatchObject({ mode: 0o750 })
  })

  it('fixes the mode and owner of an existing directory with argv undos', async () => {
    const sys = FakeSystem.debian13()
    sys.fs.mkdirp('/srv/data', { mode: 0o777, uid: 5, gid: 5 })
    // The fake has no chmod/chown yet: emulate just these two here.
    sys.failOn((argv) => {
      if (argv[0] === 'chmod') {
        const node = sys.fs.get(argv[2] as string)
        if (node) node.mode = Number.parseInt(argv[1] as string, 8)
        return { exitCode: 0, stdout: '', stderr: '' }
      }
      if (argv[0] === 'chown') {
        const node = sys.fs.get(argv[2] as string)
        const [u, g] = (argv[1] as string).split(':').map(Number)
        if (node) Object.assign(node, { uid: u, gid: g })
        return { exitCode: 0, stdout: '', stderr: '' }
      }
      return null
    })
    const before = sys.snapshot()
    const h = await converge(sys, [directory({ path: '/srv/data', mode: 0o755 })])
    expect(h.changes.map((c) => c.undo)).toEqual([
      { kind: 'argv', argv: ['chmod', '0777', '/srv/data'], allowFailure: true },
      { kind: 'argv', argv: ['chown', '5:5', '/srv/data'], allowFailure: true },
    ])
    await undoAll(sys, h)
    expect(sys.snapshot()).toEqual(before)
  })

  it('refuses when a file is in the way', async () => {
    const sys = FakeSystem.debian13()
    sys.writeText('/srv/data', 'x')
    await expect(converge(sys, [directory({ path: '/srv/data', mode: 0o755 })])).rejects.toThrow(
      'Unable to create directory /srv/data: a file is in the way',
    )
  })
})
