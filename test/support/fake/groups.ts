// groupadd, groupdel, gpasswd and the read-only account queries (id, getent).
import { parseArgs } from './args.js'
import { fail, type Handler, ok, Unsupported } from './types.js'

export const groupadd: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('groupadd', args, {
    system: ['r', false],
    gid: ['g', true],
    force: ['f', false],
  })
  const [name] = rest
  if (!name) throw new Unsupported('groupadd needs a group name')
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name))
    return fail(3, `groupadd: '${name}' is not a valid group name\n`)
  if (ctx.accounts.group(name)) {
    return opts.has('force') ? ok() : fail(9, `groupadd: group '${name}' already exists\n`)
  }
  const wanted = opts.has('gid') ? Number(opts.get('gid')) : undefined
  if (wanted !== undefined && ctx.accounts.groups().some((g) => g.gid === wanted)) {
    return fail(4, `groupadd: GID '${wanted}' already exists\n`)
  }
  ctx.accounts.addGroup(name, ctx.accounts.freeGid(opts.has('system'), wanted))
  return ok()
}

export const groupdel: Handler = (ctx, args) => {
  const [name] = args
  if (!name || args.length > 1) throw new Unsupported(`groupdel ${args.join(' ')}`)
  const g = ctx.accounts.group(name)
  if (!g) return fail(6, `groupdel: group '${name}' does not exist\n`)
  const owner = ctx.accounts.passwd().find((u) => u.gid === g.gid)
  if (owner) return fail(8, `groupdel: cannot remove the primary group of user '${owner.name}'\n`)
  ctx.accounts.removeGroup(name)
  return ok()
}

export const gpasswd: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('gpasswd', args, { delete: ['d', true], add: ['a', true] })
  const [group] = rest
  const user = opts.get('delete') ?? opts.get('add')
  if (!group || !user || rest.length > 1) throw new Unsupported(`gpasswd ${args.join(' ')}`)
  const acc = ctx.accounts
  const g = acc.group(group)
  if (!g) return fail(3, `gpasswd: group '${group}' does not exist in /etc/group\n`)
  if (!acc.user(user)) return fail(3, `gpasswd: user '${user}' does not exist\n`)
  if (opts.has('delete')) {
    if (!g.members.includes(user)) return fail(3, `gpasswd: user '${user}' is not a member of '${group}'\n`)
    acc.saveGroups(
      acc
        .groups()
        .map((e) => (e.name === group ? { ...e, members: e.members.filter((m) => m !== user) } : e)),
    )
    return ok(`Removing user ${user} from group ${group}\n`)
  }
  if (!g.members.includes(user)) {
    acc.saveGroups(acc.groups().map((e) => (e.name === group ? { ...e, members: [...e.members, user] } : e)))
  }
  return ok(`Adding user ${user} to group ${group}\n`)
}

export const id: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('id', args, {
    name: ['n', false],
    groups: ['G', false],
    user: ['u', false],
    group: ['g', false],
  })
  const name = rest[0] ?? ctx.user
  const acc = ctx.accounts
  const u = acc.user(name) ?? acc.passwd().find((p) => String(p.uid) === name)
  if (!u) return fail(1, `id: '${name}': no such user\n`)
  const names = acc.groupsOf(u.name)
  const gidOf = (g: string) => acc.group(g)?.gid ?? Number(g)
  const useNames = opts.has('name')
  if (opts.has('groups')) return ok(`${(useNames ? names : names.map(gidOf)).join(' ')}\n`)
  if (opts.has('user')) return ok(`${useNames ? u.name : u.uid}\n`)
  if (opts.has('group')) return ok(`${useNames ? names[0] : u.gid}\n`)
  const list = names.map((g) => `${gidOf(g)}(${g})`).join(',')
  return ok(`uid=${u.uid}(${u.name}) gid=${u.gid}(${names[0]}) groups=${list}\n`)
}

export const getent: Handler = (ctx, args) => {
  const [db, ...keys] = args
  const file =
    db === 'passwd' ? '/etc/passwd' : db === 'group' ? '/etc/group' : db === 'shadow' ? '/etc/shadow' : null
  if (!file) return fail(1, `Unknown database: ${db ?? ''}\n`)
  const lines = (ctx.fs.text(file) ?? '').split('\n').filter(Boolean)
  if (keys.length === 0) return ok(lines.map((l) => `${l}\n`).join(''))
  const found = keys
    .map((k) => lines.find((l) => l.split(':')[0] === k || (db !== 'shadow' && l.split(':')[2] === k)))
    .filter((l): l is string => l !== undefined)
  return {
    exitCode: found.length === keys.length ? 0 : 2,
    stdout: found.map((l) => `${l}\n`).join(''),
    stderr: '',
  }
}
