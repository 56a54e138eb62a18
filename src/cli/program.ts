// The command-line surface, with commander. Nothing here exits the process: commander's own exits
// are turned into exceptions (exitOverride) and its messages into our one-line errors.
import { Command, InvalidArgumentError, Option } from 'commander'
import { IDE_IDS, PHASE_NAMES } from '../model/names.js'
import type { CloudInitFlags } from './cloud-init.js'
import {
  logCommand,
  planCommand,
  type RollbackFlags,
  type RunFlags,
  rollbackCommand,
  runCommand,
  type StatusFlags,
  sessionsCommand,
  statusCommand,
  stopCommand,
  verifyCommand,
} from './commands.js'
import type { CliContext, OutputFlags } from './deps.js'
import { examplesFor, ROOT_HELP } from './help.js'
import { parseIdes, parsePhases, parseWholeNumber } from './parse.js'

/** commander reports a parser's Error as "option '--ides <list>' argument 'x' is invalid. <reason>". */
const arg =
  <T>(parse: (text: string) => T) =>
  (text: string): T => {
    try {
      return parse(text)
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message)
    }
  }

function outputOptions(cmd: Command, plain = true): Command {
  cmd.option('--json', 'machine-readable output on stdout (NDJSON events for run, rollback and verify)')
  if (plain) cmd.option('--plain', 'plain timestamped lines even on a terminal (for logs)')
  return cmd.option('--no-color', 'no colour (also: NO_COLOR=1)')
}

function configOptions(cmd: Command, selection: boolean): Command {
  cmd
    .option('--config <file>', 'YAML or JSON configuration (default: /etc/vps-provision/config.yaml)')
    .option('--username <name>', 'the developer account (a-z, 0-9, _ and -, starting with a letter)')
    .addOption(
      new Option('--ides <list>', `comma-separated IDEs to install (${IDE_IDS.join(', ')})`).argParser(
        arg(parseIdes),
      ),
    )
  if (selection) {
    cmd
      .addOption(
        new Option('--only <phases>', 'run only these phases (comma-separated)').argParser(arg(parsePhases)),
      )
      .addOption(
        new Option('--skip <phases>', 'skip these phases (comma-separated)').argParser(arg(parsePhases)),
      )
  }
  return cmd
    .option('--reuse-user', 'allow an existing normal user as the developer account')
    .option('--no-reuse-user', 'refuse an existing user (overrides the file and environment)')
    .option('--expire-password', 'expire the password at first login (xrdp logins fail until it is changed)')
    .option('--no-expire-password', 'do not expire the password')
    .option('--upgrade', 'run apt-get upgrade first (cannot be undone)')
    .option('--no-upgrade', 'do not upgrade installed packages')
    .addOption(
      new Option('--rdp-port <port>', 'TCP port for xrdp (1-65535, default 3389)').argParser(
        arg(parseWholeNumber),
      ),
    )
    .addOption(
      new Option(
        '--rdp-firewall <mode>',
        'open: RDP reachable from anywhere; tunnel: only through SSH',
      ).choices(['open', 'tunnel']),
    )
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('vps-provision')
    .description(
      'Turn a fresh Debian 13 VPS into a remote developer workstation (XFCE over RDP, VS Code, Cursor, Antigravity) in one idempotent, resumable and reversible run.',
    )
    .version(ctx.deps.version ?? '0.0.0', '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText('after', ROOT_HELP)
    .showSuggestionAfterError(true)
  program.exitOverride().configureOutput({
    writeOut: (s) => ctx.out.write(s),
    writeErr: (s) => ctx.err.write(s),
    // Errors are printed by report.ts, on one line (or as JSON with --json).
    outputError: () => {},
  })
  // Subcommands inherit exitOverride and output settings when created through .command().
  program.hook('preAction', (_root, action) => {
    ctx.command = action.name()
  })

  const run = program
    .command('run')
    .description('provision this machine (resumes where an earlier run stopped); needs root')
    .option('--force', 're-check every step even when a checkpoint says its phase is done')
    .option('--yes', 'never ask; assume yes (run asks nothing today, so scripts may always pass it)')
    .option(
      '--foreground',
      'run in this process, not as a systemd unit (also: VPS_PROVISION_FOREGROUND=1); an SSH drop then stops the run',
    )
    // Set by a detaching client for the process inside the unit; not for people.
    .addOption(new Option('--worker <session>').hideHelp())
  configOptions(run, true)
  outputOptions(run)
    .addHelpText('after', examplesFor('run'))
    .action((flags: RunFlags) => runCommand(ctx, flags))

  const plan = program
    .command('plan')
    .description('dry run: what each step would do, with file diffs; changes nothing')
  configOptions(plan, true)
  outputOptions(plan, false)
    .addHelpText('after', examplesFor('plan'))
    .action((flags: RunFlags) => planCommand(ctx, flags))

  outputOptions(
    program
      .command('rollback')
      .description('undo what a session changed, newest first (resumable); needs root')
      .argument('<session>', 'a session id or "latest"')
      .addOption(new Option('--to <phase>', 'stop once this phase has been undone').choices(PHASE_NAMES))
      .option(
        '--force',
        'undo even where a file changed since (a copy is kept) or a later session builds on this one',
      )
      .option('-y, --yes', 'do not ask for confirmation (required without a terminal)'),
  )
    .addHelpText('after', examplesFor('rollback'))
    .action((session: string, flags: RollbackFlags) => rollbackCommand(ctx, session, flags))

  outputOptions(
    program
      .command('status')
      .description('show one session; --follow re-attaches to a run in progress')
      .argument('[session]', 'a session id or "latest"', 'latest')
      .option(
        '--follow',
        "replay the progress of a detached run so far, then follow it to its end (exit code: the run's)",
      ),
  )
    .addHelpText('after', examplesFor('status'))
    .action((session: string, flags: StatusFlags) => statusCommand(ctx, session, flags))

  outputOptions(
    program
      .command('stop')
      .description(
        'stop a detached run at its next safe point (the action in progress is finished and recorded); needs root',
      )
      .argument('[session]', 'a session id or "latest" (the newest run in progress)', 'latest'),
    false,
  )
    .addHelpText('after', examplesFor('stop'))
    .action((session: string, flags: OutputFlags) => stopCommand(ctx, session, flags))

  outputOptions(program.command('sessions').description('list the sessions, newest first'), false)
    .addHelpText('after', examplesFor('sessions'))
    .action((flags: OutputFlags) => sessionsCommand(ctx, flags))

  outputOptions(
    program
      .command('log')
      .description("show a session's journal: every action and its undo")
      .argument('<session>'),
    false,
  )
    .addHelpText('after', examplesFor('log'))
    .action((session: string, flags: OutputFlags) => logCommand(ctx, session, flags))

  const verify = program.command('verify').description('check that the workstation works, changing nothing')
  configOptions(verify, false)
  outputOptions(verify)
    .addHelpText('after', examplesFor('verify'))
    .action((flags: RunFlags) => verifyCommand(ctx, flags))

  program
    .command('cloud-init')
    .description(
      "print #cloud-config user-data that installs vps-provision and runs it on a new server's first boot",
    )
    .option('--config <file>', 'a configuration to embed (checked first, exactly as run would)')
    .addOption(
      new Option('--from-bundle <url>', 'where the server downloads dist/vps-provision.mjs').conflicts(
        'fromDeb',
      ),
    )
    .addOption(
      new Option('--from-deb <url>', 'where the server downloads the vps-provision .deb').conflicts(
        'fromBundle',
      ),
    )
    .option('--sha256 <hex>', 'expected sha256 of the download (required for a plain http:// URL)')
    .addHelpText('after', examplesFor('cloud-init'))
    .action(async (flags: CloudInitFlags) => (await import('./cloud-init.js')).cloudInitCommand(ctx, flags))

  return program
}
