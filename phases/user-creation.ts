// user-creation: the developer account, its groups and passwordless sudo (validated by visudo before
// it is moved into place), root's SSH keys, a generated password, XFCE as its xrdp session with
// RDP-friendly defaults. SSH hardening comes last and only once sudo is proven to work for the user.
import type { Config } from '../src/config/schema.js'
import { passwdEntry } from '../src/facts/accounts.js'
import { keysForDeveloper, rootKeysFile } from '../src/steps/authorized-keys.js'
import { developerPassword } from '../src/steps/developer-password.js'
import { homeFiles } from '../src/steps/home-files.js'
import {
  assert,
  directory,
  file,
  group,
  packages,
  restartOnChange,
  sudoers,
  user,
} from '../src/steps/index.js'
import { allOf, forUser, lazy } from '../src/steps/lazy.js'
import { definePhase } from '../src/steps/phase.js'
import type { Facts, Step } from '../src/steps/types.js'
import { template } from '../src/templates.js'

export const DEV_GROUP = 'devusers'
export const DEV_GROUPS = ['sudo', 'audio', 'video', 'dialout', 'plugdev', DEV_GROUP]
export const SSHD_DROPIN = '/etc/ssh/sshd_config.d/00-vps-provision.conf'
const XFCONF = '.config/xfce4/xfconf/xfce-perchannel-xml'

export const userCreation = definePhase({
  name: 'user-creation',
  title: 'Developer user',
  weight: 1,
  steps: ({ cfg, facts, interactive }) => {
    const name = cfg.username
    return [
      // Usually installed by system-prep already; listed so this phase also runs on its own (visudo
      // validates the drop-in and `sudo -n true` proves it; without sudo, /etc/sudoers.d is missing).
      packages(['sudo'], { id: 'packages' }),
      group({ id: 'group', name: DEV_GROUP }),
      ...user({ id: 'account', name, fullName: cfg.fullName, shell: '/bin/bash', groups: DEV_GROUPS }),
      developerPassword(name, { expire: cfg.expirePassword, interactive }),
      sudoers({
        id: 'sudoers',
        name: `vps-provision-${name}`,
        content: template('sudoers', { username: name }),
      }),
      authorizedKeys(name),
      ...homeFiles('session', name, [
        { path: '.xsession', content: template('xsession'), mode: 0o755 },
        // xfconfd owns these once XFCE has run (it rewrites them with every default): seeds.
        { path: `${XFCONF}/xfwm4.xml`, content: template('xfwm4.xml'), mode: 0o644, seed: true },
        {
          path: `${XFCONF}/xfce4-power-manager.xml`,
          content: template('xfce4-power-manager.xml'),
          mode: 0o644,
          seed: true,
        },
      ]),
      assert({
        id: 'sudo-works',
        title: `sudo works for ${name} without a password`,
        check: async (sys) => {
          const r = await sys.exec(['runuser', '-u', name, '--', 'sudo', '-n', 'true'], {
            allowFailure: true,
          })
          return {
            ok: r.exitCode === 0,
            detail: r.exitCode === 0 ? 'sudo -n true succeeded' : `sudo -n true failed: ${r.stderr.trim()}`,
            hint: `Check /etc/sudoers.d/vps-provision-${name}`,
          }
        },
      }),
      ...sshHardening(cfg, facts),
    ]
  },
})

/**
 * Root's authorized_keys, copied for the developer when root has any, into our marked block of the
 * user's file: keys the user adds there themselves survive a re-run and a rollback.
 */
function authorizedKeys(name: string): Step {
  return lazy('ssh-keys', `Copy root's SSH keys to ${name}`, async (sys) => {
    const rootKeys = (await sys.readFile('/root/.ssh/authorized_keys'))?.toString('utf8') ?? ''
    if (keysForDeveloper(rootKeys) === '') return nothing('ssh-keys', 'root has no authorized_keys')
    return allOf('ssh-keys', `Copy root's SSH keys to ${name}`, [
      forUser('ssh-keys.dir..ssh', `Directory ~${name}/.ssh`, name, (u) =>
        directory({ path: `${u.home}/.ssh`, mode: 0o700, uid: u.uid, gid: u.gid }),
      ),
      forUser('ssh-keys.file..ssh/authorized_keys', `Root's SSH keys for ${name}`, name, (u) =>
        rootKeysFile(u, rootKeys),
      ),
    ])
  })
}

const nothing = (id: string, reason: string): Step => ({
  id,
  title: reason,
  check: async () => ({ done: true, observed: reason }),
  apply: async () => {},
})

/** Off unless asked for: a drop-in read before cloud-init's, validated by sshd -t, then a reload. */
function sshHardening(cfg: Config, facts: Facts): Step[] {
  const lines: string[] = []
  if (cfg.ssh.disableRootLogin) lines.push('PermitRootLogin no')
  if (cfg.ssh.disablePasswordAuth) lines.push('PasswordAuthentication no', 'KbdInteractiveAuthentication no')
  if (lines.length === 0) return []
  return [
    ...(cfg.ssh.disableRootLogin
      ? [
          assert({
            id: 'ssh-keys-present',
            title: `${cfg.username} can log in with SSH keys before root login is disabled`,
            check: async (sys) => {
              const home = (await passwdEntry(sys, cfg.username))?.home ?? `/home/${cfg.username}`
              const keys = (await sys.readFile(`${home}/.ssh/authorized_keys`))?.toString('utf8') ?? ''
              return {
                ok: keys.trim() !== '',
                detail: keys.trim() ? 'authorized_keys present' : `no keys in ${home}/.ssh/authorized_keys`,
                hint: 'Add your public key to root (or the user) first, or leave ssh.disableRootLogin off',
              }
            },
          }),
        ]
      : []),
    directory({ id: 'sshd-dropin-dir', path: '/etc/ssh/sshd_config.d', mode: 0o755 }),
    file({
      id: 'sshd-dropin',
      path: SSHD_DROPIN,
      content: `# Installed by vps-provision. sshd keeps the FIRST value it reads; 00- comes first.\n${lines.join('\n')}\n`,
      mode: 0o644,
      validate: ['sshd', '-t', '-f', '{}'],
    }),
    ...(facts.systemd
      ? [restartOnChange({ id: 'sshd-reload', unit: 'ssh', how: 'reload', watch: [SSHD_DROPIN] })]
      : []),
  ]
}
