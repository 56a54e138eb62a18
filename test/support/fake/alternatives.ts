// update-alternatives: packages register providers on install and drop them on purge; the choice
// lives where dpkg keeps it (/var/lib/dpkg/alternatives/NAME, /etc/alternatives/NAME symlinks), so
// it is part of the snapshot.
import type { FakeFs } from './fs.js'
import { type Ctx, fail, type Handler, ok, Unsupported } from './types.js'

interface Alternative {
  mode: 'auto' | 'manual'
  link: string
  /** The manual choice, when mode is manual. */
  value: string
  providers: [string, number][]
}

const db = (name: string) => `/var/lib/dpkg/alternatives/${name}`

function load(fs: FakeFs, name: string): Alternative | null {
  const text = fs.text(db(name))
  if (text === null) return null
  const [mode, link, value, ...rest] = text.split('\n')
  const providers = rest.filter(Boolean).map((l) => {
    const [path, prio] = l.split(' ')
    return [path as string, Number(prio)] as [string, number]
  })
  return { mode: mode === 'manual' ? 'manual' : 'auto', link: link ?? '', value: value ?? '', providers }
}

const best = (a: Alternative) =>
  [...a.providers].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))[0]?.[0] ?? ''
const current = (a: Alternative) => (a.mode === 'manual' ? a.value : best(a))

function save(fs: FakeFs, name: string, a: Alternative): void {
  if (a.providers.length === 0) {
    for (const p of [db(name), `/etc/alternatives/${name}`, a.link]) if (fs.lget(p)) fs.remove(p)
    return
  }
  const lines = [
    a.mode,
    a.link,
    a.mode === 'manual' ? a.value : '',
    ...a.providers.map(([p, n]) => `${p} ${n}`),
  ]
  fs.write(db(name), `${lines.join('\n')}\n`, { mode: 0o644 })
  fs.symlink(`/etc/alternatives/${name}`, current(a))
  if (!fs.lget(a.link)) fs.symlink(a.link, `/etc/alternatives/${name}`)
}

export function registerAlternative(ctx: Ctx, name: string, path: string, priority: number): void {
  const a = load(ctx.fs, name) ?? { mode: 'auto', link: `/usr/bin/${name}`, value: '', providers: [] }
  a.providers = [...a.providers.filter(([p]) => p !== path), [path, priority]]
  save(ctx.fs, name, a)
}

export function unregisterAlternative(ctx: Ctx, name: string, path: string): void {
  const a = load(ctx.fs, name)
  if (!a) return
  a.providers = a.providers.filter(([p]) => p !== path)
  if (a.mode === 'manual' && a.value === path) a.mode = 'auto'
  save(ctx.fs, name, a)
}

export const updateAlternatives: Handler = (ctx, args) => {
  const [action, name, path, ...extra] = args
  if (!name || extra.length > 0) throw new Unsupported(`update-alternatives ${args.join(' ')}`)
  const a = load(ctx.fs, name)
  if (!a) return fail(2, `update-alternatives: error: no alternatives for ${name}\n`)
  switch (action) {
    case '--query': {
      const value = current(a)
      let out = `Name: ${name}\nLink: ${a.link}\nStatus: ${a.mode}\nBest: ${best(a)}\nValue: ${value}\n`
      for (const [p, n] of a.providers) out += `\nAlternative: ${p}\nPriority: ${n}\n`
      return ok(out)
    }
    case '--set':
      if (!path || !a.providers.some(([p]) => p === path)) {
        return fail(
          2,
          `update-alternatives: error: alternative ${path ?? ''} for ${name} not registered; not setting\n`,
        )
      }
      save(ctx.fs, name, { ...a, mode: 'manual', value: path })
      return ok(`update-alternatives: using ${path} to provide ${a.link} (${name}) in manual mode\n`)
    case '--auto':
      save(ctx.fs, name, { ...a, mode: 'auto', value: '' })
      return ok(`update-alternatives: using ${best(a)} to provide ${a.link} (${name}) in auto mode\n`)
  }
  throw new Unsupported(`update-alternatives ${args.join(' ')}`)
}
