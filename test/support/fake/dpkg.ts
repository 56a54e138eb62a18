// What dpkg does to the machine: unpack a package (files, directories, units, system users) and
// purge it again, plus the dpkg-query and debconf commands that read that state.
import { posix } from 'node:path'
import { registerAlternative, unregisterAlternative } from './alternatives.js'
import { parseArgs } from './args.js'
import {
  type Ctx,
  fail,
  type Handler,
  type InstalledPackage,
  ok,
  type PackageDef,
  Unsupported,
} from './types.js'

interface Shipped {
  path: string
  data: string
  mode: number
  group?: string
}

export function shipped(name: string, def: PackageDef): Shipped[] {
  const stub = `#!/bin/sh\n# fake executable from ${name} ${def.version}\n`
  const files = Object.entries(def.files ?? {}).map(([path, f]) => {
    const data = typeof f === 'string' ? f : f.data
    const mode = typeof f === 'string' ? undefined : f.mode
    const group = typeof f === 'string' ? undefined : f.group
    return { path, data, mode: mode ?? (data.startsWith('#!') ? 0o755 : 0o644), ...(group ? { group } : {}) }
  })
  return [...files, ...(def.bin ?? []).map((path) => ({ path, data: stub, mode: 0o755 }))]
}

/** Every directory a package's file list contains: its `dirs` and the parents of all it ships. */
function ownedDirs(name: string, def: PackageDef): Set<string> {
  const dirs = new Set<string>()
  for (const start of [...(def.dirs ?? []), ...shipped(name, def).map((s) => posix.dirname(s.path))]) {
    for (let d = start; d !== '/'; d = posix.dirname(d)) dirs.add(d)
  }
  return dirs
}

export function unpack(ctx: Ctx, name: string, def: PackageDef, auto: boolean): string[] {
  const acc = ctx.accounts
  const rec: InstalledPackage = { version: def.version, auto, def, createdUsers: [], createdGroups: [] }
  for (const g of def.sysgroups ?? []) {
    if (acc.group(g)) continue
    acc.addGroup(g, acc.freeGid(true))
    rec.createdGroups.push(g)
  }
  for (const u of def.sysusers ?? []) {
    if (acc.user(u)) continue
    if (!acc.group(u)) rec.createdGroups.push(u)
    acc.addSystemUser(u)
    rec.createdUsers.push(u)
  }
  for (const d of def.dirs ?? []) ctx.fs.mkdirp(d, { mode: 0o755 })
  for (const f of shipped(name, def)) {
    ctx.fs.mkdirp(posix.dirname(f.path), { mode: 0o755 })
    // --force-confold: a configuration file that is already there is kept as it is.
    if (f.path.startsWith('/etc/') && ctx.fs.lget(f.path)) continue
    const gid = f.group ? (acc.group(f.group)?.gid ?? 0) : 0
    ctx.fs.write(f.path, f.data, { mode: f.mode, uid: 0, gid })
  }
  // Debian's postinst enables and starts the units a package ships (in a chroot only enables).
  for (const unit of def.units ?? []) {
    if (!ctx.state.services.has(unit))
      ctx.state.services.set(unit, { enabled: true, active: ctx.state.options.systemd })
  }
  for (const [alt, [path, priority]] of Object.entries(def.alternatives ?? {}))
    registerAlternative(ctx, alt, path, priority)
  runPostinst(ctx, name, def)
  ctx.state.installed.set(name, rec)
  return [`Unpacking ${name} (${def.version}) ...`, `Setting up ${name} (${def.version}) ...`]
}

/** What the postinst writes besides: dpkg lists none of it, and it overwrites like `cat >` would. */
function runPostinst(ctx: Ctx, name: string, def: PackageDef): void {
  const p = def.postinst
  if (!p) return
  const no = p.unlessDebconf
  if (no && ctx.state.debconf.get(`${name} ${no.question}`)?.value === no.value) return
  for (const [path, f] of Object.entries(p.writes ?? {})) {
    ctx.fs.mkdirp(posix.dirname(path), { mode: 0o755 })
    const mode = typeof f === 'string' ? 0o644 : (f.mode ?? 0o644)
    ctx.fs.write(path, typeof f === 'string' ? f : f.data, { mode, uid: 0, gid: 0 })
  }
  for (const [path, target] of Object.entries(p.links ?? {})) {
    ctx.fs.mkdirp(posix.dirname(path), { mode: 0o755 })
    if (ctx.fs.lget(path)) ctx.fs.remove(path)
    ctx.fs.symlink(path, target)
  }
}

/** dpkg's file list of a package holds the path: a file it ships or a directory of one. */
function owns(name: string, def: PackageDef, path: string): boolean {
  return shipped(name, def).some((f) => f.path === path) || ownedDirs(name, def).has(path)
}

export function purge(ctx: Ctx, name: string): string[] {
  const rec = ctx.state.installed.get(name)
  if (!rec) return []
  const acc = ctx.accounts
  const out = [
    `Removing ${name} (${rec.version}) ...`,
    `Purging configuration files for ${name} (${rec.version}) ...`,
  ]
  for (const [alt, [path]] of Object.entries(rec.def.alternatives ?? {}))
    unregisterAlternative(ctx, alt, path)
  const empties = rec.def.purgeEmpties
  const script = empties ? ctx.fs.get(empties.whileExecutable) : undefined
  if (
    empties &&
    script?.kind === 'file' &&
    (script.mode & 0o111) !== 0 &&
    ctx.fs.get(empties.dir)?.kind === 'dir'
  )
    for (const entry of ctx.fs.list(empties.dir)) ctx.fs.removeTree(posix.join(empties.dir, entry))
  for (const f of shipped(name, rec.def)) if (ctx.fs.lget(f.path)?.kind !== 'dir') ctx.fs.remove(f.path)
  for (const p of rec.def.purgeRemoves ?? []) if (ctx.fs.lget(p)?.kind !== 'dir') ctx.fs.remove(p)
  for (const unit of rec.def.units ?? []) ctx.state.services.delete(unit)
  // The instances of its templates go with them (their wants links would dangle, units not load).
  for (const t of rec.def.templates ?? [])
    for (const u of [...ctx.state.services.keys()])
      if (u.startsWith(t.replace(/@\.service$/, '@'))) ctx.state.services.delete(u)
  for (const u of rec.createdUsers) if (acc.user(u)) acc.removeUser(u)
  for (const g of rec.def.purgeKeepsGroups ? [] : rec.createdGroups) {
    const gid = acc.group(g)?.gid
    if (gid !== undefined && !acc.passwd().some((p) => p.gid === gid)) acc.removeGroup(g)
  }
  for (const key of [...ctx.state.debconf.keys()])
    if (key.startsWith(`${name} `)) ctx.state.debconf.delete(key)
  ctx.state.installed.delete(name)
  // Like dpkg: a directory goes with the last package that has it in its file list, if empty.
  const kept = new Set<string>()
  for (const [other, r] of ctx.state.installed) for (const d of ownedDirs(other, r.def)) kept.add(d)
  const depth = (p: string) => p.split('/').length
  const dirs = [...ownedDirs(name, rec.def)].filter((d) => !kept.has(d)).sort((a, b) => depth(b) - depth(a))
  for (const d of dirs) {
    if (ctx.fs.lget(d)?.kind !== 'dir') continue
    if (ctx.fs.list(d).length === 0) ctx.fs.rmdir(d)
    else out.push(`dpkg: warning: while removing ${name}, directory '${d}' not empty so not removed`)
  }
  return out
}

export const dpkgQuery: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('dpkg-query', args, {
    show: ['W', false],
    showformat: ['f', true],
    status: ['s', false],
    search: ['S', false],
  })
  const installed = ctx.state.installed
  if (opts.has('search')) return search(ctx, rest)
  if (opts.has('status')) {
    const [name] = rest
    const rec = name ? installed.get(name) : undefined
    if (!name || !rec) {
      return fail(1, `dpkg-query: package '${name}' is not installed and no information is available\n`)
    }
    return ok(`Package: ${name}\nStatus: install ok installed\nVersion: ${rec.version}\n`)
  }
  if (!opts.has('show')) throw new Unsupported(`dpkg-query ${args.join(' ')}`)
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own default format
  const format = (opts.get('showformat') ?? '${binary:Package}\\t${Version}\\n')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n')
  const names = rest.length > 0 ? rest : [...installed.keys()].sort()
  let stdout = ''
  let stderr = ''
  for (const name of names) {
    const rec = installed.get(name)
    if (!rec && !ctx.state.universe.has(name)) {
      stderr += `dpkg-query: no packages found matching ${name}\n`
      continue
    }
    const fields: Record<string, string> = {
      Package: name,
      'binary:Package': name,
      Version: rec?.version ?? '',
      'db:Status-Abbrev': rec ? 'ii ' : 'un ',
      'db:Status-Status': rec ? 'installed' : 'not-installed',
      Status: rec ? 'install ok installed' : 'unknown ok not-installed',
    }
    stdout += format.replace(/\$\{([^}]+)\}/g, (_, key: string) => fields[key] ?? '')
  }
  return { exitCode: stderr ? 1 : 0, stdout, stderr }
}

/**
 * `dpkg-query -S PATH...`: "owner[, owner]: PATH" per path some package lists, and for each one
 * none does "no path found matching pattern" on stderr and exit 1, as dpkg 1.22 answers.
 */
function search(ctx: Ctx, patterns: string[]) {
  if (patterns.length === 0)
    return fail(2, 'dpkg-query: error: --search needs at least one file name pattern argument\n')
  let stdout = ''
  let stderr = ''
  for (const pattern of patterns) {
    if (/[*?[]/.test(pattern.replace(/\\./g, '')) || !pattern.startsWith('/'))
      throw new Unsupported(`dpkg-query -S ${pattern} (only literal absolute paths are emulated)`)
    const path = pattern.replace(/\\(.)/g, '$1')
    const owners = [...ctx.state.installed].filter(([n, r]) => owns(n, r.def, path)).map(([n]) => n)
    if (owners.length === 0) stderr += `dpkg-query: no path found matching pattern ${pattern}\n`
    else stdout += `${owners.sort().join(', ')}: ${path}\n`
  }
  return { exitCode: stderr ? 1 : 0, stdout, stderr }
}

export const dpkg: Handler = (ctx, args) => {
  if (args.length === 1 && args[0] === '--print-architecture') return ok(`${ctx.state.options.arch}\n`)
  // The fake's dpkg never stops halfway: nothing to audit.
  if (args.length === 1 && args[0] === '--audit') return ok('')
  throw new Unsupported(`dpkg ${args.join(' ')}`)
}

export const debconfSetSelections: Handler = (ctx, args) => {
  if (args.length > 0) throw new Unsupported(`debconf-set-selections ${args.join(' ')}`)
  const lines = (ctx.stdin ?? '').split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
  for (const [i, line] of lines.entries()) {
    const m = /^\s*(\S+)\s+(\S+)\s+(\S+)(?:\s(.*))?$/.exec(line)
    if (!m) return fail(1, `error: Cannot parse line ${i + 1}\n`)
    const [, pkg, question, type, value] = m as unknown as [
      string,
      string,
      string,
      string,
      string | undefined,
    ]
    ctx.state.debconf.set(`${pkg} ${question}`, { type, value: value ?? '' })
  }
  return ok()
}

export const debconfShow: Handler = (ctx, args) => {
  const [pkg] = args
  if (!pkg || args.length > 1) throw new Unsupported(`debconf-show ${args.join(' ')}`)
  const lines = [...ctx.state.debconf.entries()]
    .filter(([key]) => key.startsWith(`${pkg} `))
    .map(([key, v]) => `* ${key.slice(pkg.length + 1)}: ${v.value}\n`)
    .sort()
  return ok(lines.join(''))
}
