// tar and mv as the tarball step runs them. A fake tarball is JSON, like the fake's .debs:
//   { "top": "Antigravity IDE", "files": { "antigravity-ide": "...", ... }, "executables": [...] }
// `tar --extract --file A --directory D --strip-components=1 --no-same-owner` writes each file
// under D without the top directory; anything that is not such JSON is refused like GNU tar
// refuses a file that is not an archive. `mv --no-target-directory -- SRC DEST` renames a tree.
import { type Ctx, fail, type Handler, ok, Unsupported } from './types.js'

export interface FakeTarball {
  top: string
  files: Record<string, string>
  executables?: string[]
}

export const tar: Handler = (ctx: Ctx, args) => {
  if (args[0] === '--create') return create(ctx, args)
  const opts = new Map<string, string>()
  const flags = new Set<string>()
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--file' || a === '--directory') opts.set(a, args[++i] ?? '')
    else if (a === '--extract' || a === '--no-same-owner' || a === '--strip-components=1') flags.add(a)
    else throw new Unsupported(`tar ${args.join(' ')}`)
  }
  const file = opts.get('--file')
  const dir = opts.get('--directory')
  if (!flags.has('--extract') || !flags.has('--strip-components=1') || !file || !dir)
    throw new Unsupported(`tar ${args.join(' ')}`)
  const data = ctx.fs.text(file)
  if (data === null) return fail(2, `tar: ${file}: Cannot open: No such file or directory\n`)
  let archive: FakeTarball
  try {
    archive = JSON.parse(data) as FakeTarball
    if (typeof archive.top !== 'string' || typeof archive.files !== 'object') throw new Error('shape')
  } catch {
    return fail(
      2,
      'tar: This does not look like a tar archive\ntar: Exiting with failure status due to previous errors\n',
    )
  }
  if (!ctx.fs.get(dir)) return fail(2, `tar: ${dir}: Cannot open: No such file or directory\n`)
  for (const [rel, content] of Object.entries(archive.files)) {
    const path = `${dir}/${rel}`
    ctx.fs.mkdirp(path.slice(0, path.lastIndexOf('/')), { mode: 0o755, uid: 0, gid: 0 })
    const mode = archive.executables?.includes(rel) ? 0o755 : 0o644
    ctx.fs.write(path, content, { mode, uid: 0, gid: 0 })
  }
  return ok()
}

export const mv: Handler = (ctx: Ctx, args) => {
  const [flag, dashes, src, dest, ...extra] = args
  if (flag !== '--no-target-directory' || dashes !== '--' || !src || !dest || extra.length > 0)
    throw new Unsupported(`mv ${args.join(' ')}`)
  if (!ctx.fs.lget(src)) return fail(1, `mv: cannot stat '${src}': No such file or directory\n`)
  if (ctx.fs.lget(dest)) return fail(1, `mv: cannot overwrite '${dest}': Directory not empty\n`)
  for (const [path, node] of [...ctx.fs.nodes.entries()]) {
    if (path !== src && !path.startsWith(`${src}/`)) continue
    ctx.fs.nodes.delete(path)
    ctx.fs.nodes.set(dest + path.slice(src.length), node)
  }
  return ok()
}

/**
 * `tar --create --gzip --file A --directory D -- NAME` (a clone kept by rollback --force): the
 * tree D/NAME as the same JSON extract reads, owned by whoever ran tar.
 */
function create(ctx: Ctx, args: string[]) {
  const [, gzip, f, file, d, dir, dashes, name, ...extra] = args
  if (
    gzip !== '--gzip' ||
    f !== '--file' ||
    d !== '--directory' ||
    dashes !== '--' ||
    !file ||
    !dir ||
    !name ||
    extra.length
  )
    throw new Unsupported(`tar ${args.join(' ')}`)
  const top = `${dir}/${name}`
  if (!ctx.fs.lget(top)) return fail(2, `tar: ${name}: Cannot stat: No such file or directory\n`)
  const files: Record<string, string> = {}
  for (const path of ctx.fs.below(top)) {
    const n = ctx.fs.lget(path)
    if (n?.kind === 'file') files[path.slice(top.length + 1)] = n.data.toString('utf8')
  }
  const user = ctx.accounts.user(ctx.user)
  ctx.fs.write(file, JSON.stringify({ top: name, files }), {
    mode: 0o644,
    uid: user?.uid ?? 0,
    gid: user?.gid ?? 0,
  })
  return ok()
}
