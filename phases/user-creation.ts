// user-creation: the developer account, its groups and passwordless sudo (validated by visudo before
// it is moved into place), root's SSH keys, a generated password, XFCE as its xrdp session with
// RDP-friendly defaults. SSH hardening comes last and only once sudo is proven to work for the user.
import type { Config } from '../src/config/schema.js'
import { hasSshKeys, passwordlessSudo } from '../src/facts/developer-access.js'
import { developerPassword } from '../src/steps/developer-password.js'
import { homeFiles } from '../src/steps/home-files.js'
import {
  assert,
  copyRootKeys,
  group,
  guardSsh,
  packages,
  sshdDropIn,
  sudoers,
  user,
} from '../src/steps/index.js'
import { definePhase } from '../src/steps/phase.js'
import type { Facts, SshGuard, Step } from '../src/steps/types.js'
import { template } from '../src/templates.js'

export const DEV_GROUP = 'devusers'
export const DEV_GROUPS = ['sudo', 'audio', 'video', 'dialout', 'plugdev', DEV_GROUP]
export { SSHD_DROPIN } from '../src/steps/index.js'

const xfconfSeed = (channel: string) => ({
  path: `.config/xfce4/xfconf/xfce-perchannel-xml/${channel}`,
  content: template(channel),
  mode: 0o644,
  seed: true,
})

export const userCreation = definePhase({
  name: 'user-creation',
  title: 'Developer user',
  weight: 1,
  steps: ({ cfg, facts, interactive, sshGuard }) => {
    const name = cfg.username
    return [
      // Usually installed by system-prep already; listed so this phase also runs on its own (visudo
      // validates the drop-in and `sudo -n true` proves it; without sudo, /etc/sudoers.d is missing).
      packages(['sudo'], { id: 'packages', joinsEarlier: true }),
      group({ id: 'group', name: DEV_GROUP }),
      ...user({ id: 'account', name, fullName: cfg.fullName, shell: '/bin/bash', groups: DEV_GROUPS }),
      developerPassword(name, { expire: cfg.expirePassword, interactive }),
      sudoers({
        id: 'sudoers',
        name: `vps-provision-${name}`,
        content: template('sudoers', { username: name }),
      }),
      copyRootKeys('ssh-keys', name),
      ...homeFiles('session', name, [
        { path: '.xsession', content: template('xsession'), mode: 0o755 },
        // xfconfd owns these once XFCE has run (it rewrites them with every default): seeds.
        xfconfSeed('xfwm4.xml'),
        xfconfSeed('xfce4-power-manager.xml'),
      ]),
      assert({
        id: 'sudo-works',
        title: `sudo works for ${name} without a password`,
        check: (sys) => passwordlessSudo(sys, name),
      }),
      ...sshHardening(cfg, facts, sshGuard ?? null),
    ]
  },
})

/**
 * Off unless asked for; root login is only turned off once the user can log in with a key. At a
 * terminal the drop-in and its reload wait for a confirmation from a new SSH connection, or a
 * systemd timer puts the previous drop-in back (steps/ssh-guard.ts).
 */
function sshHardening(cfg: Config, facts: Facts, guard: SshGuard | null): Step[] {
  const { disableRootLogin, disablePasswordAuth } = cfg.ssh
  const keysFirst = assert({
    id: 'ssh-keys-present',
    title: `${cfg.username} can log in with SSH keys before root login is disabled`,
    check: (sys) => hasSshKeys(sys, cfg.username),
  })
  const settings = [
    ...(disableRootLogin ? ['PermitRootLogin no'] : []),
    ...(disablePasswordAuth ? ['PasswordAuthentication no', 'KbdInteractiveAuthentication no'] : []),
  ]
  return [
    ...(disableRootLogin ? [keysFirst] : []),
    ...guardSsh('ssh-settings', 'the SSH settings', guard, sshdDropIn(settings, { reload: facts.systemd })),
  ]
}
