// membership(): a user belongs to a supplementary group. Undo removes only the membership we added.

import { groupEntry } from '../facts/accounts.js'
import type { Step } from './types.js'

export function membership(user: string, group: string, opts: { id?: string } = {}): Step {
  return {
    id: opts.id ?? `member.${user}.${group}`,
    title: `Add ${user} to group ${group}`,
    async check(sys) {
      const g = await groupEntry(sys, group)
      if (!g) return { done: false, observed: `group ${group} absent`, why: `group ${group} does not exist` }
      const member = g.members.includes(user)
      return member
        ? { done: true, observed: `${user} in ${group}` }
        : { done: false, observed: `${user} not in ${group}`, why: `${user} is not a member of ${group}` }
    },
    async apply(ctx) {
      if ((await groupEntry(ctx.sys, group))?.members.includes(user)) return
      await ctx.change(
        {
          actionType: 'USER_MODIFY',
          target: `${user} +${group}`,
          undo: { kind: 'remove-from-group', username: user, group },
        },
        async () => {
          await ctx.sys.exec(['usermod', '--append', '--groups', group, '--', user])
          return undefined
        },
      )
    },
  }
}
