// useradd, userdel, usermod, chpasswd, chage: the shadow-utils behaviour Debian 13 has
// (USERGROUPS_ENAB yes, SHELL=/bin/sh, HOME_MODE 0700), with its exit codes and messages.
import { createHash } from 'node:crypto'
import { FIXED_DAY } from './accounts.js'
import { parseArgs } from './args.js'
import { type Ctx, fail, type Handler, ok, Unsupported } from './types.js'

const NAME = /^[a-z_][a-z0-9_-]{0,31}\$?$/

export const useradd: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('useradd', args, {
    'create-home': ['m', false],
    'no-create-home': ['M', false],
    shell: ['s', true],
    'user-group': ['U', false],
    'no-user-group': ['N', false],
    comment: ['c', true],
    groups: ['G', true],
    uid: ['u', true],
    gid: ['g', true],
    'home-dir': ['d', true],
    system: ['r', false],
  })
  const [name] = rest
  if (!name || rest.length > 1) throw new Unsupported('useradd needs exactly one user name')
  const acc = ctx.accounts
  if (!NAME.test(name)) return fail(3, `useradd: invalid user name '${name}': use --badname to ignore\n`)
  if (acc.user(name)) return fail(9, `useradd: user '${name}' already exists\n`)
  const extra = (opts.get('groups') ?? '').split(',').filter(Boolean)
  const missing = [...extra, ...(opts.has('gid') ? [opts.get('gid') as string] : [])].find(
    (g) => !acc.groups().some((e) => e.name === g || String(e.gid) === g),
  )
  if (missing) return fail(6, `useradd: group '${missing}' does not exist\n`)
  const system = opts.has('system')
  const wantedUid = opts.has('uid') ? Number(opts.get('uid')) : undefined
  if (wantedUid !== undefined && acc.passwd().some((u) => u.uid === wantedUid)) {
    return fail(4, `useradd: UID ${wantedUid} is not unique\n`)
  }
  const uid = acc.freeUid(system, wantedUid)
  let gid: number
  const g = opts.get('gid')
  if (g !== undefined) gid = acc.groups().find((e) => e.name === g || String(e.gid) === g)?.gid as number
  else if (opts.has('no-user-group')) gid = 100
  else {
    if (acc.group(name)) {
      return fail(9, `useradd: group ${name} exists - if you want to add this user to that group, use -g.\n`)
    }
    gid = acc.freeGid(system, uid)
    acc.addGroup(name, gid)
  }
  const home = opts.get('home-dir') ?? `/home/${name}`
  acc.addUser({
    name,
    uid,
    gid,
    gecos: opts.get('comment') ?? '',
    home,
    shell: opts.get('shell') ?? '/bin/sh',
  })
  acc.saveGroups(
    acc.groups().map((e) => (extra.includes(e.name) ? { ...e, members: [...e.members, name] } : e)),
  )
  let stderr = ''
  if (opts.has('create-home') && !opts.has('no-create-home')) {
    if (ctx.fs.exists(home)) {
      stderr = `useradd: warning: the home directory ${home} already exists.\nuseradd: Not copying any file from skel directory into it.\n`
    } else {
      ctx.fs.mkdirp(home, { mode: 0o700, uid, gid })
      ctx.fs.copyInto('/etc/skel', home, uid, gid)
    }
  }
  return ok('', stderr)
}

export const userdel: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('userdel', args, { remove: ['r', false], force: ['f', false] })
  const [name] = rest
  if (!name) throw new Unsupported('userdel needs a user name')
  const acc = ctx.accounts
  const u = acc.user(name)
  if (!u) return fail(6, `userdel: user '${name}' does not exist\n`)
  acc.removeUser(name)
  // USERGROUPS_ENAB: the user's own group goes too when nobody else is in it.
  const own = acc.group(name)
  if (own && own.gid === u.gid && own.members.length === 0 && !acc.passwd().some((p) => p.gid === own.gid)) {
    acc.removeGroup(name)
  }
  let stderr = ''
  if (opts.has('remove')) {
    if (ctx.fs.lget(u.home)) ctx.fs.removeTree(u.home)
    else stderr = `userdel: ${name} home directory (${u.home}) not found\n`
    if (ctx.fs.lget(`/var/mail/${name}`)) ctx.fs.remove(`/var/mail/${name}`)
  }
  return ok('', stderr)
}

export const usermod: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('usermod', args, {
    append: ['a', false],
    groups: ['G', true],
    shell: ['s', true],
    comment: ['c', true],
    lock: ['L', false],
    unlock: ['U', false],
  })
  const [name] = rest
  if (!name) throw new Unsupported('usermod needs a user name')
  const acc = ctx.accounts
  if (!acc.user(name)) return fail(6, `usermod: user '${name}' does not exist\n`)
  if (opts.has('append') && !opts.has('groups'))
    return fail(2, 'usermod: -a flag is ONLY allowed with the -G flag\n')
  const groups = opts.has('groups') ? (opts.get('groups') as string).split(',').filter(Boolean) : null
  const missing = groups?.find((g) => !acc.group(g))
  if (missing) return fail(6, `usermod: group '${missing}' does not exist\n`)
  if (groups) {
    const append = opts.has('append')
    acc.saveGroups(
      acc.groups().map((g) => {
        const members = append || groups.includes(g.name) ? g.members : g.members.filter((m) => m !== name)
        return groups.includes(g.name) && !members.includes(name)
          ? { ...g, members: [...members, name] }
          : { ...g, members }
      }),
    )
  }
  if (opts.has('shell') || opts.has('comment')) {
    acc.savePasswd(
      acc
        .passwd()
        .map((u) =>
          u.name === name
            ? { ...u, shell: opts.get('shell') ?? u.shell, gecos: opts.get('comment') ?? u.gecos }
            : u,
        ),
    )
  }
  if (opts.has('lock') || opts.has('unlock')) {
    editShadow(ctx, name, (f) => {
      const pw = (f[1] ?? '').replace(/^!/, '')
      f[1] = opts.has('lock') ? `!${pw}` : pw
    })
  }
  return ok()
}

/** The fake's crypt(3): a yescrypt-looking string whose "salt" is always `fake`. */
export const fakeCrypt = (password: string) =>
  `$y$fake$${createHash('sha256').update(password).digest('hex')}`

/**
 * `perl -e SCRIPT` for exactly the one script the tool runs (steps/configured-password.ts): is
 * stdin's first line the password of the hash on its second line, by the fake's crypt.
 */
export const perl: Handler = (ctx, args) => {
  if (args[0] !== '-e' || !args[1]?.includes('crypt($p, $h) eq $h'))
    throw new Unsupported(`perl ${args.join(' ')}`)
  const [password = '', hash = ''] = (ctx.stdin ?? '').split('\n')
  return fakeCrypt(password) === hash ? ok() : fail(1, '')
}

export const chpasswd: Handler = (ctx, args) => {
  const encrypted = args[0] === '--encrypted' || args[0] === '-e'
  if (args.length > (encrypted ? 1 : 0)) throw new Unsupported(`chpasswd ${args.join(' ')}`)
  const lines = (ctx.stdin ?? '').split('\n').filter((l) => l.trim() !== '')
  for (const [i, line] of lines.entries()) {
    const sep = line.indexOf(':')
    const name = line.slice(0, sep)
    if (sep < 1 || !ctx.accounts.user(name))
      return fail(1, `chpasswd: line ${i + 1}: user '${name}' does not exist\n`)
    // Only a hash is kept, as on the real system: the plaintext never lands anywhere.
    const hash = encrypted ? line.slice(sep + 1) : fakeCrypt(line.slice(sep + 1))
    editShadow(ctx, name, (f) => {
      f[1] = hash
      f[2] = String(FIXED_DAY)
    })
  }
  return ok()
}

export const chage: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('chage', args, {
    lastday: ['d', true],
    maxdays: ['M', true],
    list: ['l', false],
  })
  const [name] = rest
  if (!name) throw new Unsupported('chage needs a user name')
  if (!ctx.accounts.user(name)) return fail(1, `chage: user '${name}' does not exist in /etc/passwd\n`)
  if (opts.has('list')) {
    const f = ctx.accounts.shadow().find((r) => r[0] === name) ?? []
    const last = f[2] === '0' ? 'password must be changed' : day(Number(f[2]))
    return ok(
      `Last password change\t\t\t\t\t: ${last}\nPassword expires\t\t\t\t\t: never\n` +
        `Account expires\t\t\t\t\t\t: never\nMaximum number of days between password change\t\t: ${f[4] ?? ''}\n`,
    )
  }
  editShadow(ctx, name, (f) => {
    if (opts.has('lastday')) f[2] = opts.get('lastday') as string
    if (opts.has('maxdays')) f[4] = opts.get('maxdays') as string
  })
  return ok()
}

function editShadow(ctx: Ctx, name: string, edit: (fields: string[]) => void): void {
  const rows = ctx.accounts.shadow()
  const row = rows.find((f) => f[0] === name)
  if (row) edit(row)
  ctx.accounts.saveShadow(rows)
}

function day(days: number): string {
  const d = new Date(days * 86_400_000)
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })
  return `${month} ${String(d.getUTCDate()).padStart(2, '0')}, ${d.getUTCFullYear()}`
}
