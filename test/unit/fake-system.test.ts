// The fake Debian 13 answers the argv the step kinds send like trixie does, and gives tests an
// exact snapshot to compare ("rollback put everything back") and a persisted form for crash tests.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CommandError, type ExecOptions } from '../../src/system/port.js'
import { FakeSystem, type PackageDef } from '../support/fake/index.js'
import { AVAILABLE, BASE } from '../support/fake/universe.js'

const APT = [
  'apt-get',
  '-o',
  'DPkg::Lock::Timeout=600',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
  '-y',
  '-q',
]
// biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format
const FORMAT = '-f=${Package}\t${db:Status-Abbrev}\t${Version}\n'
const KEY =
  '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbWljcm9zb2Z0IGtleQ==\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n'
const VSCODE_SOURCES =
  'Types: deb\nURIs: https://packages.microsoft.com/repos/code\nSuites: stable\nComponents: main\nSigned-By: /usr/share/keyrings/microsoft.gpg\n'

let sys: FakeSystem
const run = (argv: string[], opts: ExecOptions = {}) => sys.exec(argv, { allowFailure: true, ...opts })
const inst = (stdout: string) => [...stdout.matchAll(/^Inst (\S+) /gm)].map((m) => m[1] as string)

beforeEach(() => {
  sys = FakeSystem.debian13()
})

describe('the base image', () => {
  it('is a minimal trixie with Debian accounts, merged /usr and ssh running', async () => {
    expect((await sys.stat('/etc/os-release'))?.kind).toBe('symlink')
    const os = (await sys.readFile('/etc/os-release'))?.toString() ?? ''
    expect(os).toMatch(/^ID=debian$/m)
    expect(os).toMatch(/^VERSION_ID="13"$/m)
    expect(os).toMatch(/^VERSION_CODENAME=trixie$/m)
    const passwd = sys.readText('/etc/passwd') ?? ''
    for (const line of [
      'root:x:0:0:',
      'daemon:x:1:1:',
      'www-data:x:33:33:',
      '_apt:x:42:',
      'nobody:x:65534:65534:',
    ]) {
      expect(passwd).toContain(line)
    }
    expect(sys.snapshot().groups).toMatchObject({
      sudo: { gid: 27 },
      users: { gid: 100 },
      plugdev: { gid: 46 },
    })
    expect(await sys.stat('/etc/shadow')).toMatchObject({ mode: 0o640, gid: 42 })
    expect(await sys.stat('/root')).toMatchObject({ kind: 'dir', mode: 0o700 })
    expect(await sys.stat('/bin')).toMatchObject({ kind: 'symlink' })
    expect(await sys.stat('/bin/bash')).toMatchObject({ kind: 'file', mode: 0o755 })
    expect((await run(['test', '-x', '/bin/bash'])).exitCode).toBe(0)
    expect(sys.service('ssh.service')).toEqual({ enabled: true, active: true })
    expect(sys.packageVersion('openssh-server')).toBe('1:10.0p1-7')
    expect(sys.packageVersion('sudo')).toBeNull()
    for (const d of [
      '/etc/ssh/sshd_config.d',
      '/etc/sudoers.d',
      '/etc/apt/keyrings',
      '/usr/share/keyrings',
      '/etc/sysctl.d',
    ]) {
      expect((await sys.stat(d))?.kind).toBe('dir')
    }
  })

  it('is the same every time', () => {
    expect(FakeSystem.debian13().toJSON()).toEqual(sys.toJSON())
  })
})

describe('exec', () => {
  it('rejects argv it does not emulate, even with allowFailure', async () => {
    const err = await sys.exec(['apt-get', 'moo'], { allowFailure: true }).catch((e) => e)
    expect(err).toBeInstanceOf(CommandError)
    expect(err.result.exitCode).toBe(127)
    expect(err.message).toContain('fake: command not supported: apt-get moo')
  })

  it('reports programs of packages that are not installed as not found', async () => {
    expect(await run(['ufw', 'status'])).toMatchObject({ exitCode: 127, stderr: 'ufw: command not found\n' })
    await expect(sys.exec(['ufw', 'status'])).rejects.toBeInstanceOf(CommandError)
  })

  it('logs every argv with stdin and secrets redacted, and streams lines to onLine', async () => {
    const lines: string[] = []
    await sys.exec(['useradd', 'dev'])
    await sys.exec(['chpasswd'], { stdin: 'dev:s3cret-pw\n', secrets: ['s3cret-pw'] })
    await sys.exec([...APT, 'install', 'jq'], { onLine: (l) => lines.push(l) })
    expect(sys.execLog.slice(1, 2)).toEqual([{ argv: ['chpasswd'], stdin: '[redacted]', exitCode: 0 }])
    expect(JSON.stringify(sys.toJSON())).not.toContain('s3cret-pw')
    expect(lines).toContain('Setting up jq (1.7.1-6) ...')
  })

  it('lets tests inject failures', async () => {
    const remove = sys.failOn((argv) =>
      argv.includes('install')
        ? { exitCode: 100, stdout: '', stderr: "E: Temporary failure resolving 'deb.debian.org'" }
        : null,
    )
    const before = sys.snapshot()
    const err = await sys.exec([...APT, 'install', 'git']).catch((e) => e)
    expect(err.message).toContain('Temporary failure resolving')
    expect(sys.snapshot()).toEqual(before)
    remove()
    await sys.exec([...APT, 'install', 'git'])
    expect(sys.packageVersion('git')).toBe('1:2.47.2-0.2')
  })
})

describe('dpkg and apt', () => {
  it('dpkg-query reports installed, known and unknown packages', async () => {
    const r = await run(['dpkg-query', '-W', FORMAT, '--', 'bash', 'xrdp', 'no-such-pkg'])
    expect(r).toEqual({
      exitCode: 1,
      stdout: 'bash\tii \t5.2.37-2+b5\nxrdp\tun \t\n',
      stderr: 'dpkg-query: no packages found matching no-such-pkg\n',
    })
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format
    const escaped = await run(['dpkg-query', '-W', '--showformat=${Version}\\n', 'dpkg'])
    expect(escaped.stdout).toBe('1.22.21\n')
  })

  it('simulates an install in dependency order without changing anything', async () => {
    const before = sys.snapshot()
    const r = await sys.exec([...APT, 'install', '-s', '--no-install-recommends', 'xrdp', 'build-essential'])
    expect(inst(r.stdout)).toEqual([
      'openssl',
      'ssl-cert',
      'xrdp',
      'libc6-dev',
      'binutils',
      'gcc',
      'g++',
      'make',
      'dpkg-dev',
      'build-essential',
    ])
    expect(r.stdout).toContain('Inst xrdp (0.10.1-3 Debian:13 [amd64])')
    expect(sys.snapshot()).toEqual(before)
  })

  it('installs with Recommends unless told not to, and starts the units', async () => {
    const lean = await sys.exec([...APT, 'install', '-s', '--no-install-recommends', 'xfce4'])
    const fat = await sys.exec([...APT, 'install', '-s', 'xfce4'])
    expect(inst(lean.stdout)).not.toContain('lightdm')
    expect(inst(fat.stdout)).toEqual(expect.arrayContaining(['lightdm', 'light-locker']))
    await sys.exec([...APT, 'install', '--no-install-recommends', 'xrdp'])
    expect(sys.readText('/etc/xrdp/xrdp.ini')).toMatch(/^\[Globals\][\s\S]*^port=3389$/m)
    expect(sys.readText('/etc/xrdp/sesman.ini')).toMatch(/^AllowRootLogin=true$/m)
    expect(await sys.stat('/etc/xrdp/startwm.sh')).toMatchObject({ mode: 0o755 })
    expect(sys.service('xrdp.service')).toEqual({ enabled: true, active: true })
    expect(sys.service('xrdp-sesman.service')).toEqual({ enabled: true, active: true })
    expect(sys.snapshot().users.xrdp).toBeDefined()
    expect(sys.snapshot().groups['ssl-cert']).toBeDefined()
  })

  it('fails on unknown packages without installing any', async () => {
    const r = await run([...APT, 'install', 'git', 'no-such-pkg'])
    expect(r.exitCode).toBe(100)
    expect(r.stderr).toContain('E: Unable to locate package no-such-pkg')
    expect(sys.packageVersion('git')).toBeNull()
  })

  it('returns the machine to its exact state when every newly installed package is purged', async () => {
    const before = sys.snapshot()
    // docker.io's purge keeps the docker group it made, as the real one does.
    const debian = Object.entries(AVAILABLE).filter(
      ([, d]) => !d.source && !d.purgeRemoves && !d.purgeKeepsGroups,
    )
    for (const [name] of debian) {
      const added = inst((await sys.exec([...APT, 'install', '-s', name])).stdout)
      await sys.exec([...APT, 'install', name])
      await sys.exec([...APT, 'purge', ...added])
      expect(sys.snapshot(), name).toEqual(before)
    }
  })

  it("purges what a postrm removes though the package never shipped it (locales' /etc/default/locale)", async () => {
    expect(sys.fs.lget('/etc/default/locale')?.target).toBe('../locale.conf')
    await sys.exec([...APT, 'install', 'locales'])
    await sys.exec([...APT, 'purge', 'locales'])
    expect(sys.fs.lget('/etc/default/locale')).toBeUndefined()
  })

  it('simulates and performs purges, taking reverse dependencies along', async () => {
    await sys.exec([...APT, 'install', '--no-install-recommends', 'xrdp'])
    const sim = await sys.exec([...APT, 'purge', '-s', 'ssl-cert'])
    expect([...sim.stdout.matchAll(/^Purg (\S+)/gm)].map((m) => m[1]).sort()).toEqual(['ssl-cert', 'xrdp'])
    await sys.exec([...APT, 'purge', 'ssl-cert'])
    expect(sys.packageVersion('xrdp')).toBeNull()
    expect(sys.service('xrdp.service')).toBeNull()
    expect((await run([...APT, 'purge', 'bash'])).exitCode).toBe(100)
    expect((await run([...APT, 'purge', 'git'])).stdout).toContain(
      "Package 'git' is not installed, so not removed",
    )
  })

  it('autoremove purges dependencies nobody needs any more', async () => {
    await sys.exec([...APT, 'install', 'git'])
    await sys.exec([...APT, 'purge', 'git'])
    expect(sys.packageVersion('git-man')).not.toBeNull()
    await sys.exec([...APT, 'autoremove', '--purge'])
    expect(sys.packageVersion('git-man')).toBeNull()
  })

  it('upgrades to newer versions, or only lists them with -s', async () => {
    expect(inst((await sys.exec([...APT, '-s', 'upgrade'])).stdout)).toEqual([])
    sys.addPackage('bash', { ...(BASE.bash as PackageDef), version: '5.2.37-2+deb13u1' })
    const sim = await sys.exec([...APT, '-s', 'upgrade'])
    expect(sim.stdout).toContain('Inst bash [5.2.37-2+b5] (5.2.37-2+deb13u1 Debian:13 [amd64])')
    expect(sys.packageVersion('bash')).toBe('5.2.37-2+b5')
    await sys.exec([...APT, 'upgrade'])
    expect(sys.packageVersion('bash')).toBe('5.2.37-2+deb13u1')
  })

  it('hides third-party packages until their source exists and apt-get update ran', async () => {
    const unknown = await run([...APT, 'install', 'code'])
    expect(unknown.stderr).toContain('E: Unable to locate package code')
    await sys.writeFile('/etc/apt/sources.list.d/vscode.sources', VSCODE_SOURCES, { mode: 0o644 })
    expect((await run([...APT, 'install', 'code'])).exitCode).toBe(100)
    // Without the keyring apt refuses the repository; an armored key under .gpg is no better.
    expect((await run([...APT, 'update'])).stderr).toContain('is not signed')
    await sys.writeFile('/tmp/microsoft.asc', KEY, { mode: 0o644 })
    await sys.writeFile('/usr/share/keyrings/microsoft.gpg', KEY, { mode: 0o644 })
    expect((await run([...APT, 'update'])).exitCode).toBe(100)
    await sys.exec([...APT, 'install', 'gpg'])
    await sys.exec([
      'gpg',
      '--batch',
      '--yes',
      '--dearmor',
      '-o',
      '/usr/share/keyrings/microsoft.gpg',
      '/tmp/microsoft.asc',
    ])
    await sys.exec([...APT, 'update'])
    expect((await sys.exec(['apt-cache', 'policy', 'code'])).stdout).toBe(
      'code:\n  Installed: (none)\n  Candidate: 1.104.2-1758623190\n',
    )
    await sys.exec([...APT, 'install', 'code'])
    await sys.exec(['useradd', '--create-home', 'dev'])
    expect((await sys.exec(['runuser', '-u', 'dev', '--', 'code', '--version'])).stdout).toBe('1.104.2\n')
  })

  it('refuses conflicting Signed-By values for one repository', async () => {
    await sys.writeFile('/usr/share/keyrings/microsoft.gpg', '\u0099key', { mode: 0o644 })
    await sys.writeFile('/etc/apt/keyrings/other.gpg', '\u0099key', { mode: 0o644 })
    await sys.writeFile('/etc/apt/sources.list.d/vscode.sources', VSCODE_SOURCES, { mode: 0o644 })
    const line =
      'deb [arch=amd64 signed-by=/etc/apt/keyrings/other.gpg] https://packages.microsoft.com/repos/code stable main\n'
    await sys.writeFile('/etc/apt/sources.list.d/vscode.list', line, { mode: 0o644 })
    const r = await run([...APT, 'update'])
    expect(r).toMatchObject({ exitCode: 100 })
    expect(r.stderr).toContain('Conflicting values set for option Signed-By')
  })

  it('installs a local .deb and purges it again', async () => {
    const before = sys.snapshot()
    const deb = {
      name: 'cursor',
      version: '1.7.0',
      depends: ['libfuse2t64'],
      files: {
        '/usr/share/applications/cursor.desktop':
          '[Desktop Entry]\nName=Cursor\nExec=/usr/bin/cursor\nType=Application\n',
      },
      bin: ['/usr/bin/cursor'],
    }
    await sys.mkdir('/var/cache/vps-provision', { mode: 0o755 })
    await sys.writeFile('/var/cache/vps-provision/cursor.deb', JSON.stringify(deb), { mode: 0o644 })
    await sys.exec([...APT, 'install', '/var/cache/vps-provision/cursor.deb'])
    expect((await sys.exec(['dpkg-query', '-W', FORMAT, '--', 'cursor'])).stdout).toBe('cursor\tii \t1.7.0\n')
    expect((await sys.exec(['cursor', '--version'])).stdout).toBe('1.7.0\n')
    await sys.exec([...APT, 'purge', 'cursor', 'libfuse2t64'])
    await sys.removeFile('/var/cache/vps-provision/cursor.deb')
    await sys.rmdir('/var/cache/vps-provision')
    expect(sys.snapshot()).toEqual(before)
  })

  it('keeps debconf answers and forgets them when the package is purged', async () => {
    const answer = 'locales locales/default_environment_locale select en_US.UTF-8\n'
    await sys.exec(['debconf-set-selections'], { stdin: answer })
    const show = async () => (await sys.exec(['debconf-show', 'locales'])).stdout
    expect(await show()).toBe('* locales/default_environment_locale: en_US.UTF-8\n')
    await sys.exec([...APT, 'install', 'locales'])
    expect(await show()).not.toBe('')
    await sys.exec([...APT, 'purge', 'locales'])
    expect(await show()).toBe('')
  })
})

describe('users and groups', () => {
  it('useradd creates the user, its group, a 0700 home from /etc/skel', async () => {
    await sys.exec([
      'useradd',
      '--create-home',
      '--shell',
      '/bin/bash',
      '--user-group',
      '--comment',
      'Dev',
      '--groups',
      'sudo,audio',
      '--',
      'dev',
    ])
    expect(sys.readText('/etc/passwd')).toContain('dev:x:1000:1000:Dev:/home/dev:/bin/bash\n')
    expect(sys.readText('/etc/group')).toMatch(/^dev:x:1000:$/m)
    expect(sys.readText('/etc/shadow')).toMatch(/^dev:!:\d+:0:99999:7:::$/m)
    expect(await sys.stat('/home/dev')).toMatchObject({ kind: 'dir', mode: 0o700, uid: 1000, gid: 1000 })
    expect(await sys.readDir('/home/dev')).toEqual(['.bash_logout', '.bashrc', '.profile'])
    expect(await sys.stat('/home/dev/.bashrc')).toMatchObject({ uid: 1000, gid: 1000 })
    expect((await sys.exec(['id', '-nG', 'dev'])).stdout).toBe('dev sudo audio\n')
    expect((await sys.exec(['getent', 'passwd', 'dev'])).stdout).toBe(
      'dev:x:1000:1000:Dev:/home/dev:/bin/bash\n',
    )
    expect(await run(['useradd', 'dev'])).toMatchObject({ exitCode: 9 })
    expect(await run(['useradd', '--groups', 'nope', 'other'])).toMatchObject({ exitCode: 6 })
    expect(await run(['getent', 'passwd', 'other'])).toMatchObject({ exitCode: 2, stdout: '' })
    expect(await run(['id', '-nG', 'other'])).toMatchObject({ exitCode: 1 })
  })

  it('usermod, gpasswd, groupadd and groupdel edit /etc/group', async () => {
    await sys.exec(['useradd', '--uid', '1500', 'dev'])
    await sys.exec(['groupadd', '--system', 'devusers'])
    await sys.exec(['usermod', '--append', '--groups', 'devusers,video', '--', 'dev'])
    expect((await sys.exec(['id', '-nG', 'dev'])).stdout).toBe('dev video devusers\n')
    expect(sys.snapshot().groups.devusers?.gid).toBe(997)
    await sys.exec(['gpasswd', '--delete', 'dev', 'video'])
    expect(await run(['gpasswd', '--delete', 'dev', 'video'])).toMatchObject({ exitCode: 3 })
    expect(await run(['groupdel', 'dev'])).toMatchObject({ exitCode: 8 })
    expect(await run(['groupadd', 'devusers'])).toMatchObject({ exitCode: 9 })
    await sys.exec(['groupdel', 'devusers'])
    expect((await sys.exec(['id', '-nG', 'dev'])).stdout).toBe('dev\n')
  })

  it('userdel --remove deletes the user, its group and its home', async () => {
    const before = sys.snapshot()
    await sys.exec(['useradd', '--create-home', '--user-group', 'dev'])
    await sys.exec(['usermod', '-aG', 'sudo', 'dev'])
    await sys.exec(['userdel', '--remove', 'dev'])
    expect(sys.snapshot()).toEqual(before)
    expect(await run(['userdel', 'dev'])).toMatchObject({ exitCode: 6 })
  })

  it('chpasswd stores only a hash, chage expires the password', async () => {
    await sys.exec(['useradd', 'dev'])
    await sys.exec(['chpasswd'], { stdin: 'dev:correct horse\n', secrets: ['correct horse'] })
    const row = (sys.readText('/etc/shadow') ?? '').split('\n').find((l) => l.startsWith('dev:')) ?? ''
    expect(row.split(':')[1]).toMatch(/^\$y\$fake\$[0-9a-f]{64}$/)
    expect(JSON.stringify(sys.toJSON())).not.toContain('correct horse')
    await sys.exec(['chage', '--lastday', '0', '--', 'dev'])
    expect(row.split(':')[2]).not.toBe('0')
    expect(
      (sys.readText('/etc/shadow') ?? '')
        .split('\n')
        .find((l) => l.startsWith('dev:'))
        ?.split(':')[2],
    ).toBe('0')
    expect((await run(['chpasswd'], { stdin: 'ghost:x\n' })).exitCode).toBe(1)
  })
})

describe('sudo, sshd and systemd', () => {
  const sudoTrue = () => run(['runuser', '-u', 'dev', '--', 'sudo', '-n', 'true'])

  it('grants sudo -n only through a valid NOPASSWD rule', async () => {
    await sys.exec(['useradd', '--groups', 'sudo', 'dev'])
    expect(await sudoTrue()).toMatchObject({ exitCode: 127 })
    await sys.exec([...APT, 'install', 'sudo'])
    expect(await sudoTrue()).toMatchObject({ exitCode: 1, stderr: 'sudo: a password is required\n' })
    await sys.writeFile('/etc/sudoers.d/vps-provision.conf', '%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n', {
      mode: 0o440,
    })
    expect((await sudoTrue()).exitCode).toBe(1) // a name with a dot is skipped by @includedir
    await sys.writeFile('/etc/sudoers.d/vps-provision', '%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n', {
      mode: 0o646,
    })
    expect((await sudoTrue()).stderr).toContain('is world writable')
    await sys.writeFile('/etc/sudoers.d/vps-provision', '%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n', {
      mode: 0o440,
    })
    expect(await sudoTrue()).toMatchObject({ exitCode: 0 })
    expect(await run(['runuser', '-u', 'ghost', '--', 'true'])).toMatchObject({ exitCode: 1 })
  })

  it('visudo -cf checks the sudoers grammar', async () => {
    await sys.exec([...APT, 'install', 'sudo'])
    await sys.writeFile('/tmp/good', '# comment\nDefaults:dev !lecture\ndev ALL=(ALL) NOPASSWD: ALL\n', {
      mode: 0o440,
    })
    await sys.writeFile('/tmp/bad', 'dev ALL=(ALL) NOPASSWD ALL\n', { mode: 0o440 })
    expect(await run(['visudo', '-cf', '/tmp/good'])).toMatchObject({
      exitCode: 0,
      stdout: '/tmp/good: parsed OK\n',
    })
    expect((await run(['visudo', '-cf', '/tmp/bad'])).stderr).toContain('syntax error')
    expect((await run(['visudo', '-c'])).exitCode).toBe(0)
  })

  it('sshd -T keeps the first value: drop-ins before sshd_config, 00- before 50-', async () => {
    sys = FakeSystem.debian13({ cloudInit: true })
    const eff = async () => (await sys.exec(['sshd', '-T'])).stdout
    expect(await eff()).toMatch(/^passwordauthentication no$/m)
    expect(await eff()).toMatch(/^permitrootlogin without-password$/m)
    const dropin = '/etc/ssh/sshd_config.d/00-vps-provision.conf'
    await sys.writeFile(dropin, 'PasswordAuthentication yes\nPermitRootLogin no\nPort 2222\n', {
      mode: 0o644,
    })
    expect(await run(['sshd', '-t', '-f', dropin])).toMatchObject({ exitCode: 0 })
    const after = await eff()
    for (const line of ['passwordauthentication yes', 'permitrootlogin no', 'port 2222'])
      expect(after).toContain(`\n${line}\n`)
    await sys.writeFile(dropin, 'PermitRootLogin maybe\n', { mode: 0o644 })
    expect(await run(['sshd', '-t'])).toMatchObject({ exitCode: 255 })
    await sys.writeFile('/tmp/x.conf', 'PasswordAuthentication\n', { mode: 0o644 })
    expect((await run(['sshd', '-t', '-f', '/tmp/x.conf'])).stderr).toContain('line 1')
  })

  it('systemctl reports and changes unit state', async () => {
    const state = async (verb: string, unit: string) => (await run(['systemctl', verb, unit])).stdout.trim()
    expect(await state('is-enabled', 'ssh')).toBe('enabled')
    expect(await state('is-active', 'sshd.service')).toBe('active')
    expect(await run(['systemctl', 'is-enabled', 'nope'])).toMatchObject({
      exitCode: 1,
      stdout: 'not-found\n',
    })
    expect((await run(['systemctl', 'start', 'nope'])).exitCode).toBe(5)
    await sys.exec(['systemctl', 'disable', '--now', 'ssh'])
    expect(sys.service('ssh.service')).toEqual({ enabled: false, active: false })
    expect(await run(['systemctl', 'is-active', 'ssh'])).toMatchObject({ exitCode: 3, stdout: 'inactive\n' })
    expect((await run(['systemctl', 'reload', 'ssh'])).exitCode).toBe(1)
    await sys.exec(['systemctl', 'enable', 'ssh'])
    await sys.exec(['systemctl', 'restart', 'ssh'])
    await sys.exec(['systemctl', 'reload', 'ssh'])
    await sys.exec(['systemctl', 'daemon-reload'])
    expect(sys.service('ssh.service')).toEqual({ enabled: true, active: true })
  })

  it('without systemd (a chroot) units can be enabled but not started', async () => {
    sys = FakeSystem.debian13({ systemd: false })
    await sys.exec([...APT, 'install', '--no-install-recommends', 'xrdp'])
    expect(sys.service('xrdp.service')).toEqual({ enabled: true, active: false })
    const r = await run(['systemctl', 'start', 'xrdp'])
    expect(r).toMatchObject({ exitCode: 1 })
    expect(r.stderr).toContain('System has not been booted with systemd')
    await sys.exec(['systemctl', 'disable', 'xrdp'])
    expect(sys.service('xrdp.service')).toEqual({ enabled: false, active: false })
    expect((await sys.exec(['stat', '-L', '-c', '%d:%i', '/', '/proc/1/root'])).stdout).toMatch(
      /^2049:\d+\n2049:2\n$/,
    )
  })
})

describe('firewall, network and small commands', () => {
  it('ufw keeps rules and state in its files', async () => {
    const before = sys.snapshot()
    await sys.exec([...APT, 'install', 'ufw'])
    expect((await sys.exec(['ufw', 'status'])).stdout).toBe('Status: inactive\n')
    await sys.exec(['ufw', 'allow', '22/tcp'])
    await sys.exec(['ufw', 'allow', '3389/tcp'])
    expect((await sys.exec(['ufw', 'allow', '22/tcp'])).stdout).toContain('Skipping adding existing rule')
    expect((await sys.exec(['ufw', 'show', 'added'])).stdout).toBe(
      "Added user rules (see 'ufw status' for running firewall):\nufw allow 22/tcp\nufw allow 3389/tcp\n",
    )
    expect(await run(['ufw', 'enable'])).toMatchObject({ exitCode: 1 })
    await sys.exec(['ufw', '--force', 'enable'])
    const verbose = (await sys.exec(['ufw', 'status', 'verbose'])).stdout
    expect(verbose).toMatch(/^Status: active\n/)
    expect(verbose).toContain('Default: deny (incoming), allow (outgoing), disabled (routed)')
    expect(verbose).toMatch(/^3389\/tcp +ALLOW IN +Anywhere$/m)
    expect(verbose).toMatch(/^22\/tcp \(v6\) +ALLOW IN +Anywhere \(v6\)$/m)
    await sys.exec(['ufw', 'delete', 'allow', '3389/tcp'])
    await sys.exec(['ufw', 'disable'])
    await sys.exec(['ufw', '--force', 'reset'])
    expect((await sys.exec(['ufw', 'show', 'added'])).stdout).toContain('(None)')
    await sys.exec([...APT, 'purge', 'ufw', 'iptables'])
    expect(sys.snapshot()).toEqual(before)
  })

  it('ss shows sshd and xrdp on their configured ports', async () => {
    await sys.exec([...APT, 'install', '--no-install-recommends', 'xrdp'])
    const ini = (sys.readText('/etc/xrdp/xrdp.ini') ?? '').replace(
      /^port=3389$/m,
      'port=tcp://127.0.0.1:3390',
    )
    await sys.writeFile('/etc/xrdp/xrdp.ini', ini, { mode: 0o644 })
    const local = (await sys.exec(['ss', '-Hltnp'])).stdout.split('\n').map((l) => l.split(/\s+/)[3])
    expect(local).toEqual(['0.0.0.0:22', '[::]:22', '127.0.0.1:3390', undefined])
    await sys.exec(['systemctl', 'stop', 'xrdp'])
    expect((await sys.exec(['ss', '-Hltnp'])).stdout).not.toContain('xrdp')
  })

  it('answers gpg, systemd-detect-virt, desktop-file-validate, ldd, xrdp-chkpriv, cloud-init, test', async () => {
    await sys.exec([...APT, 'install', '--no-install-recommends', 'gpg', 'desktop-file-utils', 'xrdp'])
    await sys.writeFile('/tmp/k.asc', KEY, { mode: 0o644 })
    await sys.exec(['gpg', '--batch', '--yes', '--dearmor', '-o', '/tmp/k.gpg', '/tmp/k.asc'])
    expect((await sys.readFile('/tmp/k.gpg'))?.toString('latin1')).toBe('\u0099microsoft key')
    await sys.writeFile('/tmp/page.html', '<html>', { mode: 0o644 })
    expect(
      await run(['gpg', '--batch', '--yes', '--dearmor', '-o', '/tmp/x.gpg', '/tmp/page.html']),
    ).toMatchObject({ exitCode: 2 })
    expect(await run(['systemd-detect-virt'])).toEqual({ exitCode: 1, stdout: 'none\n', stderr: '' })
    await sys.writeFile('/tmp/ok.desktop', '[Desktop Entry]\nName=X\nExec=x\nType=Application\n', {
      mode: 0o644,
    })
    await sys.writeFile('/tmp/bad.desktop', '[Desktop Entry]\nName=X\n', { mode: 0o644 })
    expect(await run(['desktop-file-validate', '/tmp/ok.desktop'])).toMatchObject({ exitCode: 0, stdout: '' })
    expect((await run(['desktop-file-validate', '/tmp/bad.desktop'])).stdout).toContain('required key "Exec"')
    expect((await sys.exec(['ldd', '/usr/sbin/xrdp'])).stdout).not.toContain('not found')
    expect((await run(['xrdp-chkpriv'])).exitCode).toBe(0)
    expect((await run(['cloud-init', 'status', '--wait'])).exitCode).toBe(127)
    expect(
      (await FakeSystem.debian13({ cloudInit: true }).exec(['cloud-init', 'status', '--wait'])).stdout,
    ).toBe('status: done\n')
    expect((await run(['test', '-e', '/etc/passwd'])).exitCode).toBe(0)
    expect((await run(['test', '-d', '/etc/passwd'])).exitCode).toBe(1)
    expect((await run(['true'])).exitCode).toBe(0)
    expect((await run(['false'])).exitCode).toBe(1)
    expect((await sys.exec(['dpkg', '--print-architecture'])).stdout).toBe('amd64\n')
  })

  it('sysctl writes /proc/sys, except for non-net keys inside a container', async () => {
    await sys.writeFile('/etc/sysctl.d/60-inotify.conf', 'fs.inotify.max_user_watches = 524288\n', {
      mode: 0o644,
    })
    expect((await sys.exec(['sysctl', '--system'])).stdout).toContain('fs.inotify.max_user_watches = 524288')
    expect(sys.readText('/proc/sys/fs/inotify/max_user_watches')).toBe('524288\n')
    expect((await sys.exec(['sysctl', '-n', 'fs.inotify.max_user_watches'])).stdout).toBe('524288\n')
    const box = FakeSystem.debian13({ virt: 'systemd-nspawn', systemd: true })
    expect((await box.exec(['systemd-detect-virt', '--container'])).stdout).toBe('systemd-nspawn\n')
    const r = await box.exec(['sysctl', '-w', 'fs.inotify.max_user_watches=524288'], { allowFailure: true })
    expect(r.exitCode).not.toBe(0)
    expect(r.stderr).toContain('permission denied on key')
    expect((await box.exec(['sysctl', '-w', 'net.ipv4.ip_forward=1'])).exitCode).toBe(0)
  })

  it('update-alternatives follows the packages that provide a name', async () => {
    const before = sys.snapshot()
    await sys.exec([...APT, 'install', 'xfce4-terminal'])
    const query = async () =>
      (await sys.exec(['update-alternatives', '--query', 'x-terminal-emulator'])).stdout
    expect(await query()).toContain('Value: /usr/bin/xfce4-terminal.wrapper\n')
    await sys.exec(['update-alternatives', '--set', 'x-terminal-emulator', '/usr/bin/xfce4-terminal.wrapper'])
    expect(await query()).toContain('Status: manual\n')
    expect(
      await run(['update-alternatives', '--set', 'x-terminal-emulator', '/usr/bin/xterm']),
    ).toMatchObject({ exitCode: 2 })
    await sys.exec(['update-alternatives', '--auto', 'x-terminal-emulator'])
    expect((await sys.readFile('/usr/bin/x-terminal-emulator'))?.toString()).toContain('xfce4-terminal')
    await sys.exec([...APT, 'purge', 'xfce4-terminal'])
    expect(sys.snapshot()).toEqual(before)
  })

  it('runs the coreutils the steps use: stat, df, chmod, chown, rm, openssl', async () => {
    await sys.exec([...APT, 'install', 'openssl'])
    await sys.exec([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'rsa:3072',
      '-sha256',
      '-days',
      '3650',
      '-nodes',
      '-subj',
      '/CN=vps',
      '-keyout',
      '/etc/k.pem',
      '-out',
      '/etc/c.pem',
    ])
    expect(await sys.stat('/etc/k.pem')).toMatchObject({ mode: 0o600, uid: 0 })
    expect((await run(['chown', 'root:ssl-cert', '/etc/k.pem'])).stderr).toContain('invalid group')
    await sys.exec(['chown', 'root:adm', '/etc/k.pem'])
    await sys.exec(['chmod', '0640', '/etc/k.pem'])
    expect(await sys.stat('/etc/k.pem')).toMatchObject({ mode: 0o640, gid: 4 })
    expect((await sys.exec(['stat', '-c', '%a %U:%G', '/etc/k.pem'])).stdout).toBe('640 root:adm\n')
    await sys.exec(['rm', '-f', '--', '/etc/k.pem', '/etc/c.pem', '/etc/none'])
    expect(await sys.stat('/etc/k.pem')).toBeNull()
    expect(await run(['rm', '/etc'])).toMatchObject({ exitCode: 1 })
    const df = (await sys.exec(['df', '-B1', '--output=target,size,avail', '/var/cache'])).stdout
    expect(df).toBe('Mounted on 1B-blocks Avail\n/ 40000000000 30000000000\n')
    expect((await sys.exec(['id', '-u'])).stdout).toBe('0\n')
  })
})

describe('files, downloads and state', () => {
  it('behaves like the real filesystem for the port methods', async () => {
    await sys.mkdir('/srv/a/b', { mode: 0o750, uid: 33, gid: 33 })
    expect(await sys.stat('/srv/a')).toMatchObject({ kind: 'dir', mode: 0o750, uid: 33 })
    expect(await sys.stat('/srv')).toMatchObject({ mode: 0o755, uid: 0 })
    await sys.writeFile('/srv/a/b/f', 'x', { mode: 0o4755 })
    await expect(sys.writeFile('/srv/none/f', 'x', { mode: 0o644 })).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(sys.rmdir('/srv/a/b')).rejects.toMatchObject({ code: 'ENOTEMPTY' })
    await expect(sys.removeFile('/srv/a')).rejects.toThrow(/directory/)
    await expect(sys.writeFile('/bin', 'x', { mode: 0o644 })).rejects.toThrow(/symlink/)
    await sys.removeFile('/srv/a/b/f')
    await sys.removeFile('/srv/a/b/f')
    await sys.rmdir('/srv/a/b')
    await sys.rmdir('/srv/a/b')
    expect(await sys.readDir('/srv')).toEqual(['a'])
    expect(await sys.readDir('/nope')).toEqual([])
    expect(await sys.readFile('/nope')).toBeNull()
  })

  it('downloads from its web map and answers probes', async () => {
    sys.web.set('https://example.com/a.deb', Buffer.from('abc'))
    expect(await sys.download('https://example.com/a.deb', '/tmp/a.deb', { mode: 0o600 })).toEqual({
      bytes: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    })
    expect(await sys.stat('/tmp/a.deb')).toMatchObject({ mode: 0o600, size: 3 })
    await expect(sys.download('https://example.com/b', '/tmp/b', { mode: 0o644 })).rejects.toThrow(
      'Unable to download https://example.com/b: HTTP 404',
    )
    expect(await sys.probe('http://deb.debian.org/debian/dists/trixie/InRelease')).toEqual({
      status: 200,
      date: null,
      error: null,
    })
    sys.probes.set('*', { status: null, date: null, error: 'ENOTFOUND' })
    expect((await sys.probe('http://deb.debian.org/')).error).toBe('ENOTFOUND')
  })

  it('leaves apt caches and /proc out of the snapshot unless asked', async () => {
    const before = sys.snapshot()
    await sys.exec([...APT, 'update'])
    await sys.exec(['sysctl', '-w', 'vm.swappiness=10'])
    expect(sys.snapshot()).toEqual(before)
    const caches = sys.snapshot({ includeCaches: true }).caches
    expect(caches?.aptUpdatedSources).toEqual(['debian.sources'])
    expect(Object.keys(caches?.aptLists ?? {}).length).toBeGreaterThan(0)
    expect(caches?.sysctl['vm.swappiness']).toBe('10')
  })

  describe('persistence', () => {
    let dir = ''
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fake-system-'))
    })
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('round-trips through JSON', async () => {
      await sys.exec([...APT, 'install', 'xrdp'])
      sys.web.set('https://x/y', Buffer.from([0, 1, 2]))
      const copy = FakeSystem.fromJSON(JSON.parse(JSON.stringify(sys.toJSON())))
      expect(copy.snapshot({ includeCaches: true })).toEqual(sys.snapshot({ includeCaches: true }))
      expect(copy.toJSON()).toEqual(sys.toJSON())
    })

    it('writes the whole state after every change, atomically', async () => {
      const file = join(dir, 'machine.json')
      sys.persistTo(file)
      await sys.exec(['useradd', '--create-home', 'dev'])
      expect(FakeSystem.load(file).snapshot()).toEqual(sys.snapshot())
      await sys.writeFile('/etc/motd', 'hi\n', { mode: 0o644 })
      const loaded = FakeSystem.load(file)
      expect(loaded.readText('/etc/motd')).toBe('hi\n')
      expect(await readdir(dir)).toEqual(['machine.json'])
      // A loaded machine keeps persisting to its file: a crashed child's successor continues.
      await loaded.exec(['groupadd', 'devusers'])
      expect(JSON.parse(await readFile(file, 'utf8')).files.length).toBeGreaterThan(0)
      expect(FakeSystem.load(file).snapshot().groups.devusers).toBeDefined()
    })
  })
})
