// command(): the escape hatch for what no step kind covers. Its author states both the check and
// the undo next to the forward argv, so nothing is changed without a journaled way back (or an
// explicit statement that there is none).

import type { ActionType } from '../model/schemas.js'
import type { Undo } from '../model/undo.js'
import type { System } from '../system/port.js'
import type { Check, Step } from './types.js'

export interface CommandArgs {
  id: string
  title: string
  argv: readonly string[]
  /** The argv that reverses it (must be safe when argv never ran), or 'irreversible'. */
  undo: readonly string[] | 'irreversible'
  /** Why it cannot be undone, shown by rollback (with undo: 'irreversible'). */
  reason?: string
  /** Let the undo argv fail without stopping rollback (e.g. it removes something maybe gone). */
  undoAllowFailure?: boolean
  check: (sys: System) => Promise<Check>
  actionType?: ActionType
  stdin?: string
}

export function command(args: CommandArgs): Step {
  const undo: Undo =
    args.undo === 'irreversible'
      ? { kind: 'irreversible', reason: args.reason ?? `${args.title} has no undo` }
      : { kind: 'argv', argv: [...args.undo], allowFailure: args.undoAllowFailure ?? false }
  if (undo.kind === 'argv' && undo.argv.length === 0)
    throw new Error(`Unable to define command ${args.id}: an empty undo argv (use 'irreversible')`)
  return {
    id: args.id,
    title: args.title,
    check: args.check,
    async apply(ctx) {
      await ctx.change(
        { actionType: args.actionType ?? 'COMMAND_EXEC', target: args.argv.join(' '), undo },
        async () => {
          const r = await ctx.sys.exec(args.argv, args.stdin === undefined ? {} : { stdin: args.stdin })
          return { output: (r.stdout || r.stderr).slice(-2000) }
        },
      )
    },
  }
}
