// debconf(): preseeded answers (e.g. `code code/add-microsoft-repo boolean false`), written with
// debconf-set-selections on stdin before the package that asks is installed.
//
// Undo is 'irreversible' on purpose: debconf has no per-question "unset", and an answer only acts
// when its package is configured. A package installed later in the same session is purged by its
// own undo, and purging drops its questions; an answer for a package never installed stays in
// debconf's database, where it changes nothing.

import type { System } from '../system/port.js'
import type { Check, Step } from './types.js'

export type Selection = readonly [question: string, type: string, value: string]

export interface DebconfArgs {
  id?: string
  package: string
  selections: readonly Selection[]
}

/** `debconf-show` lines: "* question: value" (seen) or "  question: value". */
async function shown(sys: System, pkg: string): Promise<Map<string, string>> {
  const r = await sys.exec(['debconf-show', pkg], { allowFailure: true })
  const out = new Map<string, string>()
  for (const m of r.stdout.matchAll(/^[* ] ([^:\s]+):(?: (.*))?$/gm)) if (m[1]) out.set(m[1], m[2] ?? '')
  return out
}

export function debconf(args: DebconfArgs): Step {
  for (const [q, , v] of args.selections)
    if (/[\s]/.test(q) || v.includes('\n'))
      throw new Error(
        `Unable to define debconf answer ${q}: no whitespace in the question, no newline in the value`,
      )
  // debconf-show prints "(password omitted)": such answers can only be checked for presence.
  const matches = (s: Selection, v: string | undefined) =>
    v !== undefined && (s[1] === 'password' || v === s[2])
  return {
    id: args.id ?? `debconf.${args.package}`,
    title: `Preseed debconf answers for ${args.package}`,
    async check(sys): Promise<Check> {
      const now = await shown(sys, args.package)
      const observed = args.selections
        .map(([q, t]) => `${q}=${t === 'password' ? (now.has(q) ? '(set)' : '-') : (now.get(q) ?? '-')}`)
        .join('\n')
      const wrong = args.selections.filter((s) => !matches(s, now.get(s[0]))).map((s) => s[0])
      return wrong.length === 0
        ? { done: true, observed }
        : { done: false, observed, why: `not preseeded: ${wrong.join(', ')}` }
    },
    async apply(ctx) {
      for (const [, t, v] of args.selections) if (t === 'password') ctx.secret(v)
      const stdin = args.selections.map(([q, t, v]) => `${args.package} ${q} ${t} ${v}\n`).join('')
      await ctx.change(
        {
          actionType: 'COMMAND_EXEC',
          target: `debconf-set-selections ${args.selections.map((s) => s[0]).join(' ')}`,
          undo: { kind: 'irreversible', reason: 'a debconf answer acts only when its package is configured' },
        },
        async () => {
          const secrets = args.selections.filter((s) => s[1] === 'password').map((s) => s[2])
          await ctx.sys.exec(['debconf-set-selections'], { stdin, secrets })
          return undefined
        },
      )
    },
  }
}
