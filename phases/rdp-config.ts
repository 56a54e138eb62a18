// rdp-config: xrdp with its own TLS certificate (or the user's, rdp.certificate), TLS-only
// security, root logins refused, and only the keys we need edited in xrdp.ini and sesman.ini (0.10
// keeps its defaults), with sound (PipeWire and xrdp's module). The session starts
// XFCE through ~/.xsession, written for the developer user in user-creation. Then fail2ban, with a
// jail for sshd and one for xrdp (its filter is ours: Debian ships none for xrdp).

import type { Config } from '../src/config/schema.js'
import { fail2banJails } from '../src/facts/fail2ban.js'
import { rdpPortAvailable, xrdpListening } from '../src/facts/port-holder.js'
import { assert, file, iniValues, packages, restartOnChange, service } from '../src/steps/index.js'
import { definePhase } from '../src/steps/phase.js'
import { suppliedCertificate, tlsCertificate } from '../src/steps/tls-certificate.js'
import type { Step } from '../src/steps/types.js'
import { template } from '../src/templates.js'

export const XRDP_INI = '/etc/xrdp/xrdp.ini'
export const SESMAN_INI = '/etc/xrdp/sesman.ini'
export const XRDP_CERT = '/etc/xrdp/vps-provision-cert.pem'
export const XRDP_KEY = '/etc/xrdp/vps-provision-key.pem'
export const FAIL2BAN_JAIL = '/etc/fail2ban/jail.d/vps-provision.local'
export const FAIL2BAN_XRDP_FILTER = '/etc/fail2ban/filter.d/vps-provision-xrdp.conf'
/** The jails our jail file enables; the assert waits for fail2ban to run exactly these (or more). */
export const FAIL2BAN_JAIL_NAMES = ['sshd', 'xrdp'] as const

/** Listed with reasons in docs/phases.md; only with `sound: true` (the default). */
export const SOUND_PACKAGES = [
  // pipewire.service Requires the user's dbus.service: without it the socket never starts PipeWire.
  'dbus-user-session',
  'pipewire',
  'pipewire-pulse',
  'wireplumber',
  'pipewire-module-xrdp',
  'pulseaudio-utils',
]

export const rdpConfig = definePhase({
  name: 'rdp-config',
  title: 'Remote desktop (xrdp)',
  weight: 2,
  needsSystemd: true,
  steps: ({ cfg }) => {
    // Tunnel mode binds to loopback too: closed even where no firewall is running.
    const port = cfg.rdp.firewall === 'tunnel' ? `tcp://127.0.0.1:${cfg.rdp.port}` : String(cfg.rdp.port)
    return [
      // Again here, not only in preflight: something may have taken the port during the installs,
      // and xrdp would then fail to bind while the port still answers. Nothing is changed yet.
      assert({
        id: 'port-free',
        title: `Port ${cfg.rdp.port} free for xrdp`,
        check: (sys) => rdpPortAvailable(sys, cfg.rdp.port),
      }),
      packages(['xrdp', 'xorgxrdp', 'ssl-cert', 'openssl'], { id: 'packages', joinsEarlier: true }),
      // Sound on the client: PipeWire in the user session (socket-activated user units) and xrdp's
      // module, which its XDG autostart entry loads when an xrdp session's desktop starts.
      ...(cfg.sound ? [packages(SOUND_PACKAGES, { id: 'sound-packages', joinsEarlier: true })] : []),
      // The user's own pair (preflight has checked it) or one we generate, at the same paths.
      cfg.rdp.certificate && cfg.rdp.key
        ? suppliedCertificate({
            id: 'tls',
            certPath: XRDP_CERT,
            keyPath: XRDP_KEY,
            group: 'xrdp',
            from: { cert: cfg.rdp.certificate, key: cfg.rdp.key },
          })
        : tlsCertificate({
            id: 'tls',
            certPath: XRDP_CERT,
            keyPath: XRDP_KEY,
            group: 'xrdp',
            commonName: 'vps-provision-xrdp',
          }),
      iniValues({
        id: 'xrdp-ini',
        path: XRDP_INI,
        values: {
          Globals: {
            port,
            security_layer: 'tls',
            crypt_level: 'high',
            certificate: XRDP_CERT,
            key_file: XRDP_KEY,
            ssl_protocols: 'TLSv1.2, TLSv1.3',
          },
        },
      }),
      iniValues({ id: 'sesman-ini', path: SESMAN_INI, values: { Security: { AllowRootLogin: false } } }),
      service('xrdp-sesman', { id: 'sesman-service', enabled: true, running: true }),
      service('xrdp', { id: 'xrdp-service', enabled: true, running: true }),
      restartOnChange({
        id: 'xrdp-restart',
        unit: 'xrdp',
        how: 'restart',
        watch: [XRDP_INI, SESMAN_INI, XRDP_CERT, XRDP_KEY],
      }),
      assert({
        id: 'listening',
        title: `xrdp listens on port ${cfg.rdp.port}`,
        check: (sys) => xrdpListening(sys, cfg.rdp.port),
      }),
      ...(cfg.fail2ban.enabled ? fail2banSteps(cfg) : []),
    ]
  },
})

/**
 * fail2ban from Debian, our xrdp filter and one jail file, fail2ban restarted when they change, and
 * a check that it runs both jails. nftables is listed because fail2ban only recommends it (iptables
 * satisfies the recommendation) while Debian's jail.d/defaults-debian.conf bans through `nft`.
 */
function fail2banSteps(cfg: Config): Step[] {
  const f = cfg.fail2ban
  return [
    packages(['fail2ban', 'python3-systemd', 'nftables'], { id: 'fail2ban-packages', joinsEarlier: true }),
    file({
      id: 'fail2ban-xrdp-filter',
      path: FAIL2BAN_XRDP_FILTER,
      content: template('fail2ban-filter-xrdp.conf'),
      mode: 0o644,
    }),
    file({
      id: 'fail2ban-jail',
      path: FAIL2BAN_JAIL,
      content: template('fail2ban-jail.local', {
        ignoreip: f.ignoreip.map((a) => ` ${a}`).join(''),
        bantime: f.bantime,
        maxretry: f.maxretry,
        rdpPort: cfg.rdp.port,
      }),
      mode: 0o644,
    }),
    service('fail2ban', { id: 'fail2ban-service', enabled: true, running: true }),
    restartOnChange({
      id: 'fail2ban-restart',
      unit: 'fail2ban',
      how: 'restart',
      watch: [FAIL2BAN_JAIL, FAIL2BAN_XRDP_FILTER],
    }),
    assert({
      id: 'fail2ban-jails',
      title: `fail2ban runs the ${FAIL2BAN_JAIL_NAMES.join(' and ')} jails`,
      check: (sys) => fail2banJails(sys, FAIL2BAN_JAIL_NAMES),
    }),
  ]
}
