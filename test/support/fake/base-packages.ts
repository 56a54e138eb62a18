// The packages of the fake Debian 13's base image, versions as in trixie, with what each ships where
// the provisioner looks (binaries, config files, units, directories).
import type { PackageDef } from './types.js'
import { SSHD_CONFIG } from './xrdp-files.js'

const OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.1
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`

/** Installed in the base image, in this order. */
export const BASE: Record<string, PackageDef> = {
  'base-files': {
    version: '13.8+deb13u1',
    essential: true,
    files: { '/usr/lib/os-release': OS_RELEASE, '/etc/debian_version': '13.1\n' },
    dirs: [
      '/home',
      '/root',
      '/tmp',
      '/srv',
      '/opt',
      '/usr/local/bin',
      '/var/log',
      '/var/mail',
      '/var/cache',
      '/var/lib',
      '/etc/sudoers.d',
    ],
  },
  'base-passwd': { version: '3.6.7', essential: true, bin: ['/usr/sbin/update-passwd'] },
  bash: {
    version: '5.2.37-2+b5',
    essential: true,
    bin: ['/usr/bin/bash'],
    files: {
      '/etc/bash.bashrc':
        '# System-wide .bashrc file for interactive bash(1) shells.\n[ -z "$PS1" ] && return\n',
      '/etc/skel/.bashrc':
        '# ~/.bashrc: executed by bash(1) for non-login shells.\ncase $- in *i*) ;; *) return;; esac\n',
      '/etc/skel/.profile': '# ~/.profile: executed by the command interpreter for login shells.\n',
      '/etc/skel/.bash_logout': '# ~/.bash_logout: executed by bash(1) when login shell exits.\n',
    },
  },
  coreutils: {
    version: '9.7-3',
    essential: true,
    bin: [
      'true',
      'false',
      'test',
      'cat',
      'echo',
      'env',
      'id',
      'sleep',
      'ls',
      'cp',
      'mv',
      'rm',
      'stat',
      'df',
      'chmod',
      'chown',
      'ln',
    ].map((b) => `/usr/bin/${b}`),
  },
  libc6: { version: '2.41-12', files: { '/usr/lib/x86_64-linux-gnu/libc.so.6': 'ELF' } },
  'libc-bin': {
    version: '2.41-12',
    depends: ['libc6'],
    bin: ['/usr/bin/getent', '/usr/bin/ldd', '/usr/bin/locale'],
  },
  findutils: { version: '4.10.0-3', essential: true, bin: ['/usr/bin/find'] },
  tar: { version: '1.35+dfsg-3.1', essential: true, bin: ['/usr/bin/tar'] },
  dpkg: {
    version: '1.22.21',
    essential: true,
    bin: ['/usr/bin/dpkg', '/usr/bin/dpkg-query', '/usr/bin/update-alternatives'],
    dirs: ['/etc/alternatives', '/var/lib/dpkg/alternatives'],
  },
  'debian-archive-keyring': {
    version: '2025.1',
    files: { '/usr/share/keyrings/debian-archive-keyring.pgp': { data: '\u0099debian-archive-keyring\n' } },
  },
  apt: {
    version: '3.0.3',
    depends: ['dpkg', 'debian-archive-keyring'],
    bin: ['/usr/bin/apt-get', '/usr/bin/apt-cache', '/usr/bin/apt'],
    dirs: ['/etc/apt/keyrings', '/etc/apt/sources.list.d', '/etc/apt/apt.conf.d', '/var/lib/apt/lists'],
    files: { '/var/cache/apt/archives/lock': '' },
  },
  // Essential: the perl interpreter itself (configured-password.ts asks libcrypt through it).
  'perl-base': { version: '5.40.1-6', bin: ['/usr/bin/perl'] },
  debconf: { version: '1.5.91', bin: ['/usr/bin/debconf-set-selections', '/usr/bin/debconf-show'] },
  passwd: {
    version: '1:4.17.4-2',
    bin: [
      ...['useradd', 'userdel', 'usermod', 'groupadd', 'groupdel', 'chpasswd'].map((b) => `/usr/sbin/${b}`),
      ...['chage', 'gpasswd', 'passwd'].map((b) => `/usr/bin/${b}`),
    ],
    files: { '/etc/default/useradd': 'SHELL=/bin/sh\n' },
  },
  login: { version: '1:4.16.0-2+b1', files: { '/etc/login.defs': 'USERGROUPS_ENAB yes\nHOME_MODE 0700\n' } },
  'util-linux': {
    version: '2.41-5',
    bin: ['/usr/sbin/runuser', '/usr/bin/su', '/usr/sbin/mkswap', '/usr/bin/fallocate'],
  },
  // swapon and swapoff are mount's in Debian.
  mount: { version: '2.41-5', bin: ['/usr/bin/mount', '/usr/sbin/swapon', '/usr/sbin/swapoff'] },
  procps: {
    version: '2:4.0.4-9',
    bin: ['/usr/sbin/sysctl', '/usr/bin/ps', '/usr/bin/pgrep', '/usr/bin/pkill'],
    dirs: ['/etc/sysctl.d'],
  },
  iproute2: { version: '6.15.0-1', bin: ['/usr/bin/ss', '/usr/sbin/ip'] },
  systemd: {
    version: '257.8-1~deb13u2',
    bin: [
      '/usr/bin/systemctl',
      '/usr/bin/systemd-run',
      '/usr/bin/systemd-detect-virt',
      '/usr/bin/loginctl',
      '/usr/bin/journalctl',
    ],
    dirs: ['/etc/systemd/system'],
  },
  'systemd-sysv': { version: '257.8-1~deb13u2', depends: ['systemd'], bin: ['/usr/sbin/init'] },
  dbus: { version: '1.16.2-2', units: ['dbus.service'], bin: ['/usr/bin/dbus-daemon'] },
  'openssh-client': { version: '1:10.0p1-7', bin: ['/usr/bin/ssh', '/usr/bin/ssh-keygen'] },
  'openssh-server': {
    version: '1:10.0p1-7',
    depends: ['openssh-client'],
    bin: ['/usr/sbin/sshd'],
    files: { '/etc/ssh/sshd_config': SSHD_CONFIG },
    dirs: ['/etc/ssh/sshd_config.d'],
    units: ['ssh.service'],
  },
  nodejs: { version: '20.19.2+dfsg-1', bin: ['/usr/bin/node'] },
}
