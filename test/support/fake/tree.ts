// find and ln as the provisioner runs them: `find ROOT -xdev -printf FORMAT` lists a tree (the
// /etc record of a package transaction), `ln -s -- TARGET PATH` puts a symlink back on rollback.
import type { FakeNode } from './fs.js'
import { type Ctx, fail, type Handler, ok, Unsupported } from './types.js'

/** What find's -printf directives say of one node (%y type, %m mode, %U/%G owner, %l target, %p path). */
function directive(path: string, n: FakeNode, d: string): string {
  const values: Record<string, string> = {
    y: n.kind === 'dir' ? 'd' : n.kind === 'symlink' ? 'l' : 'f',
    m: n.mode.toString(8),
    U: String(n.uid),
    G: String(n.gid),
    l: n.kind === 'symlink' ? (n.target ?? '') : '',
    p: path,
  }
  const v = values[d]
  if (v === undefined) throw new Unsupported(`find -printf %${d}`)
  return v
}

export const find: Handler = (ctx, args) => {
  const [root, xdev, printf, format, ...extra] = args
  if (!root || xdev !== '-xdev' || printf !== '-printf' || !format || extra.length > 0)
    throw new Unsupported(`find ${args.join(' ')}`)
  if (!ctx.fs.lget(root)) return fail(1, `find: '${root}': No such file or directory\n`)
  let stdout = ''
  // find walks the tree depth first, a directory before its contents.
  for (const path of [root, ...ctx.fs.below(ctx.fs.resolve(root, true))]) {
    const n = ctx.fs.lget(path) as FakeNode
    stdout += format.replace(/%(.)|\\0/g, (_m, d: string | undefined) => (d ? directive(path, n, d) : '\0'))
  }
  return ok(stdout)
}

export const ln: Handler = (ctx: Ctx, args) => {
  const operands = args[1] === '--' ? args.slice(2) : args.slice(1)
  const [target, path] = operands
  if (args[0] !== '-s' || !target || !path || operands.length !== 2)
    throw new Unsupported(`ln ${args.join(' ')}`)
  if (ctx.fs.lget(path)) return fail(1, `ln: failed to create symbolic link '${path}': File exists\n`)
  ctx.fs.symlink(path, target)
  return ok()
}
