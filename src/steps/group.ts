// group(): a local group exists. Undo deletes it only because we created it (an existing group
// makes check() done, so nothing is journaled for it).

import { groupEntry } from '../facts/accounts.js'
import type { Step } from './types.js'

export interface GroupArgs {
  id?: string
  name: string
  /** A system group (GID below 1000). */
  system?: boolean
}

export function group(args: GroupArgs): Step {
  return {
    id: args.id ?? `group.${args.name}`,
    title: `Group ${args.name}`,
    async check(sys) {
      const g = await groupEntry(sys, args.name)
      return g
        ? { done: true, observed: `group ${args.name} gid=${g.gid}` }
        : { done: false, observed: `group ${args.name} absent`, why: `group ${args.name} does not exist` }
    },
    async apply(ctx) {
      if (await groupEntry(ctx.sys, args.name)) return
      const argv = ['groupadd', ...(args.system ? ['--system'] : []), '--', args.name]
      await ctx.change(
        {
          actionType: 'USER_CREATE',
          target: `group ${args.name}`,
          undo: { kind: 'delete-group', group: args.name },
        },
        async () => {
          await ctx.sys.exec(argv)
          return undefined
        },
      )
    },
  }
}
