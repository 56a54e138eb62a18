// The coreutils the provisioner runs: true, false, test, stat -c, df, chmod, chown (-h too), rm.
import { createHash } from 'node:crypto'
import { type Ctx, type FakeNode, fail, type Handler, ok, Unsupported } from './types.js'

export const trueCmd: Handler = () => ok()
export const falseCmd: Handler = () => fail(1, '')

export const test: Handler = (ctx, args) => {
  const [flag, path, ...extra] = args
  if (!path || extra.length > 0) throw new Unsupported(`test ${args.join(' ')}`)
  const n = flag === '-L' || flag === '-h' ? ctx.fs.lget(path) : ctx.fs.get(path)
  const checks: Record<string, boolean> = {
    '-e': n !== undefined,
    '-f': n?.kind === 'file',
    '-d': n?.kind === 'dir',
    '-x': n !== undefined && (n.mode & 0o111) !== 0,
    '-s': n?.kind === 'file' && n.data.length > 0,
    '-L': n?.kind === 'symlink',
    '-h': n?.kind === 'symlink',
  }
  const result = checks[flag ?? '']
  if (result === undefined) throw new Unsupported(`test ${flag}`)
  return result ? ok() : fail(1, '')
}

/** A chroot is a fake without systemd that is not a container: its / is not PID 1's root. */
const inChroot = (ctx: Ctx) =>
  !ctx.state.options.systemd &&
  !['systemd-nspawn', 'lxc', 'docker', 'podman'].includes(ctx.state.options.virt)

function inode(ctx: Ctx, resolved: string): number {
  if (resolved === '/' && !inChroot(ctx)) return 2
  return Number.parseInt(createHash('sha256').update(resolved).digest('hex').slice(0, 6), 16) + 3
}

export const stat: Handler = (ctx, args) => {
  let follow = false
  let format: string | undefined
  const paths: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '-L' || a === '--dereference') follow = true
    else if (a === '-c') format = args[++i]
    else if (a.startsWith('--format=')) format = a.slice(9)
    else if (a.startsWith('-')) throw new Unsupported(`stat ${a}`)
    else paths.push(a)
  }
  if (format === undefined || paths.length === 0) throw new Unsupported(`stat ${args.join(' ')}`)
  let stdout = ''
  for (const p of paths) {
    // PID 1's root is the real / ; ours differs only in a chroot.
    const resolved = p === '/proc/1/root' ? '/' : ctx.fs.resolve(p, follow)
    const n = ctx.fs.nodes.get(resolved)
    if (!n) return fail(1, `stat: cannot statx '${p}': No such file or directory\n`, stdout)
    const ino = p === '/proc/1/root' ? 2 : inode(ctx, resolved)
    const owner = (id: number, db: 'passwd' | 'groups') =>
      (db === 'passwd'
        ? ctx.accounts.passwd().find((u) => u.uid === id)
        : ctx.accounts.groups().find((g) => g.gid === id)
      )?.name ?? String(id)
    const fields: Record<string, string> = {
      d: '2049',
      i: String(ino),
      a: n.mode.toString(8),
      u: String(n.uid),
      g: String(n.gid),
      U: owner(n.uid, 'passwd'),
      G: owner(n.gid, 'groups'),
      s: String(n.kind === 'file' ? n.data.length : n.kind === 'dir' ? 4096 : (n.target ?? '').length),
      n: p,
      F: n.kind === 'file' ? 'regular file' : n.kind === 'dir' ? 'directory' : 'symbolic link',
    }
    stdout += `${format.replace(/%([a-zA-Z%])/g, (m, c: string) => (c === '%' ? '%' : (fields[c] ?? m)))}\n`
  }
  return ok(stdout)
}

export const df: Handler = (ctx, args) => {
  let fields = ['source', 'size', 'used', 'avail', 'pcent', 'target']
  const paths: string[] = []
  for (const a of args) {
    if (a === '-B1' || a === '--block-size=1') continue
    if (a.startsWith('--output=')) fields = a.slice(9).split(',')
    else if (a.startsWith('-')) throw new Unsupported(`df ${a}`)
    else paths.push(a)
  }
  const { size, avail } = ctx.state.options.disk
  const header: Record<string, string> = {
    source: 'Filesystem',
    size: '1B-blocks',
    used: 'Used',
    avail: 'Avail',
    pcent: 'Use%',
    target: 'Mounted on',
  }
  const value: Record<string, string> = {
    source: '/dev/vda1',
    size: String(size),
    used: String(size - avail),
    avail: String(avail),
    pcent: `${Math.ceil(((size - avail) / size) * 100)}%`,
    target: '/',
  }
  if (fields.some((f) => !(f in value))) throw new Unsupported(`df --output=${fields.join(',')}`)
  let stdout = `${fields.map((f) => header[f]).join(' ')}\n`
  for (const p of paths.length > 0 ? paths : ['/']) {
    if (!ctx.fs.exists(p)) return fail(1, `df: ${p}: No such file or directory\n`, stdout)
    stdout += `${fields.map((f) => value[f]).join(' ')}\n`
  }
  return ok(stdout)
}

/** Options then operands; `-R` applies to whole trees. */
function operands(cmd: string, args: string[], allowed: string[]): { flags: Set<string>; rest: string[] } {
  const flags = new Set<string>()
  let i = 0
  for (; i < args.length && (args[i] as string).startsWith('-') && args[i] !== '-'; i++) {
    if (args[i] === '--') {
      i++
      break
    }
    // A one-filesystem fake: rm's --one-file-system changes nothing here.
    if (cmd === 'rm' && args[i] === '--one-file-system') continue
    for (const f of (args[i] as string).slice(1)) {
      if (!allowed.includes(f)) throw new Unsupported(`${cmd} -${f}`)
      flags.add(f)
    }
  }
  return { flags, rest: args.slice(i) }
}

function targets(
  ctx: Ctx,
  cmd: string,
  paths: string[],
  recursive: boolean,
  noDereference = false,
): FakeNode[] | string {
  const nodes: FakeNode[] = []
  for (const p of paths) {
    const resolved = ctx.fs.resolve(p, !noDereference)
    const n = ctx.fs.nodes.get(resolved)
    if (!n) return `${cmd}: cannot access '${p}': No such file or directory\n`
    nodes.push(n)
    if (recursive && n.kind === 'dir')
      for (const k of ctx.fs.below(resolved)) nodes.push(ctx.fs.nodes.get(k) as FakeNode)
  }
  return nodes
}

export const chmod: Handler = (ctx, args) => {
  const { flags, rest } = operands('chmod', args, ['R'])
  const [mode, ...paths] = rest
  if (!mode || !/^[0-7]{3,4}$/.test(mode) || paths.length === 0)
    throw new Unsupported(`chmod ${args.join(' ')}`)
  const nodes = targets(ctx, 'chmod', paths, flags.has('R'))
  if (typeof nodes === 'string') return fail(1, nodes)
  for (const n of nodes) if (n.kind !== 'symlink') n.mode = Number.parseInt(mode, 8)
  return ok()
}

export const chown: Handler = (ctx, args) => {
  const { flags, rest } = operands('chown', args, ['R', 'h'])
  const [spec, ...paths] = rest
  if (!spec || paths.length === 0) throw new Unsupported(`chown ${args.join(' ')}`)
  const [user, group] = spec.split(':') as [string, string | undefined]
  const uid =
    user === '' ? undefined : (ctx.accounts.user(user)?.uid ?? (/^\d+$/.test(user) ? Number(user) : null))
  const gid = !group
    ? undefined
    : (ctx.accounts.group(group)?.gid ?? (/^\d+$/.test(group) ? Number(group) : null))
  if (uid === null) return fail(1, `chown: invalid user: '${spec}'\n`)
  if (gid === null) return fail(1, `chown: invalid group: '${spec}'\n`)
  const nodes = targets(ctx, 'chown', paths, flags.has('R'), flags.has('h'))
  if (typeof nodes === 'string') return fail(1, nodes)
  for (const n of nodes) {
    if (uid !== undefined) n.uid = uid
    if (gid !== undefined) n.gid = gid
    // Like chown(2): changing the owner of a file clears its setuid and setgid bits.
    if (n.kind === 'file') n.mode &= ~0o6000
  }
  return ok()
}

export const rm: Handler = (ctx, args) => {
  const { flags, rest } = operands('rm', args, ['f', 'r', 'R'])
  const recursive = flags.has('r') || flags.has('R')
  for (const p of rest) {
    const n = ctx.fs.lget(p)
    if (!n) {
      if (flags.has('f')) continue
      return fail(1, `rm: cannot remove '${p}': No such file or directory\n`)
    }
    if (n.kind === 'dir' && !recursive) return fail(1, `rm: cannot remove '${p}': Is a directory\n`)
    if (n.kind === 'dir') ctx.fs.removeTree(p)
    else ctx.fs.remove(p)
  }
  return ok()
}
