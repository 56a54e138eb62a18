// sysctl over /proc/sys files of the fake filesystem, so reading /proc/sys/... directly and running
// sysctl agree. Inside a container /proc/sys is read-only except net.*: writes fail like there.
import type { FakeFs } from './fs.js'
import { type Ctx, fail, type Handler, isContainer, type Out, ok, Unsupported } from './types.js'

const keyPath = (key: string) => `/proc/sys/${key.replace(/\./g, '/')}`

/** Kernel defaults of a small trixie VM (6.12). */
export const SYSCTL_DEFAULTS: Record<string, string> = {
  'fs.inotify.max_user_watches': '65536',
  'fs.inotify.max_user_instances': '128',
  'net.ipv4.ip_forward': '0',
  'vm.swappiness': '60',
}

export function writeSysctlDefaults(fs: FakeFs): void {
  for (const [key, value] of Object.entries(SYSCTL_DEFAULTS)) {
    const path = keyPath(key)
    fs.mkdirp(path.slice(0, path.lastIndexOf('/')), { mode: 0o555 })
    fs.write(path, `${value}\n`, { mode: 0o644 })
  }
}

export const sysctl: Handler = (ctx, args) => {
  const quiet = args.includes('-q') || args.includes('--quiet')
  const rest = args.filter((a) => a !== '-q' && a !== '--quiet')
  const [first, ...more] = rest
  if (first === '--system' && more.length === 0) {
    const dir = '/etc/sysctl.d'
    const files = ctx.fs
      .list(dir)
      .filter((n) => n.endsWith('.conf'))
      .map((n) => `${dir}/${n}`)
    if (ctx.fs.exists('/etc/sysctl.conf')) files.push('/etc/sysctl.conf')
    return apply(ctx, files, quiet)
  }
  if (first === '-p') return apply(ctx, [more[0] ?? '/etc/sysctl.conf'], quiet)
  if (first === '-w' && more.length > 0) {
    return set(
      ctx,
      more.map((a) => split(a)),
      quiet,
      '',
    )
  }
  const valueOnly = first === '-n'
  const keys = valueOnly ? more : rest
  if (keys.length === 0 || keys.some((k) => k.startsWith('-')))
    throw new Unsupported(`sysctl ${args.join(' ')}`)
  let stdout = ''
  for (const key of keys) {
    const v = ctx.fs.text(keyPath(key))?.trim()
    if (v === undefined)
      return fail(255, `sysctl: cannot stat ${keyPath(key)}: No such file or directory\n`, stdout)
    stdout += valueOnly ? `${v}\n` : `${key} = ${v}\n`
  }
  return ok(stdout)
}

function split(assignment: string): [string, string] {
  const i = assignment.indexOf('=')
  return [assignment.slice(0, i).trim(), assignment.slice(i + 1).trim()]
}

function apply(ctx: Ctx, files: string[], quiet: boolean): Out {
  let head = ''
  const pairs: [string, string][] = []
  for (const f of files) {
    const text = ctx.fs.text(f)
    if (text === null) return fail(255, `sysctl: cannot open "${f}": No such file or directory\n`)
    head += `* Applying ${f} ...\n`
    for (const line of text.split('\n').map((l) => l.trim())) {
      if (line === '' || line.startsWith('#') || line.startsWith(';') || !line.includes('=')) continue
      pairs.push(split(line))
    }
  }
  return set(ctx, pairs, quiet, head)
}

function set(ctx: Ctx, pairs: [string, string][], quiet: boolean, head: string): Out {
  let stdout = quiet ? '' : head
  let stderr = ''
  for (const [key, value] of pairs) {
    const path = keyPath(key)
    if (!ctx.fs.exists(path)) {
      stderr += `sysctl: cannot stat ${path}: No such file or directory\n`
    } else if (isContainer(ctx.state.options) && !key.startsWith('net.')) {
      stderr += `sysctl: permission denied on key "${key}"\n`
    } else {
      ctx.fs.write(path, `${value}\n`, { mode: 0o644 })
      if (!quiet) stdout += `${key} = ${value}\n`
    }
  }
  return { exitCode: stderr ? 255 : 0, stdout, stderr }
}
