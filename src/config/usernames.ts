// The names the developer account can never have, on any machine. The run would always refuse
// them: preflight refuses an existing system account, and `useradd --user-group` fails where a
// group of that name exists. So the configuration refuses them, before anything is written, and
// this is the only list of them (docs/configuration.md shows it).

/** Debian 13's base-passwd accounts, the same on every trixie (`_apt` fails the name's pattern). */
const DEBIAN_ACCOUNTS = [
  'root',
  'daemon',
  'bin',
  'sys',
  'sync',
  'games',
  'man',
  'lp',
  'mail',
  'news',
  'uucp',
  'proxy',
  'www-data',
  'backup',
  'list',
  'irc',
  'nobody',
]

/** base-passwd's groups that are not also accounts. */
const DEBIAN_GROUPS = [
  'adm',
  'tty',
  'disk',
  'kmem',
  'dialout',
  'fax',
  'voice',
  'cdrom',
  'floppy',
  'tape',
  'sudo',
  'audio',
  'dip',
  'operator',
  'src',
  'shadow',
  'utmp',
  'video',
  'sasl',
  'plugdev',
  'staff',
  'users',
  'nogroup',
]

/** Made by what a VPS runs or this run installs: systemd, dbus, openssh-server, ssl-cert, xrdp, polkitd. */
const PACKAGE_ACCOUNTS = [
  'systemd-journal',
  'systemd-network',
  'messagebus',
  'sshd',
  'ssl-cert',
  'xrdp',
  'polkitd',
]

/** The developers' group this run creates, and names that would read as the machine's administrator. */
const OURS = ['devusers', 'admin', 'administrator']

export const RESERVED_USERNAMES: readonly string[] = [
  ...DEBIAN_ACCOUNTS,
  ...DEBIAN_GROUPS,
  ...PACKAGE_ACCOUNTS,
  ...OURS,
]

export const isReservedUsername = (name: string): boolean => RESERVED_USERNAMES.includes(name)
