// systemctl over the fake unit table, and `ss` showing what the running services listen on.
// Without systemd as PID 1 (a chroot), enable/disable still work but nothing can start or stop.
import { effectiveSshd } from './sshd.js'
import { type Ctx, fail, type Handler, type Out, ok, Unsupported } from './types.js'

const NOT_BOOTED =
  "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n"
const ALIASES: Record<string, string> = { 'sshd.service': 'ssh.service' }
const FLAGS = new Set([
  '--now',
  '--quiet',
  '-q',
  '--no-pager',
  '--no-block',
  '--system',
  '--no-legend',
  '--plain',
])

const unitName = (u: string) => {
  const name = /\.(service|socket|timer|target|path|mount)$/.test(u) ? u : `${u}.service`
  return ALIASES[name] ?? name
}

export const systemctl: Handler = (ctx, args) => {
  const flags = new Set(args.filter((a) => a.startsWith('-')))
  for (const f of flags) if (!FLAGS.has(f)) throw new Unsupported(`systemctl option ${f}`)
  const [command, ...raw] = args.filter((a) => !a.startsWith('-'))
  const units = raw.map(unitName)
  const booted = ctx.state.options.systemd
  const services = ctx.state.services
  for (const u of units) addInstance(ctx, u)
  switch (command) {
    case 'daemon-reload':
      return booted ? ok() : fail(1, NOT_BOOTED)
    case 'is-system-running':
      return booted ? ok('running\n') : fail(1, '', 'offline\n')
    case 'is-enabled': {
      const states = units.map((u) => {
        const s = services.get(u)
        return s ? (s.enabled ? 'enabled' : 'disabled') : 'not-found'
      })
      return { exitCode: states.every((s) => s === 'enabled') ? 0 : 1, stdout: lines(states), stderr: '' }
    }
    case 'is-active': {
      if (!booted) return fail(1, NOT_BOOTED)
      const states = units.map((u) => (services.get(u)?.active ? 'active' : 'inactive'))
      return { exitCode: states.every((s) => s === 'active') ? 0 : 3, stdout: lines(states), stderr: '' }
    }
    case 'enable':
    case 'disable': {
      const missing = units.find((u) => !services.has(u))
      if (missing) return fail(1, `Failed to ${command} unit: Unit file ${missing} does not exist.\n`)
      let stderr = ''
      for (const u of units) {
        const s = services.get(u)
        if (!s || s.enabled === (command === 'enable')) continue
        s.enabled = command === 'enable'
        const link = `/etc/systemd/system/multi-user.target.wants/${u}`
        stderr += s.enabled
          ? `Created symlink '${link}' → '/usr/lib/systemd/system/${u}'.\n`
          : `Removed '${link}'.\n`
      }
      if (!flags.has('--now')) return ok('', stderr)
      const then = change(ctx, command === 'enable' ? 'start' : 'stop', units)
      return { ...then, stderr: stderr + then.stderr }
    }
    case 'start':
    case 'stop':
    case 'restart':
    case 'try-restart':
    case 'reload':
    case 'reload-or-restart':
      return change(ctx, command, units)
  }
  throw new Unsupported(`systemctl ${args.join(' ')}`)
}

/**
 * An instance of an installed template (`code-server@alice.service` of `code-server@.service`)
 * is a unit systemd knows, disabled and inactive until someone enables or starts it.
 */
function addInstance(ctx: Ctx, unit: string): void {
  const m = /^([^@]+@)[^@]+\.service$/.exec(unit)
  if (!m || ctx.state.services.has(unit)) return
  const template = `${m[1]}.service`
  for (const p of ctx.state.installed.values())
    if (p.def.templates?.includes(template)) ctx.state.services.set(unit, { enabled: false, active: false })
}

function change(ctx: Ctx, command: string, units: string[]): Out {
  if (!ctx.state.options.systemd) return fail(1, NOT_BOOTED)
  for (const u of units) {
    const s = ctx.state.services.get(u)
    // A stopped transient unit is unloaded: systemd forgets it (is-active then says inactive).
    if (s?.transient && command === 'stop') {
      ctx.state.services.delete(u)
      continue
    }
    if (!s) return fail(5, `Failed to ${command.replace(/-.*/, '')} ${u}: Unit ${u} not found.\n`)
    if (command === 'reload' && !s.active) return fail(1, `Failed to reload ${u}: Unit ${u} is not active.\n`)
    if (command === 'stop') s.active = false
    else if (command !== 'try-restart' && command !== 'reload') s.active = true
  }
  return ok()
}

const lines = (items: string[]) => items.map((i) => `${i}\n`).join('')

export const ss: Handler = (ctx, args) => {
  const letters = args.map((a) => (/^-[Hltnp46]+$/.test(a) ? a.slice(1) : null))
  if (letters.some((l) => l === null) || !letters.join('').includes('l'))
    throw new Unsupported(`ss ${args.join(' ')}`)
  const header = letters.join('').includes('H')
    ? ''
    : 'State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n'
  const rows: string[] = []
  const row = (addr: string, prog: string, pid: number) =>
    rows.push(
      `LISTEN 0      128    ${addr.padEnd(20)} ${addr.startsWith('[') ? '[::]:*' : '0.0.0.0:*'}    users:(("${prog}",pid=${pid},fd=3))`,
    )
  if (ctx.state.services.get('ssh.service')?.active) {
    const eff = effectiveSshd(ctx.fs)
    for (const port of typeof eff === 'string' ? [] : (eff.get('port') ?? ['22'])) {
      row(`0.0.0.0:${port}`, 'sshd', 612)
      row(`[::]:${port}`, 'sshd', 612)
    }
  }
  if (ctx.state.services.get('xrdp.service')?.active) {
    const addr = xrdpListen(ctx.fs.text('/etc/xrdp/xrdp.ini') ?? '')
    if (addr) row(addr, 'xrdp', 771)
  }
  // code-server (as `node`, its real process name) where its user's config binds it.
  for (const [unit, s] of ctx.state.services) {
    const user = /^code-server@(.+)\.service$/.exec(unit)?.[1]
    const home = user && s.active ? ctx.accounts.user(user)?.home : undefined
    const config = home ? (ctx.fs.text(`${home}/.config/code-server/config.yaml`) ?? '') : ''
    const bind = /^bind-addr:\s*(\S+)\s*$/m.exec(config)?.[1] ?? (home ? '127.0.0.1:8080' : null)
    if (bind) row(bind, 'node', 900 + rows.length)
  }
  return ok(header + lines(rows))
}

/** Where xrdp listens according to [Globals] port= (a number, or tcp://host:port). */
export function xrdpListen(ini: string): string | null {
  const globals = /^\[Globals\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(ini)?.[1] ?? ''
  const port = /^port\s*=\s*(\S+)\s*$/m.exec(globals)?.[1] ?? '3389'
  if (/^\d+$/.test(port)) return `*:${port}`
  const m = /^tcp6?:\/\/(.*):(\d+)$/.exec(port)
  if (!m) return null
  const host = m[1] === '' ? '*' : m[1] === '.' ? '127.0.0.1' : (m[1] as string)
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${m[2]}`
}

const RUN_FLAGS = new Set(['--quiet', '--collect'])

/**
 * `systemd-run --unit=U --on-active=N [--timer-property=…] [--description=…] [--setenv=…] -- argv`:
 * a transient timer U.timer, active until it elapses (FakeSystem.elapse) or is stopped. Only the
 * timer form: detached runs' services are started through a Supervisor, which tests replace.
 */
export const systemdRun: Handler = (ctx, args) => {
  if (!ctx.state.options.systemd) return fail(1, NOT_BOOTED)
  const end = args.indexOf('--')
  if (end < 0 || end === args.length - 1) throw new Unsupported(`systemd-run ${args.join(' ')}`)
  let unit: string | null = null
  let onActive: string | null = null
  for (const a of args.slice(0, end)) {
    const [key, value] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, '']
    if (key === '--unit') unit = value
    else if (key === '--on-active') onActive = value
    else if (!RUN_FLAGS.has(key) && !['--timer-property', '--description', '--setenv'].includes(key))
      throw new Unsupported(`systemd-run option ${a}`)
  }
  if (!unit || !onActive || !/^\d+$/.test(onActive)) throw new Unsupported(`systemd-run ${args.join(' ')}`)
  const timer = `${unit}.timer`
  if (ctx.state.services.has(timer))
    return fail(
      1,
      `Failed to start transient timer unit: Unit ${timer} was already loaded or has a fragment file.\n`,
    )
  // systemd passes `$$` on as `$` (src/util/systemd.ts's systemdLiteral).
  const argv = args.slice(end + 1).map((a) => a.replaceAll('$$', '$'))
  ctx.state.services.set(timer, { enabled: false, active: true, transient: argv })
  return ok()
}
