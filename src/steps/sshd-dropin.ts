// sshdDropIn(): our sshd settings in a drop-in read before cloud-init's (sshd keeps the first value
// it reads), validated by `sshd -t` before it is moved into place, then a reload where systemd runs
// sshd. No settings, no drop-in.
import { directory } from './directory.js'
import { file } from './file.js'
import { restartOnChange } from './restart-on-change.js'
import type { Step } from './types.js'

export const SSHD_DROPIN = '/etc/ssh/sshd_config.d/00-vps-provision.conf'

export function sshdDropIn(settings: readonly string[], opts: { reload: boolean }): Step[] {
  if (settings.length === 0) return []
  return [
    directory({ id: 'sshd-dropin-dir', path: '/etc/ssh/sshd_config.d', mode: 0o755 }),
    file({
      id: 'sshd-dropin',
      path: SSHD_DROPIN,
      content: `# Installed by vps-provision. sshd keeps the FIRST value it reads; 00- comes first.\n${settings.join('\n')}\n`,
      mode: 0o644,
      validate: ['sshd', '-t', '-f', '{}'],
    }),
    ...(opts.reload
      ? [restartOnChange({ id: 'sshd-reload', unit: 'ssh', how: 'reload', watch: [SSHD_DROPIN] })]
      : []),
  ]
}
