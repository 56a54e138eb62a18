// system-prep: apt made quiet and predictable, the base packages in one transaction, Debian's
// security updates installed daily (unattended-upgrades), a swap file where memory is small, and the
// firewall (SSH first, so enabling it never locks us out). No upgrade unless asked: it cannot be
// undone. The SSH hardening drop-in lives in user-creation: it may only follow a working sudo user.

import type { Config } from '../src/config/schema.js'
import { sshdPorts } from '../src/facts/sshd.js'
import { aptGet } from '../src/steps/apt.js'
import { ufwAllow, ufwEnabled } from '../src/steps/firewall.js'
import { aptUpdate, command, file, guardSsh, packages } from '../src/steps/index.js'
import { allOf, lazy } from '../src/steps/lazy.js'
import { definePhase } from '../src/steps/phase.js'
import { swapFile } from '../src/steps/swap-file.js'
import type { Step } from '../src/steps/types.js'
import { template } from '../src/templates.js'

/** Listed with reasons in docs/phases.md. */
export const BASE_PACKAGES = [
  'ca-certificates',
  'curl',
  'gnupg',
  'git',
  'build-essential',
  'sudo',
  'bash-completion',
  'ufw',
  'openssl',
  'unzip',
  'less',
  'nano',
  'htop',
  'locales',
  'desktop-file-utils',
  'iproute2',
]

export const systemPrep = definePhase({
  name: 'system-prep',
  title: 'System preparation',
  weight: 3,
  steps: ({ cfg, facts, sshGuard }) => [
    aptUpdate({ id: 'apt-update' }),
    packages(BASE_PACKAGES, { id: 'base-packages' }),
    ...securityUpdates(cfg.updates),
    // Its textfile collector publishes the *.prom files every run and verify write (engine/metrics.ts).
    ...(cfg.metrics.nodeExporter ? [packages(['prometheus-node-exporter'], { id: 'node-exporter' })] : []),
    // A chroot's kernel is the host's: its swap is not ours to change.
    ...(facts.chroot ? [] : [swapFile({ id: 'swap', size: cfg.swap.size, facts })]),
    ...(cfg.upgrade
      ? [
          command({
            id: 'upgrade',
            title: 'Upgrade installed packages (apt-get upgrade)',
            argv: [...aptGet(cfg.aptLockTimeoutSeconds), 'upgrade'],
            undo: 'irreversible',
            reason: 'apt-get upgrade replaced package versions; Debian keeps no way back to the old ones',
            actionType: 'PACKAGE_INSTALL',
            check: async (sys) => {
              const r = await sys.exec([...aptGet(cfg.aptLockTimeoutSeconds), '-s', 'upgrade'], {
                allowFailure: true,
              })
              const n = (r.stdout.match(/^Inst /gm) ?? []).length
              return { done: n === 0, observed: `upgradable: ${n}`, why: `${n} package(s) can be upgraded` }
            },
          }),
        ]
      : []),
    // A chroot shares the host's netfilter: a firewall there would be the host's. Never touch it.
    ...(cfg.firewall && !facts.chroot
      ? [
          lazy('firewall.allow-ssh', 'Allow SSH through the firewall', async (sys) =>
            allOf(
              'firewall.allow-ssh',
              'Allow SSH',
              (await sshdPorts(sys)).map((p) => ufwAllow(p, 'SSH')),
            ),
          ),
          ...(cfg.rdp.firewall === 'open' ? [ufwAllow(cfg.rdp.port, 'RDP')] : []),
          // At a terminal, enabling waits for a confirmation from a new SSH connection, or a timer
          // disables ufw again (steps/ssh-guard.ts): the rule above could still be the wrong one.
          ...guardSsh('firewall', 'the firewall', sshGuard ?? null, [ufwEnabled()]),
        ]
      : []),
  ],
})

/** Our drop-in, read after Debian's 50unattended-upgrades (apt.conf.d is read in name order). */
export const UNATTENDED_UPGRADES_CONF = '/etc/apt/apt.conf.d/52vps-provision-unattended-upgrades'
/** The file `dpkg-reconfigure unattended-upgrades` writes to turn the daily run on. */
export const AUTO_UPGRADES_CONF = '/etc/apt/apt.conf.d/20auto-upgrades'

/**
 * unattended-upgrades from Debian, with only the security origin allowed; apt's own timers
 * (apt-daily, apt-daily-upgrade) run it once 20auto-upgrades says so. No reboot unless a time is set.
 */
function securityUpdates(updates: Config['updates']): Step[] {
  if (!updates.enabled) return []
  const reboot = updates.autoReboot
    ? `Unattended-Upgrade::Automatic-Reboot "true";\nUnattended-Upgrade::Automatic-Reboot-Time "${updates.autoReboot}";`
    : 'Unattended-Upgrade::Automatic-Reboot "false";'
  return [
    packages(['unattended-upgrades'], { id: 'updates-package', joinsEarlier: true }),
    file({
      id: 'updates-origins',
      title: "unattended-upgrades: Debian's security origin only",
      path: UNATTENDED_UPGRADES_CONF,
      content: template('unattended-upgrades.conf', { reboot }),
      mode: 0o644,
    }),
    file({
      id: 'updates-periodic',
      title: 'unattended-upgrades: the daily run on',
      path: AUTO_UPGRADES_CONF,
      content: template('auto-upgrades.conf'),
      mode: 0o644,
    }),
  ]
}
