// Turns anything thrown into an exit code and a message people can act on: `Unable to ...` plus a
// `hint:` line, never a stack trace (unless VPS_PROVISION_DEBUG=1). With --json the same facts go
// to stdout as one JSON object, so a script reading stdout always gets JSON. A failed run's own
// error, which comes in its summary, goes to stderr as well (closeWithSummary).
import { CommanderError } from 'commander'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Summary } from '../model/events.js'
import { InvalidSessionId } from '../model/ids.js'
import type { Renderer } from '../render/renderer.js'
import { clean } from '../render/text.js'
import type { CliContext } from './deps.js'

interface Report {
  message: string
  hint?: string
  exitCode: number
  /** Commander already printed help: nothing more to say. */
  silent?: boolean
}

const VERBS: Record<string, string> = {
  run: 'provision this machine',
  plan: 'plan the run',
  verify: 'verify this machine',
  rollback: 'roll back',
  status: 'show the session',
  sessions: 'list the sessions',
  log: 'show the log',
  stop: 'stop the run',
  'cloud-init': 'write the cloud-init user-data',
}

export function classify(err: unknown, ctx: CliContext): Report {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
      return { message: '', exitCode: EXIT.ok, silent: true }
    }
    // `help <command>` exits 0; a bare `vps-provision` shows the help on stderr, a usage error.
    if (err.code === 'commander.help') {
      return { message: '', exitCode: err.exitCode === 0 ? EXIT.ok : EXIT.usage, silent: true }
    }
    const usage = ctx.command ? `vps-provision ${ctx.command} --help` : 'vps-provision --help'
    return { message: err.message.replace(/\s*\n\s*/g, ' '), hint: `See ${usage}`, exitCode: EXIT.usage }
  }
  if (err instanceof ProvisionError) return { message: err.message, hint: err.hint, exitCode: err.exitCode }
  if (err instanceof InvalidSessionId) {
    return {
      message: `Unable to ${verb(ctx)}: ${err.message}`,
      hint: 'List the sessions with `vps-provision sessions`',
      exitCode: EXIT.usage,
    }
  }
  const code = (err as NodeJS.ErrnoException | null)?.code
  if (code === 'EACCES' || code === 'EPERM') {
    const path = (err as NodeJS.ErrnoException).path
    return {
      message: `Unable to ${verb(ctx)}: permission denied${path ? ` on ${path}` : ''}`,
      hint: 'The state files of vps-provision are readable by root only: run it with sudo',
      exitCode: EXIT.notRoot,
    }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { message: `Unable to ${verb(ctx)}: ${message}`, exitCode: EXIT.provisioning }
}

const verb = (ctx: CliContext) => (ctx.command ? (VERBS[ctx.command] ?? ctx.command) : 'start')

/** Prints the error and returns the exit code. */
export function reportError(err: unknown, ctx: CliContext): number {
  const r = classify(err, ctx)
  if (r.silent) return r.exitCode
  if (ctx.json) {
    ctx.out.line(
      JSON.stringify({ error: r.message, ...(r.hint ? { hint: r.hint } : {}), exitCode: r.exitCode }),
    )
    return r.exitCode
  }
  // Config errors carry one line per problem; anything else is kept to one line.
  const lines = r.message.split('\n').map(clean)
  for (const line of lines) ctx.err.line(line)
  if (r.hint) ctx.err.line(`hint: ${clean(r.hint)}`)
  if (ctx.deps.env.VPS_PROVISION_DEBUG === '1' && err instanceof Error && err.stack) ctx.err.line(err.stack)
  return r.exitCode
}

/**
 * Ends the renderer with the summary. A failed run's reason and what to do about it (the summary's
 * lines from "Failed:" on, src/engine/summary.ts) are its error: on stderr, as every error is,
 * while stdout keeps the report. --json keeps the whole summary on stdout, as its contract says.
 */
export async function closeWithSummary(ctx: CliContext, renderer: Renderer, summary: Summary | null) {
  const at = summary && !ctx.json ? summary.lines.findIndex((l) => l.startsWith('Failed: ')) : -1
  if (!summary || at < 0) return renderer.close(summary)
  await renderer.close({ ...summary, lines: summary.lines.slice(0, at) })
  for (const line of summary.lines.slice(at)) ctx.err.line(clean(line))
}
