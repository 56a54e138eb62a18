// user-creation: the developer accounts (one, or each of `users:`), their groups and passwordless
// sudo (validated by visudo before it is moved into place), root's SSH keys for the first and the
// configured keys of each, a generated password, XFCE as the xrdp session with RDP-friendly
// defaults. SSH hardening comes last and only once sudo is proven to work for the user.
import { type Developer, developers } from '../src/config/developers.js'
import type { Config } from '../src/config/schema.js'
import { hasSshKeys, passwordlessSudo } from '../src/facts/developer-access.js'
import { configuredPassword } from '../src/steps/configured-password.js'
import { credentialsFile, developerPassword } from '../src/steps/developer-password.js'
import { homeFiles } from '../src/steps/home-files.js'
import {
  assert,
  configuredKeys,
  copyRootKeys,
  group,
  guardSsh,
  packages,
  sshdDropIn,
  sudoers,
  user,
} from '../src/steps/index.js'
import { definePhase, ownedBy } from '../src/steps/phase.js'
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
  steps: ({ cfg, facts, interactive, sshGuard }) => [
    // Usually installed by system-prep already; listed so this phase also runs on its own (visudo
    // validates the drop-in and `sudo -n true` proves it; without sudo, /etc/sudoers.d is missing).
    packages(['sudo'], { id: 'packages', joinsEarlier: true }),
    group({ id: 'group', name: DEV_GROUP }),
    ...developers(cfg).flatMap((dev, i) => developerSteps(cfg, dev, i === 0, interactive)),
    ...sshHardening(cfg, facts, sshGuard ?? null),
  ],
})

/** The groups a developer joins: sudo only with `sudo: true`. */
export function groupsFor(dev: Developer): string[] {
  return dev.sudo ? DEV_GROUPS : DEV_GROUPS.filter((g) => g !== 'sudo')
}

/**
 * One developer's account, password, sudo, keys and desktop session. The primary developer keeps
 * the step ids of the one-developer tool, so its sessions resume; the others' ids end in their name.
 */
function developerSteps(cfg: Config, dev: Developer, primary: boolean, interactive: boolean): Step[] {
  const name = dev.name
  const id = (base: string) => (primary ? base : `${base}.${name}`)
  const hasKeys = dev.sshKeys.length > 0 || dev.sshKeysFile !== null
  return ownedBy(name, [
    ...user({ id: id('account'), name, fullName: dev.fullName, shell: '/bin/bash', groups: groupsFor(dev) }),
    passwordStep(dev, id('password'), {
      file: credentialsFile(name, primary),
      expire: cfg.expirePassword,
      // The summary shows one password at a terminal: the primary's. The others' are filed.
      interactive: interactive && primary,
    }),
    ...(dev.sudo
      ? [
          sudoers({
            id: id('sudoers'),
            name: `vps-provision-${name}`,
            content: template('sudoers', { username: name }),
          }),
        ]
      : []),
    ...(primary ? [copyRootKeys('ssh-keys', name)] : []),
    ...(hasKeys
      ? [configuredKeys(id('own-keys'), name, { inline: dev.sshKeys, file: dev.sshKeysFile })]
      : []),
    ...homeFiles(id('session'), name, [
      { path: '.xsession', content: template('xsession'), mode: 0o755 },
      // xfconfd owns these once XFCE has run (it rewrites them with every default): seeds.
      xfconfSeed('xfwm4.xml'),
      xfconfSeed('xfce4-power-manager.xml'),
    ]),
    ...(dev.sudo
      ? [
          assert({
            id: id('sudo-works'),
            title: `sudo works for ${name} without a password`,
            check: (sys) => passwordlessSudo(sys, name),
          }),
        ]
      : []),
  ])
}

/** The password the configuration gives (a hash, a file), or else a generated one. */
function passwordStep(
  dev: Developer,
  id: string,
  generated: { file: string; expire: boolean; interactive: boolean },
) {
  if (dev.passwordHash !== null) return configuredPassword(id, dev.name, { hash: dev.passwordHash })
  if (dev.passwordFile !== null) return configuredPassword(id, dev.name, { file: dev.passwordFile })
  return developerPassword(dev.name, { id, ...generated })
}

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
