// The packages the fake Debian 13 knows besides its base: versions as in trixie, a few realistic
// dependencies, and what each ships where the provisioner looks (binaries, config files, units,
// system users, alternatives). Third-party ones carry the source file that makes apt see them.
import type { PackageDef } from './types.js'
import { FAIL2BAN_DEFAULTS_DEBIAN, NFTABLES_CONF, SESMAN_INI, STARTWM_SH, XRDP_INI } from './xrdp-files.js'

export { BASE } from './base-packages.js'

const desktopEntry = (name: string, exec: string) =>
  `[Desktop Entry]\nName=${name}\nExec=${exec} %F\nIcon=${name.toLowerCase()}\nType=Application\nCategories=Development;IDE;\n`

/** What the code package's postinst writes when debconf lets it. */
export const VSCODE_VENDOR_SOURCES = [
  '### THIS FILE IS AUTOMATICALLY CONFIGURED ###',
  '# You may comment out this entry, but any other modifications may be lost.',
  'Types: deb',
  'URIs: https://packages.microsoft.com/repos/code',
  'Suites: stable',
  'Components: main',
  'Architectures: amd64,arm64,armhf',
  'Signed-By: /usr/share/keyrings/microsoft.gpg',
  '',
].join('\n')

const AUTO_UPGRADES = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'
/** The origins of trixie's 50unattended-upgrades, without its comments. */
const UNATTENDED_UPGRADES_50 = `Unattended-Upgrade::Origins-Pattern {
        "origin=Debian,codename=\${distro_codename},label=Debian";
        "origin=Debian,codename=\${distro_codename},label=Debian-Security";
        "origin=Debian,codename=\${distro_codename}-security,label=Debian-Security";
};
`

const plain = (version: string, extra: Partial<PackageDef> = {}): PackageDef => ({ version, ...extra })
const X = '4.20'

/** Known to apt, not installed. */
export const AVAILABLE: Record<string, PackageDef> = {
  'ca-certificates': plain('20250419', { depends: ['openssl'], dirs: ['/etc/ssl/certs'] }),
  libcurl4t64: plain('8.14.1-2'),
  curl: plain('8.14.1-2', {
    depends: ['libcurl4t64'],
    recommends: ['ca-certificates'],
    bin: ['/usr/bin/curl'],
  }),
  wget: plain('1.25.0-2', { bin: ['/usr/bin/wget'] }),
  gpg: plain('2.4.7-21', { bin: ['/usr/bin/gpg'] }),
  'gpg-agent': plain('2.4.7-21', { bin: ['/usr/bin/gpg-agent'] }),
  dirmngr: plain('2.4.7-21', { bin: ['/usr/bin/dirmngr'] }),
  gnupg: plain('2.4.7-21', { depends: ['gpg', 'gpg-agent', 'dirmngr'] }),
  'git-man': plain('1:2.47.2-0.2'),
  git: plain('1:2.47.2-0.2', { depends: ['git-man'], bin: ['/usr/bin/git'] }),
  binutils: plain('2.44-3'),
  make: plain('4.4.1-2', { bin: ['/usr/bin/make'] }),
  gcc: plain('4:14.2.0-1', { depends: ['binutils'], bin: ['/usr/bin/gcc'] }),
  'g++': plain('4:14.2.0-1', { depends: ['gcc'], bin: ['/usr/bin/g++'] }),
  'libc6-dev': plain('2.41-12', { depends: ['libc6'] }),
  'dpkg-dev': plain('1.22.21', { depends: ['binutils', 'make'] }),
  'build-essential': plain('12.12', { depends: ['libc6-dev', 'gcc', 'g++', 'make', 'dpkg-dev'] }),
  sudo: plain('1.9.16p2-3', { bin: ['/usr/bin/sudo', '/usr/sbin/visudo'] }),
  'bash-completion': plain('1:2.16.0-7'),
  iptables: plain('1.8.11-2', { bin: ['/usr/sbin/iptables'] }),
  ufw: plain('0.36.2-9', {
    depends: ['iptables'],
    bin: ['/usr/sbin/ufw'],
    files: {
      '/etc/ufw/ufw.conf': 'ENABLED=no\nLOGLEVEL=low\n',
      '/etc/ufw/user.rules': { data: '', mode: 0o640 },
      '/etc/default/ufw': 'DEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n',
    },
    units: ['ufw.service'],
  }),
  xfconf: plain('4.20.0-1'),
  xfwm4: plain('4.20.0-1', {
    bin: ['/usr/bin/xfwm4'],
    alternatives: { 'x-window-manager': ['/usr/bin/xfwm4', 60] },
  }),
  'xfce4-session': plain('4.20.2-1', {
    depends: ['xfconf', 'xfwm4'],
    bin: ['/usr/bin/startxfce4', '/usr/bin/xfce4-session'],
    alternatives: { 'x-session-manager': ['/usr/bin/xfce4-session', 40] },
  }),
  'xfdesktop4-data': plain('4.20.1-1', {
    files: { '/usr/share/backgrounds/xfce/xfce-shapes.svg': '<svg/>\n' },
  }),
  xfdesktop4: plain('4.20.1-1', { depends: ['xfdesktop4-data'], bin: ['/usr/bin/xfdesktop'] }),
  'librsvg2-common': plain('2.60.0+dfsg-1'),
  'xfce4-panel': plain('4.20.4-1', { bin: ['/usr/bin/xfce4-panel'] }),
  thunar: plain('4.20.2-1', { bin: ['/usr/bin/thunar'] }),
  'xfce4-settings': plain('4.20.1-1', { depends: ['xfconf'] }),
  xfce4: plain(X, {
    depends: ['xfce4-session', 'xfwm4', 'xfdesktop4', 'xfce4-panel', 'thunar', 'xfce4-settings', 'xfconf'],
    recommends: ['lightdm', 'light-locker'],
  }),
  'xfce4-terminal': plain('1.1.4-1', {
    bin: ['/usr/bin/xfce4-terminal', '/usr/bin/xfce4-terminal.wrapper'],
    alternatives: { 'x-terminal-emulator': ['/usr/bin/xfce4-terminal.wrapper', 40] },
  }),
  'dbus-x11': plain('1.16.2-2', { depends: ['dbus'], bin: ['/usr/bin/dbus-launch'] }),
  'dbus-user-session': plain('1.16.2-2', { depends: ['dbus'] }),
  'libpam-systemd': plain('257.8-1~deb13u2', { depends: ['systemd'] }),
  lightdm: plain('1.32.0-6', { units: ['lightdm.service'], sysusers: ['lightdm'] }),
  'light-locker': plain('1.9.0-4'),
  'fonts-dejavu': plain('2.37-8'),
  'fonts-dejavu-core': plain('2.37-8'),
  'fonts-liberation2': plain('1:2.1.5-3'),
  'xfce4-notifyd': plain('0.9.7-2', { bin: ['/usr/lib/x86_64-linux-gnu/xfce4/notifyd/xfce4-notifyd'] }),
  'fonts-noto-core': plain('20201225-2'),
  'adwaita-icon-theme': plain('48.1-1'),
  'elementary-xfce-icon-theme': plain('0.20-1'),
  'firefox-esr': plain('140.3.0esr-1~deb13u1', { bin: ['/usr/bin/firefox-esr'] }),
  'xserver-xorg-core': plain('2:21.1.16-1.3', { bin: ['/usr/lib/xorg/Xorg'] }),
  xauth: plain('1:1.1.2-1.1'),
  xorgxrdp: plain('1:0.10.2-1', { depends: ['xserver-xorg-core'], files: { '/etc/X11/xrdp/xorg.conf': '' } }),
  'ssl-cert': plain('1.1.3', {
    depends: ['openssl'],
    sysgroups: ['ssl-cert'],
    files: {
      '/etc/ssl/certs/ssl-cert-snakeoil.pem':
        '-----BEGIN CERTIFICATE-----\nsnakeoil\n-----END CERTIFICATE-----\n',
      '/etc/ssl/private/ssl-cert-snakeoil.key': { data: 'snakeoil key\n', mode: 0o640, group: 'ssl-cert' },
    },
  }),
  xrdp: plain('0.10.1-3', {
    depends: ['ssl-cert'],
    recommends: ['xorgxrdp'],
    sysusers: ['xrdp'],
    bin: ['/usr/sbin/xrdp', '/usr/sbin/xrdp-sesman', '/usr/sbin/xrdp-chkpriv'],
    files: {
      '/etc/xrdp/xrdp.ini': XRDP_INI,
      '/etc/xrdp/sesman.ini': SESMAN_INI,
      '/etc/xrdp/startwm.sh': { data: STARTWM_SH, mode: 0o755 },
    },
    units: ['xrdp.service', 'xrdp-sesman.service'],
  }),
  'python3-systemd': plain('235-1+b6'),
  nftables: plain('1.1.3-1', { bin: ['/usr/sbin/nft'], files: { '/etc/nftables.conf': NFTABLES_CONF } }),
  // As trixie ships it: Debian's defaults enable the sshd jail and ban through nftables.
  fail2ban: plain('1.1.0-8', {
    depends: ['python3-systemd'],
    recommends: ['nftables'],
    bin: ['/usr/bin/fail2ban-client', '/usr/bin/fail2ban-server', '/usr/bin/fail2ban-regex'],
    files: {
      '/etc/fail2ban/jail.conf': '[DEFAULT]\nbantime  = 10m\nmaxretry = 5\n\n[sshd]\nport    = ssh\n',
      '/etc/fail2ban/jail.d/defaults-debian.conf': FAIL2BAN_DEFAULTS_DEBIAN,
      '/etc/fail2ban/filter.d/sshd.conf': '[Definition]\n',
    },
    dirs: ['/etc/fail2ban/filter.d', '/etc/fail2ban/jail.d', '/etc/fail2ban/action.d'],
    units: ['fail2ban.service'],
  }),
  // As trixie ships it: the textfile collector reads /var/lib/prometheus/node-exporter (its postrm
  // removes that directory, whatever is in it, on purge: our *.prom files with it).
  'prometheus-node-exporter': plain('1.9.1-1', {
    bin: ['/usr/bin/prometheus-node-exporter'],
    files: { '/etc/default/prometheus-node-exporter': 'ARGS=""\n' },
    dirs: ['/var/lib/prometheus/node-exporter'],
    units: ['prometheus-node-exporter.service'],
    sysusers: ['prometheus'],
    purgeRemoves: [
      '/var/lib/prometheus/node-exporter/vps_provision.prom',
      '/var/lib/prometheus/node-exporter/vps_provision_verify.prom',
    ],
  }),
  pipewire: plain('1.4.2-1', {
    bin: ['/usr/bin/pipewire'],
    files: { '/usr/lib/systemd/user/pipewire.socket': '[Socket]\n' },
  }),
  'pipewire-pulse': plain('1.4.2-1', {
    depends: ['pipewire'],
    bin: ['/usr/bin/pipewire-pulse'],
    files: { '/usr/lib/systemd/user/pipewire-pulse.socket': '[Socket]\n' },
  }),
  wireplumber: plain('0.5.8-1', { depends: ['pipewire'], bin: ['/usr/bin/wireplumber'] }),
  'pipewire-module-xrdp': plain('0.2-2', {
    depends: ['pipewire'],
    files: {
      '/etc/xdg/autostart/pipewire-xrdp.desktop':
        '[Desktop Entry]\nType=Application\nName=PipeWire xrdp\nExec=/usr/libexec/pipewire-module-xrdp/load_pw_modules.sh\n',
      '/usr/libexec/pipewire-module-xrdp/load_pw_modules.sh': { data: '#!/bin/sh\n', mode: 0o755 },
    },
  }),
  'pulseaudio-utils': plain('17.0+dfsg1-2+b1', { bin: ['/usr/bin/pactl'] }),
  polkitd: plain('126-2', {
    sysusers: ['polkitd'],
    dirs: ['/etc/polkit-1/rules.d'],
    units: ['polkit.service'],
  }),
  libfuse2t64: plain('2.9.9-9', { files: { '/usr/lib/x86_64-linux-gnu/libfuse.so.2': 'ELF' } }),
  'desktop-file-utils': plain('0.28-1', {
    bin: ['/usr/bin/desktop-file-validate', '/usr/bin/update-desktop-database'],
  }),
  'xdg-utils': plain('1.2.1-2', { bin: ['/usr/bin/xdg-open'] }),
  vim: plain('2:9.1.1230-2', { bin: ['/usr/bin/vim.basic'] }),
  htop: plain('3.4.1-5', { bin: ['/usr/bin/htop'] }),
  nano: plain('8.4-1', { bin: ['/usr/bin/nano'] }),
  unzip: plain('6.0-29', { bin: ['/usr/bin/unzip'] }),
  zip: plain('3.0-15', { bin: ['/usr/bin/zip'] }),
  jq: plain('1.7.1-6', { bin: ['/usr/bin/jq'] }),
  'man-db': plain('2.13.1-1', { bin: ['/usr/bin/man'] }),
  less: plain('668-1', { bin: ['/usr/bin/less'] }),
  locales: plain('2.41-12', {
    files: { '/etc/locale.gen': '# en_US.UTF-8 UTF-8\n' },
    // Its postrm: `rm -f /etc/default/locale` on purge, whoever made it.
    purgeRemoves: ['/etc/default/locale'],
  }),
  python3: plain('3.13.5-1', { bin: ['/usr/bin/python3'] }),
  'python3-apt': plain('3.0.0', { depends: ['python3'] }),
  ucf: plain('3.0052', { bin: ['/usr/bin/ucf', '/usr/bin/ucfr'] }),
  // Its postinst writes both from /usr/share/unattended-upgrades through ucf (20auto-upgrades
  // because debconf's enable_auto_updates defaults to true); its postrm removes both on purge.
  'unattended-upgrades': plain('2.12', {
    depends: ['python3', 'python3-apt', 'ucf'],
    bin: ['/usr/bin/unattended-upgrade'],
    files: {
      '/usr/share/unattended-upgrades/20auto-upgrades': AUTO_UPGRADES,
      '/usr/share/unattended-upgrades/50unattended-upgrades': UNATTENDED_UPGRADES_50,
    },
    units: ['unattended-upgrades.service'],
    postinst: {
      writes: {
        '/etc/apt/apt.conf.d/20auto-upgrades': AUTO_UPGRADES,
        '/etc/apt/apt.conf.d/50unattended-upgrades': UNATTENDED_UPGRADES_50,
      },
    },
    purgeRemoves: ['/etc/apt/apt.conf.d/20auto-upgrades', '/etc/apt/apt.conf.d/50unattended-upgrades'],
  }),
  tmux: plain('3.5a-3', { bin: ['/usr/bin/tmux'] }),
  openssl: plain('3.5.1-1', { bin: ['/usr/bin/openssl'] }),
  'cloud-init': plain('25.1.4-1', { bin: ['/usr/bin/cloud-init'], units: ['cloud-init.service'] }),
  // Debian 13's Docker engine (docs/workspaces.md#docker), as the trixie packages are: docker.io's
  // postinst makes the docker group unless it exists (its purge keeps it) and enables both units;
  // dockerd keeps its data, volumes included, under /var/lib/docker, which no package owns and
  // which docker.io's purge empties while the nuke script it ships is executable.
  containerd: plain('1.7.24~ds1-6+deb13u1', {
    depends: ['runc'],
    bin: ['/usr/bin/containerd', '/usr/bin/ctr'],
    units: ['containerd.service'],
  }),
  runc: plain('1.1.15+ds1-2+b4', { bin: ['/usr/sbin/runc'] }),
  tini: plain('0.19.0-3+b8', { bin: ['/usr/bin/tini-static'] }),
  'docker.io': plain('26.1.5+dfsg1-9+deb13u1+b1', {
    depends: ['containerd', 'iptables', 'runc', 'tini'],
    recommends: ['docker-cli'],
    bin: ['/usr/sbin/dockerd', '/usr/sbin/docker-proxy'],
    files: {
      '/etc/default/docker': '# Docker Upstart and SysVinit configuration file\n',
      '/usr/share/docker.io/contrib/nuke-graph-directory.sh': { data: '#!/bin/sh\n', mode: 0o755 },
    },
    dirs: ['/etc/docker'],
    sysgroups: ['docker'],
    purgeKeepsGroups: true,
    purgeEmpties: {
      dir: '/var/lib/docker',
      whileExecutable: '/usr/share/docker.io/contrib/nuke-graph-directory.sh',
    },
    units: ['docker.service', 'docker.socket'],
  }),
  'docker-cli': plain('26.1.5+dfsg1-9+deb13u1+b1', { bin: ['/usr/bin/docker'] }),
  'docker-compose': plain('2.26.1-4', {
    recommends: ['docker-cli'],
    bin: ['/usr/libexec/docker/cli-plugins/docker-compose', '/usr/bin/docker-compose'],
  }),
  code: plain('1.104.2-1758623190', {
    source: 'vscode.sources',
    bin: ['/usr/share/code/code', '/usr/bin/code'],
    files: {
      '/usr/share/applications/code.desktop': desktopEntry('Visual Studio Code', '/usr/share/code/code'),
    },
    // Like the real postinst: Microsoft's repository and key, unless debconf says no.
    postinst: {
      writes: {
        '/etc/apt/sources.list.d/vscode.sources': VSCODE_VENDOR_SOURCES,
        '/usr/share/keyrings/microsoft.gpg': '\u0099microsoft key from the code package\n',
      },
      unlessDebconf: { question: 'code/add-microsoft-repo', value: 'false' },
    },
  }),
  antigravity: plain('1.11.2-1760000000', {
    source: 'antigravity.sources',
    bin: ['/usr/share/antigravity/antigravity', '/usr/bin/antigravity'],
    files: {
      '/usr/share/applications/antigravity.desktop': desktopEntry('Antigravity', '/usr/bin/antigravity'),
    },
  }),
}
