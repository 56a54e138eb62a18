// The help texts: an Examples block for every command and, on the root, the exit codes. Kept apart
// from program.ts so the command wiring reads on one screen.
import { EXIT } from '../model/errors.js'
import { CONFIG_ENV } from './config-layers.js'
import { SIGNAL_EXIT } from './signals.js'

export const EXIT_CODES: readonly [number, string][] = [
  [EXIT.ok, 'success'],
  [
    EXIT.preflight,
    'preflight failed: this machine cannot be provisioned as it is (nothing on it was changed)',
  ],
  [
    EXIT.provisioning,
    'provisioning failed: resume with `vps-provision run` or undo with `vps-provision rollback`',
  ],
  [EXIT.rollback, 'rollback failed or was refused (damaged journal, files changed since)'],
  [EXIT.verification, 'verification failed: the workstation is not fully working'],
  [EXIT.usage, 'configuration or usage error (bad flag, value, file, or no confirmation)'],
  [EXIT.notRoot, 'not root, or state files not readable without root'],
  [
    EXIT.partial,
    'partly done: every phase ran, but an IDE failed, or an SSH change was not confirmed, and was left out or undone; the summary says how to retry it',
  ],
  [EXIT.locked, 'another run or rollback holds the lock; try again when it has finished'],
  [EXIT.waitTimeout, '`status --wait --timeout S`: the run had not ended after S seconds (it goes on)'],
  [SIGNAL_EXIT.SIGHUP ?? 129, 'stopped by SIGHUP (terminal closed); the current action was completed'],
  [
    SIGNAL_EXIT.SIGINT ?? 130,
    'stopped by SIGINT (Ctrl-C); the current action was completed (a client attached to a detached run: it detached, the run goes on)',
  ],
  [SIGNAL_EXIT.SIGTERM ?? 143, 'stopped by SIGTERM; the current action was completed'],
]

const block = (title: string, lines: readonly string[]) =>
  `\n${title}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`

export const ROOT_HELP = [
  block('Examples', [
    'sudo vps-provision plan                      # what would change, changing nothing',
    'sudo vps-provision run --username alice      # provision the workstation',
    'sudo vps-provision rollback latest --yes     # undo the last run',
  ]),
  block(
    'Exit codes',
    EXIT_CODES.map(([code, text]) => `${String(code).padEnd(4)} ${text}`),
  ),
  block('Environment (overrides the configuration file; flags override it)', [
    ...CONFIG_ENV.map((name) => name),
    'NO_COLOR: no colour. VPS_PROVISION_DEBUG=1: stack traces on unexpected errors.',
    'VPS_PROVISION_FOREGROUND=1: run in this process, as --foreground.',
  ]),
  '\nMore: docs/quickstart.md, docs/cli.md, docs/exit-codes.md, docs/troubleshooting.md (man vps-provision)\n',
].join('')

const USER_EXAMPLES = [
  'sudo vps-provision user remove bob                  # asks first; stops and removes what runs made for bob',
  'sudo vps-provision user remove bob --keep-home --yes # the home is archived (0600) before it goes',
]

export const EXAMPLES: Record<string, readonly string[]> = {
  run: [
    'sudo vps-provision run',
    'sudo vps-provision run --username alice --ides vscode,cursor',
    'sudo vps-provision run --rdp-port 3390 --rdp-firewall tunnel',
    'sudo vps-provision run --only ide-installations --force',
    'sudo vps-provision run --plain > /var/log/provision.log   # for cloud-init',
    'sudo VPS_PROVISION_USERNAME=alice vps-provision run --yes --json',
    'sudo vps-provision run --foreground      # in this process: Ctrl-C stops it, an SSH drop too',
    'sudo vps-provision run --verbose         # also every line apt and dpkg print',
    'sudo vps-provision run --quiet --yes     # errors only (stderr); nothing on success',
  ],
  plan: [
    'sudo vps-provision plan',
    'sudo vps-provision plan --config ./config.yaml --skip desktop-install',
    'sudo vps-provision plan --json | jq ".phases[].steps[] | select(.done == false)"',
  ],
  rollback: [
    'sudo vps-provision rollback latest',
    'sudo vps-provision rollback 20261126-100000-a1b2c3 --yes',
    'sudo vps-provision rollback latest --to ide-installations --yes',
  ],
  user: USER_EXAMPLES,
  // `user remove`'s own --help (commander names the subcommand "remove").
  remove: USER_EXAMPLES,
  status: [
    'vps-provision status',
    'sudo vps-provision status 20261126-100000-a1b2c3 --json',
    'sudo vps-provision status --follow latest        # re-attach to a detached run (Ctrl-C detaches again)',
    'sudo vps-provision status --wait --timeout 3600  # block until the latest run ends; exit with its code (124: not ended in time)',
  ],
  confirm: [
    'sudo vps-provision confirm     # in a NEW SSH connection, while a run waits after changing SSH or the firewall',
  ],
  'revert-pending': [
    'sudo vps-provision revert-pending 20261126-100000-a1b2c3   # undo the waiting SSH change now',
  ],
  stop: ['sudo vps-provision stop', 'sudo vps-provision stop 20261126-100000-a1b2c3'],
  sessions: ['sudo vps-provision sessions', 'sudo vps-provision sessions --json | jq ".[0].status"'],
  log: ['sudo vps-provision log latest', 'sudo vps-provision log 20261126-100000-a1b2c3 --json'],
  verify: ['sudo vps-provision verify', 'sudo vps-provision verify --username alice --json'],
  'cloud-init': [
    'vps-provision cloud-init --from-bundle https://files.example.com/vps-provision.mjs > user-data.yaml',
    'vps-provision cloud-init --config config.yaml --from-deb https://files.example.com/vps-provision_0.1.0-1_all.deb',
    'vps-provision cloud-init --from-bundle http://10.0.0.2/vps-provision.mjs --sha256 "$(sha256sum < dist/vps-provision.mjs | cut -d" " -f1)"',
  ],
}

export const examplesFor = (command: string) => block('Examples', EXAMPLES[command] ?? [])
