// The command-line surface, with commander. Nothing here exits the process: commander's own exits
// are turned into exceptions (exitOverride) and its messages into our one-line errors.
import { Command, InvalidArgumentError, Option } from 'commander'
import { DEFAULT_CONFIG_FILE, SETTING_LIST, type Setting } from '../config/settings.js'
import { PHASE_NAMES } from '../model/names.js'
import type { CloudInitFlags } from './cloud-init.js'
import {
  confirmCommand,
  logCommand,
  planCommand,
  type RollbackFlags,
  type RunFlags,
  revertPendingCommand,
  rollbackCommand,
  runCommand,
  type StatusFlags,
  sessionsCommand,
  statusCommand,
  stopCommand,
  type UserRemoveFlags,
  userRemoveCommand,
  verifyCommand,
} from './commands.js'
import type { CliContext, OutputFlags } from './deps.js'
import { examplesFor, ROOT_HELP } from './help.js'

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

/** A setting's flag, or a switch and its --no- form, from the table in config/settings.ts. */
function settingOptions(s: Setting): Option[] {
  if (s.value === undefined)
    return [new Option(s.flag, s.help), new Option(`--no-${s.flag.slice(2)}`, s.offHelp)]
  const option = new Option(`${s.flag} <${s.value}>`, s.help)
  return [s.choices ? option.choices(s.choices) : option.argParser(arg(s.parse))]
}

function configOptions(cmd: Command, selectsPhases: boolean): Command {
  cmd.option('--config <file>', `YAML or JSON configuration (default: ${DEFAULT_CONFIG_FILE})`)
  for (const s of SETTING_LIST) {
    if (selectsPhases || !s.selectsPhases) for (const option of settingOptions(s)) cmd.addOption(option)
  }
  return cmd
}

function parseSeconds(text: string): number {
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(n) || n <= 0)
    throw new Error('expected a number of seconds greater than 0, e.g. 600')
  return n
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
  addWorkCommands(program, ctx)
  addSessionCommands(program, ctx)
  addCheckCommands(program, ctx)
  return program
}

/** A command's output flags, its Examples and its handler: the end of every definition below. */
function finish<A extends unknown[]>(cmd: Command, plain: boolean, action: (...args: A) => Promise<void>) {
  outputOptions(cmd, plain)
    .addHelpText('after', examplesFor(cmd.name()))
    .action((...args: unknown[]) => action(...(args as A)))
}

function addWorkCommands(program: Command, ctx: CliContext): void {
  const run = program
    .command('run')
    .description('provision this machine (resumes where an earlier run stopped); needs root')
    .option('--force', 're-check every step even when a checkpoint says its phase is done')
    .option(
      '-y, --yes',
      'do not ask before the first run on a machine that already has a desktop or users of its own (without a terminal it never asks)',
    )
    .addOption(
      new Option(
        '--verbose',
        'also show every line apt and dpkg print (on a terminal: line by line instead of the live view; --plain and --json show them anyway)',
      ).conflicts('quiet'),
    )
    .addOption(
      new Option(
        '--quiet',
        'errors only, on stderr: nothing on success but the exit code (--json is unchanged; a generated password is filed as without a terminal)',
      ).conflicts('verbose'),
    )
    .option(
      '--foreground',
      'run in this process, not as a systemd unit (also: VPS_PROVISION_FOREGROUND=1); an SSH drop then stops the run',
    )
    // Set by a detaching client for the process inside the unit; not for people.
    .addOption(new Option('--worker <session>').hideHelp())
  finish(configOptions(run, true), true, (flags: RunFlags) => runCommand(ctx, flags))

  const plan = program
    .command('plan')
    .description('dry run: what each step would do, with file diffs; changes nothing')
  finish(configOptions(plan, true), false, (flags: RunFlags) => planCommand(ctx, flags))
}

function addSessionCommands(program: Command, ctx: CliContext): void {
  const rollback = program
    .command('rollback')
    .description('undo what a session changed, newest first (resumable); needs root')
    .argument('<session>', 'a session id or "latest"')
    .addOption(new Option('--to <phase>', 'stop once this phase has been undone').choices(PHASE_NAMES))
    .option(
      '--force',
      'undo even where a file changed since (a copy is kept) or a later session builds on this one',
    )
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
  finish(rollback, true, (session: string, flags: RollbackFlags) => rollbackCommand(ctx, session, flags))

  addStatusCommand(program, ctx)

  addUserCommands(program, ctx)

  const stop = program
    .command('stop')
    .description(
      'stop a detached run at its next safe point (the action in progress is finished and recorded); needs root',
    )
    .argument('[session]', 'a session id or "latest" (the newest run in progress)', 'latest')
  finish(stop, false, (session: string, flags: OutputFlags) => stopCommand(ctx, session, flags))

  const confirm = program
    .command('confirm')
    .description(
      'keep a change of how SSH is reached that a run waits about; only from a NEW SSH connection (that a new login works is the proof); needs root',
    )
  finish(confirm, false, (flags: OutputFlags) => confirmCommand(ctx, flags))

  // What the revert timer of a run runs (engine/ssh-guard.ts); a person may run it too, to undo now.
  program
    .command('revert-pending')
    .description(
      "undo a session's SSH change that waits for `confirm` now (what its revert timer runs when nobody confirms); needs root",
    )
    .argument('<session>', 'a session id')
    .addHelpText('after', examplesFor('revert-pending'))
    .action((session: string) => revertPendingCommand(ctx, session))

  const sessions = program.command('sessions').description('list the sessions, newest first')
  finish(sessions, false, (flags: OutputFlags) => sessionsCommand(ctx, flags))

  const log = program
    .command('log')
    .description("show a session's journal: every action and its undo")
    .argument('<session>')
  finish(log, false, (session: string, flags: OutputFlags) => logCommand(ctx, session, flags))
}

function addUserCommands(program: Command, ctx: CliContext): void {
  const user = program
    .command('user')
    .description('manage the developers of a team workstation')
    .addHelpText('after', examplesFor('user'))
  const remove = user
    .command('remove')
    .description(
      'remove a developer: stop their services, undo what runs made for them, delete their account and home; needs root',
    )
    .argument('<name>', 'the developer account')
    .option('--keep-home', 'archive the home to a 0600 tarball under /var/backups/vps-provision first')
    .option(
      '--force',
      'undo even where a file outside the home changed since a run wrote it (a copy is kept)',
    )
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
  finish(remove, true, (name: string, flags: UserRemoveFlags) => userRemoveCommand(ctx, name, flags))
}

function addStatusCommand(program: Command, ctx: CliContext): void {
  const status = program
    .command('status')
    .description('show one session; --follow re-attaches to a run in progress; --wait blocks until it ends')
    .argument('[session]', 'a session id or "latest"', 'latest')
    .option(
      '--follow',
      "replay the progress of a detached run so far, then follow it to its end (exit code: the run's)",
    )
    .option(
      '--wait',
      "block quietly until the run ends (detached or in the foreground), print its status, exit with the run's code",
    )
    .option(
      '--timeout <seconds>',
      'with --wait: give up after this many seconds with exit code 124 (the run goes on)',
      arg(parseSeconds),
    )
  finish(status, true, (session: string, flags: StatusFlags) => statusCommand(ctx, session, flags))
}

function addCheckCommands(program: Command, ctx: CliContext): void {
  const verify = program.command('verify').description('check that the workstation works, changing nothing')
  finish(configOptions(verify, false), true, (flags: RunFlags) => verifyCommand(ctx, flags))

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
}
