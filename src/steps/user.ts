// user(): a local login account with a home directory and its own group, plus one membership step
// per supplementary group. Deleting the user (and home) is the undo only when we created it; an
// existing account only gets its shell and full name adjusted, each journaled with the old value.

import { passwdEntry } from '../facts/accounts.js'
import type { Undo } from '../model/undo.js'
import { membership } from './membership.js'
import type { Step } from './types.js'

export interface UserArgs {
  id?: string
  name: string
  /** GECOS full name; null leaves it empty (or as it is for an existing user). */
  fullName: string | null
  shell: string
  home?: string
  /** Supplementary groups (each must exist: add group() steps first). */
  groups: readonly string[]
}

export function user(args: UserArgs): Step[] {
  const id = args.id ?? `user.${args.name}`
  const wants = (pw: { shell: string; gecos: string }) => {
    const problems: string[] = []
    if (pw.shell !== args.shell) problems.push(`shell ${pw.shell}, want ${args.shell}`)
    if (args.fullName !== null && pw.gecos.split(',')[0] !== args.fullName)
      problems.push(`full name ${JSON.stringify(pw.gecos)}, want ${JSON.stringify(args.fullName)}`)
    return problems
  }
  const account: Step = {
    id,
    title: `User ${args.name}`,
    async check(sys) {
      const pw = await passwdEntry(sys, args.name)
      if (!pw)
        return { done: false, observed: `user ${args.name} absent`, why: `user ${args.name} does not exist` }
      const observed = `user ${args.name} uid=${pw.uid} gid=${pw.gid} home=${pw.home} shell=${pw.shell} gecos=${pw.gecos}`
      const problems = wants(pw)
      return problems.length === 0
        ? { done: true, observed }
        : { done: false, observed, why: problems.join('; ') }
    },
    async apply(ctx) {
      const pw = await passwdEntry(ctx.sys, args.name)
      if (!pw) {
        const argv = [
          'useradd',
          '--create-home',
          '--shell',
          args.shell,
          '--user-group',
          ...(args.home ? ['--home-dir', args.home] : []),
          ...(args.fullName ? ['--comment', args.fullName] : []),
          '--',
          args.name,
        ]
        const undo: Undo = { kind: 'delete-user', username: args.name, removeHome: true }
        await ctx.change({ actionType: 'USER_CREATE', target: args.name, undo }, async () => {
          await ctx.sys.exec(argv)
          return undefined
        })
        return
      }
      if (wants(pw).length === 0) return
      const undo: Undo = {
        kind: 'argv',
        argv: ['usermod', '--shell', pw.shell, '--comment', pw.gecos, '--', args.name],
        allowFailure: true,
      }
      await ctx.change({ actionType: 'USER_MODIFY', target: args.name, undo }, async () => {
        await ctx.sys.exec([
          'usermod',
          '--shell',
          args.shell,
          ...(args.fullName !== null ? ['--comment', args.fullName] : []),
          '--',
          args.name,
        ])
        return undefined
      })
    },
  }
  return [account, ...args.groups.map((g) => membership(args.name, g, { id: `${id}.member.${g}` }))]
}
