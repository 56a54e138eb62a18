// A minimal Debian 13 (trixie) as a cloud VPS boots it: merged /usr, base-passwd accounts, the
// base packages unpacked, deb822 sources, ssh running. Built the same way every time.
import { Accounts, FIXED_DAY } from './accounts.js'
import { unpack } from './dpkg.js'
import { FakeFs } from './fs.js'
import { SWAPS_HEADER } from './swap.js'
import { writeSysctlDefaults } from './sysctl.js'
import { type Ctx, type FakeOptions, type FakeState, isContainer } from './types.js'
import { AVAILABLE, BASE } from './universe.js'

export interface Debian13Options {
  /** false: a chroot or a container without systemd as PID 1. Default true. */
  systemd?: boolean
  /** systemd-detect-virt's answer. Default "none"; "systemd-nspawn" makes sysctl writes fail. */
  virt?: string
  /** cloud-init installed, with the 50-cloud-init.conf sshd drop-in cloud images ship. */
  cloudInit?: boolean
  /** What `dpkg --print-architecture` says. Default amd64. */
  arch?: string
  /** What df reports for /. Default 40 GB with 30 GB free. */
  disk?: { size: number; avail: number }
  /** MemTotal in kB. Default 4025528 (a 4 GiB VPS). */
  memKiB?: number
  /** swapon refused (EPERM) though no container is detected. */
  swapRefused?: boolean
}

const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin
proxy:x:13:13:proxy:/bin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin
irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
messagebus:x:100:101::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
`

const GROUPS = `root 0,daemon 1,bin 2,sys 3,adm 4,tty 5,disk 6,lp 7,mail 8,news 9,uucp 10,man 12,proxy 13,kmem 15,
dialout 20,fax 21,voice 22,cdrom 24,floppy 25,tape 26,sudo 27,audio 29,dip 30,www-data 33,backup 34,operator 37,
list 38,irc 39,src 40,shadow 42,utmp 43,video 44,sasl 45,plugdev 46,staff 50,games 60,users 100,messagebus 101,
systemd-journal 999,systemd-network 998,input 995,render 994,nogroup 65534`

const SOURCES = `Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp

Types: deb
URIs: http://security.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp
`

const SUDOERS = `# This file MUST be edited with the 'visudo' command as root.
# See the man page for details on how to write a sudoers file.

Defaults	env_reset
Defaults	mail_badpass
Defaults	secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults	use_pty

# User privilege specification
root	ALL=(ALL:ALL) ALL

# Allow members of group sudo to execute any command
%sudo	ALL=(ALL:ALL) ALL

@includedir /etc/sudoers.d
`

/** As Debian's cloud images have it: the root filesystem and the EFI partition, no swap. */
const FSTAB = `# /etc/fstab: static file system information.
PARTUUID=6f1a9e53-01 / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
PARTUUID=6f1a9e53-0f /boot/efi vfat defaults 0 0
`

const DIRS: [string, number, number?][] = [
  ['/', 0o755],
  ['/etc', 0o755],
  ['/usr', 0o755],
  ['/usr/bin', 0o755],
  ['/usr/sbin', 0o755],
  ['/usr/lib', 0o755],
  ['/usr/lib64', 0o755],
  ['/usr/share', 0o755],
  ['/var', 0o755],
  ['/home', 0o755],
  ['/root', 0o700],
  ['/tmp', 0o1777],
  ['/var/mail', 0o2775, 8],
]

export const ROOT_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyOfTheVpsOwnerForTests0000000000000 owner@laptop'

/** Runtime files the provisioner reads: PID 1's name, memory, kernel parameters. */
function writeProc(fs: FakeFs, options: FakeOptions, memKiB: number): void {
  fs.mkdirp('/proc/1', { mode: 0o555 })
  // In a container without systemd PID 1 is a shell; in a chroot it is the host's systemd.
  const pid1 = options.systemd || !isContainer(options) ? 'systemd' : 'bash'
  fs.write('/proc/1/comm', `${pid1}\n`, { mode: 0o644 })
  fs.write(
    '/proc/meminfo',
    `MemTotal:        ${memKiB} kB\nMemFree:         ${Math.round(memKiB * 0.8)} kB\nMemAvailable:    ${Math.round(memKiB * 0.88)} kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n`,
    {
      mode: 0o444,
    },
  )
  writeSysctlDefaults(fs)
  // No swap: cloud images have none, and a container sees none of its own.
  fs.write('/proc/swaps', SWAPS_HEADER, { mode: 0o444 })
}

/** When the fake's image was made (2025-08-09, trixie's release), in ms since the epoch. */
export const IMAGE_BUILT = Date.UTC(2025, 7, 9)

export function buildDebian13(opts: Debian13Options = {}): FakeState {
  const state: FakeState = {
    options: {
      systemd: opts.systemd ?? true,
      virt: opts.virt ?? 'none',
      arch: opts.arch ?? 'amd64',
      disk: opts.disk ?? { size: 40e9, avail: 30e9 },
      ...(opts.swapRefused ? { swapRefused: true } : {}),
    },
    files: new Map(),
    universe: new Map([...Object.entries(BASE), ...Object.entries(AVAILABLE)]),
    installed: new Map(),
    services: new Map(),
    web: new Map(),
    debconf: new Map(),
    aptUpdatedSources: null,
    aptUpdates: 0,
    probes: new Map(),
    log: [],
  }
  const fs = new FakeFs(state.files)
  for (const [path, mode, gid] of DIRS)
    fs.nodes.set(path, { kind: 'dir', data: Buffer.alloc(0), mode, uid: 0, gid: gid ?? 0 })
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) fs.symlink(`/${d}`, `usr/${d}`)
  const accounts = new Accounts(fs)
  fs.write('/etc/passwd', PASSWD, { mode: 0o644 })
  const groups = GROUPS.split(',').map((g) => g.trim().split(' ') as [string, string])
  fs.write('/etc/group', groups.map(([name, gid]) => `${name}:x:${gid}:\n`).join(''), { mode: 0o644 })
  // Cloud images lock root's password; logins use keys.
  accounts.saveShadow(
    accounts.passwd().map((u) => [u.name, '*', String(FIXED_DAY), '0', '99999', '7', '', '', '']),
  )
  const ctx: Ctx = {
    state,
    fs,
    accounts,
    stdin: undefined,
    user: 'root',
    env: {},
    run: () => ({ exitCode: 0, stdout: '', stderr: '' }),
  }
  const base = Object.entries(BASE)
  if (opts.cloudInit) base.push(['cloud-init', AVAILABLE['cloud-init'] as (typeof base)[number][1]])
  for (const [name, def] of base) unpack(ctx, name, def, false)
  fs.symlink('/etc/os-release', '../usr/lib/os-release')
  // systemd-tmpfiles makes it on a booted trixie (even with no /etc/locale.conf), and locales'
  // postrm removes it on purge: rollback must put it back.
  if (state.options.systemd) {
    fs.mkdirp('/etc/default', { mode: 0o755 })
    fs.symlink('/etc/default/locale', '../locale.conf')
  }
  fs.write('/etc/hostname', 'vps\n', { mode: 0o644 })
  fs.write('/etc/fstab', FSTAB, { mode: 0o644 })
  fs.write(
    '/etc/hosts',
    '127.0.0.1\tlocalhost\n127.0.1.1\tvps\n::1\tlocalhost ip6-localhost ip6-loopback\n',
    { mode: 0o644 },
  )
  fs.write('/etc/apt/sources.list.d/debian.sources', SOURCES, { mode: 0o644 })
  fs.write('/etc/sudoers', SUDOERS, { mode: 0o440 })
  fs.write('/etc/sudoers.d/README', '#\n# Files in this directory are read by sudo via @includedir.\n#\n', {
    mode: 0o440,
  })
  if (opts.cloudInit)
    fs.write('/etc/ssh/sshd_config.d/50-cloud-init.conf', 'PasswordAuthentication no\n', { mode: 0o600 })
  // The provider put the customer's key in root's authorized_keys.
  fs.mkdirp('/root/.ssh', { mode: 0o700 })
  fs.write('/root/.ssh/authorized_keys', `${ROOT_KEY}\n`, { mode: 0o600 })
  writeProc(fs, state.options, opts.memKiB ?? 4025528)
  // The image was built long before any test: every file of it has one old, fixed time.
  for (const node of state.files.values()) node.mtimeMs = IMAGE_BUILT
  return state
}
