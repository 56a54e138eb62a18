// apt-get and apt-cache over the fake package universe: dependency resolution in install order,
// simulation (-s), purge with reverse dependencies, autoremove, and local .deb files (test fixtures
// whose content is the package definition as JSON).
import { aptUpdate, candidate } from './apt-sources.js'
import { purge, unpack } from './dpkg.js'
import { type Ctx, fail, type Handler, type Out, ok, type PackageDef, Unsupported } from './types.js'

interface Flags {
  recommends: boolean
  simulate: boolean
  purge: boolean
}

const HEADER = 'Reading package lists...\nBuilding dependency tree...\nReading state information...\n'

export const aptGet: Handler = (ctx, args) => {
  const flags: Flags = { recommends: true, simulate: false, purge: false }
  const words: string[] = []
  let sourceList: string | null = null
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '-o') {
      const m = /^Dir::Etc::SourceList=(.+)$/i.exec(args[++i] ?? '')
      if (m) sourceList = m[1] as string
    } else if (a === '--error-on=any' || a === '--allow-downgrades') continue
    else if (/^(-o.+|-y|--yes|--assume-yes|-q+|--quiet)$/.test(a)) continue
    else if (a === '--no-install-recommends') flags.recommends = false
    else if (/^(-s|--simulate|--dry-run|--just-print)$/.test(a)) flags.simulate = true
    else if (a === '--purge') flags.purge = true
    else if (a.startsWith('-')) throw new Unsupported(`apt-get option ${a}`)
    else words.push(a)
  }
  const [command, ...names] = words
  switch (command) {
    case 'update':
      return aptUpdate(ctx, sourceList)
    case 'install':
      return install(ctx, names, flags)
    case 'purge':
      return remove(ctx, names, flags.simulate)
    case 'remove':
      if (flags.purge) return remove(ctx, names, flags.simulate)
      break
    case 'upgrade':
    case 'dist-upgrade':
    case 'full-upgrade':
      return upgrade(ctx, flags.simulate)
    case 'autoremove':
      return autoremove(ctx, flags.simulate)
    case 'clean':
      for (const p of ctx.fs.below('/var/cache/apt/archives')) if (p.endsWith('.deb')) ctx.fs.remove(p)
      return ok()
  }
  throw new Unsupported(`apt-get ${args.join(' ')}`)
}

function lookup(ctx: Ctx, spec: string): { name: string; def: PackageDef } | string {
  if (spec.includes('/')) {
    const path = spec.startsWith('/') ? spec : `/${spec.replace(/^\.\//, '')}`
    const text = ctx.fs.text(path)
    if (text === null) return `E: Unsupported file ${spec} given on commandline`
    try {
      const { name, ...def } = JSON.parse(text) as PackageDef & { name: string }
      return { name, def }
    } catch {
      return `E: Invalid archive signature\nE: Could not read meta data from ${spec}`
    }
  }
  const [name, version] = spec.split('=') as [string, string | undefined]
  const def = ctx.state.installed.get(name)?.def ?? candidate(ctx.state, ctx.fs, name)
  if (!def) return `E: Unable to locate package ${name}`
  if (version && version !== def.version) return `E: Version '${version}' for '${name}' was not found`
  return { name, def }
}

function install(ctx: Ctx, specs: string[], flags: Flags): Out {
  const errors: string[] = []
  const wanted: { name: string; def: PackageDef }[] = []
  for (const spec of specs) {
    const found = lookup(ctx, spec)
    if (typeof found === 'string') errors.push(found)
    else wanted.push(found)
  }
  if (errors.length > 0) return fail(100, `${errors.join('\n')}\n`, HEADER)
  const plan: { name: string; def: PackageDef; auto: boolean }[] = []
  const planned = new Set<string>()
  const visit = (name: string, def: PackageDef, auto: boolean): string | null => {
    if (ctx.state.installed.has(name) || planned.has(name)) return null
    planned.add(name)
    for (const dep of [...(def.depends ?? []), ...(flags.recommends ? (def.recommends ?? []) : [])]) {
      const alts = dep.split('|').map((a) => a.trim())
      if (alts.some((a) => ctx.state.installed.has(a) || planned.has(a))) continue
      const alt = alts.find((a) => candidate(ctx.state, ctx.fs, a))
      if (!alt) {
        if (def.recommends?.includes(dep)) continue
        return `E: Unable to correct problems, you have held broken packages.\n ${name} : Depends: ${dep} but it is not installable`
      }
      const problem = visit(alt, candidate(ctx.state, ctx.fs, alt) as PackageDef, true)
      if (problem) return problem
    }
    plan.push({ name, def, auto })
    return null
  }
  for (const w of wanted) {
    const problem = visit(w.name, w.def, false)
    if (problem) return fail(100, `${problem}\n`, HEADER)
  }
  if (flags.simulate) {
    const tag = (p: { def: PackageDef }) =>
      `${p.def.version} ${p.def.source ?? 'Debian:13'} [${ctx.state.options.arch}]`
    const inst = plan.map((p) => `Inst ${p.name} (${tag(p)})\n`)
    const conf = plan.map((p) => `Conf ${p.name} (${tag(p)})\n`)
    return ok(HEADER + inst.join('') + conf.join(''))
  }
  let out = HEADER
  for (const w of wanted) {
    const rec = ctx.state.installed.get(w.name)
    if (!rec) continue
    out += `${w.name} is already the newest version (${rec.version}).\n`
    if (rec.auto) {
      rec.auto = false
      out += `${w.name} set to manually installed.\n`
    }
  }
  if (plan.length > 0)
    out += `The following NEW packages will be installed:\n  ${plan.map((p) => p.name).join(' ')}\n`
  out += `0 upgraded, ${plan.length} newly installed, 0 to remove and 0 not upgraded.\n`
  for (const p of plan) out += `${unpack(ctx, p.name, p.def, p.auto).join('\n')}\n`
  return ok(out)
}

/** The installed packages that depend on `name` and would break without it. */
function dependents(ctx: Ctx, gone: Set<string>): string[] {
  return [...ctx.state.installed.entries()]
    .filter(([n]) => !gone.has(n))
    .filter(([, r]) =>
      (r.def.depends ?? []).some((dep) =>
        dep.split('|').every((a) => !ctx.state.installed.has(a.trim()) || gone.has(a.trim())),
      ),
    )
    .map(([n]) => n)
}

function remove(ctx: Ctx, names: string[], simulate: boolean): Out {
  const unknown = names.filter((n) => !ctx.state.installed.has(n) && !candidate(ctx.state, ctx.fs, n))
  if (unknown.length > 0)
    return fail(100, unknown.map((n) => `E: Unable to locate package ${n}\n`).join(''), HEADER)
  let out = HEADER
  const gone = new Set<string>()
  for (const n of names) {
    if (ctx.state.installed.has(n)) gone.add(n)
    else out += `Package '${n}' is not installed, so not removed\n`
  }
  for (let more = dependents(ctx, gone); more.length > 0; more = dependents(ctx, gone)) {
    for (const n of more) gone.add(n)
  }
  const essential = [...gone].filter((n) => ctx.state.installed.get(n)?.def.essential)
  if (essential.length > 0) {
    return fail(
      100,
      `WARNING: The following essential packages will be removed.\n  ${essential.join(' ')}\n` +
        'E: Essential packages were removed and -y was used without --allow-remove-essential.\n',
      out,
    )
  }
  // Dependents first, as dpkg removes them.
  const order = [...gone].reverse()
  if (simulate)
    return ok(out + order.map((n) => `Purg ${n} [${ctx.state.installed.get(n)?.version}]\n`).join(''))
  out += `0 upgraded, 0 newly installed, ${gone.size} to remove and 0 not upgraded.\n`
  for (const n of order) out += `${purge(ctx, n).join('\n')}\n`
  return ok(out)
}

/** A newer universe entry (set by a test) is an upgrade; files stay as they are. */
function upgrade(ctx: Ctx, simulate: boolean): Out {
  let out = HEADER
  let count = 0
  for (const [name, rec] of ctx.state.installed) {
    const def = candidate(ctx.state, ctx.fs, name)
    if (!def || def.version === rec.version) continue
    count++
    if (simulate) {
      out += `Inst ${name} [${rec.version}] (${def.version} Debian:13 [${ctx.state.options.arch}])\n`
      continue
    }
    out += `Setting up ${name} (${def.version}) ...\n`
    rec.version = def.version
    rec.def = def
  }
  return ok(`${out}${count} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n`)
}

function autoremove(ctx: Ctx, simulate: boolean): Out {
  const needed = new Set<string>()
  const keep = (name: string) => {
    const rec = ctx.state.installed.get(name)
    if (!rec || needed.has(name)) return
    needed.add(name)
    for (const dep of [...(rec.def.depends ?? []), ...(rec.def.recommends ?? [])]) {
      for (const alt of dep.split('|')) keep(alt.trim())
    }
  }
  for (const [name, rec] of ctx.state.installed) if (!rec.auto) keep(name)
  const unneeded = [...ctx.state.installed.keys()].filter((n) => !needed.has(n))
  if (unneeded.length === 0)
    return ok(`${HEADER}0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n`)
  return remove(ctx, unneeded, simulate)
}
