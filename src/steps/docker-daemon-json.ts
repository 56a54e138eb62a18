// dockerDaemonJson(): /etc/docker/daemon.json says `"ip": "127.0.0.1"`, so a published port
// (`docker run -p 8080:80`) binds to loopback: Docker's own iptables rules let published ports past
// ufw's INPUT chain, so its default of every address would open them to the internet. A file that
// exists keeps every other key (our key is merged in, not the file replaced); it is backed up first
// like every file we write, and `plan` shows the diff.
import { DAEMON_JSON, DaemonJsonError, daemonJsonWithLoopback } from '../facts/docker.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { managedFile } from './file.js'
import type { Step } from './types.js'

export function dockerDaemonJson(opts: { id?: string } = {}): Step {
  return managedFile(
    'file',
    {
      ...(opts.id ? { id: opts.id } : {}),
      title: `${DAEMON_JSON}: published ports on 127.0.0.1 unless a -p names an address`,
      path: DAEMON_JSON,
      content: (current) => {
        try {
          return daemonJsonWithLoopback(current)
        } catch (e) {
          if (!(e instanceof DaemonJsonError)) throw e
          throw new ProvisionError(
            `Unable to merge "ip": "127.0.0.1" into ${DAEMON_JSON}: ${e.message}`,
            EXIT.provisioning,
            `dockerd refuses such a file too: fix it (\`dockerd --validate --config-file ${DAEMON_JSON}\`), or set docker.publishOnLoopback: false to leave it alone.`,
          )
        }
      },
    },
    // A person's daemon.json keeps its mode and owner; a new one is 0644 root.
    true,
  )
}
