// code-server as facts: the config file each developer's instance reads
// (~/.config/code-server/config.yaml, as the vendor's own code reads it), the port each developer
// has or gets from the configured range, the password filed for them, and whether the instance
// answers. Every function only reads, so plan, preflight, the steps and verify agree on one answer.
import type { System } from '../system/port.js'
import { passwdEntry } from './accounts.js'
import { readText } from './files.js'
import { tcpListeners } from './machine.js'
import { blockContent } from './marked-block.js'
import { describeHolder, portHolders } from './port-holder.js'
import { isActive, unitState } from './systemd.js'
import type { AssertResult } from './verdict.js'

/** Where code-server looks for its config, relative to the home ($XDG_CONFIG_HOME unset). */
export const CONFIG_DIR = '.config/code-server'
export const CONFIG_FILE = `${CONFIG_DIR}/config.yaml`
/** The certificate and key, copied where the developer's instance can read them (it runs as them). */
export const TLS_CERT = `${CONFIG_DIR}/tls.crt`
export const TLS_KEY = `${CONFIG_DIR}/tls.key`
/** The unit the vendor's package ships as a template (User=%i). */
export const unitFor = (user: string): string => `code-server@${user}.service`

/**
 * The marker of a developer's block in the credentials file. Block markers are [a-z0-9-]; a name
 * may hold `_`, so every other character is written as -XX (its hex code), `-` included: one
 * name, one marker.
 */
export const credentialsMarker = (user: string): string =>
  `code-server-${user.replace(/[^a-z0-9]/g, (c) => `-${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`

export interface PortRange {
  lo: number
  hi: number
}

export const parseRange = (text: string): PortRange => {
  const [lo = 0, hi = 0] = text.split('-').map(Number)
  return { lo, hi }
}
const inRange = (port: number, r: PortRange) => port >= r.lo && port <= r.hi

/** The keys of a code-server config.yaml we read: `key: value` lines, quotes taken off. */
export function parseConfig(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^([a-z][a-z-]*):\s*(.*?)\s*$/.exec(line)
    if (m) out.set(m[1] as string, (m[2] as string).replace(/^(["'])(.*)\1$/, '$2'))
  }
  return out
}

/** The port of a `bind-addr` (host:port, [v6]:port), or null. */
export function bindPort(bindAddr: string | undefined): number | null {
  const m = /:(\d{1,5})$/.exec(bindAddr ?? '')
  const port = m ? Number(m[1]) : Number.NaN
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : null
}

/** host:port as code-server's bind-addr takes it (an IPv6 address in brackets). */
export const bindAddr = (address: string, port: number): string =>
  `${address.includes(':') ? `[${address}]` : address}:${port}`

/** The developer's home from passwd; null before the account exists (plan of a first run). */
async function homeOf(sys: System, user: string): Promise<string | null> {
  return (await passwdEntry(sys, user))?.home ?? null
}

/** The port the developer's existing config binds, or null (no config, no user yet). */
export async function configuredPort(sys: System, user: string): Promise<number | null> {
  const home = await homeOf(sys, user)
  if (!home) return null
  const text = await readText(sys, `${home}/${CONFIG_FILE}`)
  return text === null ? null : bindPort(parseConfig(text).get('bind-addr'))
}

export interface Allocation {
  ports: Map<string, number>
  /** Developers the range had no free port left for, in order. */
  missing: string[]
  /** What was taken and why, for the error that names the range. */
  taken: string[]
}

/**
 * Each developer's port: the one their config already binds when it lies in the range (a re-run
 * keeps it), else the first port of the range that no other developer has and nothing listens
 * on. One answer for all developers at once, in the configured order, so plan and run agree.
 */
export async function allocatePorts(
  sys: System,
  users: readonly string[],
  range: PortRange,
): Promise<Allocation> {
  const ports = new Map<string, number>()
  const used = new Set<number>()
  for (const user of users) {
    const p = await configuredPort(sys, user)
    if (p !== null && inRange(p, range) && !used.has(p)) {
      ports.set(user, p)
      used.add(p)
    }
  }
  const listening = new Map<number, string>()
  for (const l of await tcpListeners(sys)) if (inRange(l.port, range)) listening.set(l.port, l.process)
  const missing: string[] = []
  let next = range.lo
  for (const user of users) {
    if (ports.has(user)) continue
    while (next <= range.hi && (used.has(next) || listening.has(next))) next++
    if (next > range.hi) {
      missing.push(user)
      continue
    }
    ports.set(user, next)
    used.add(next)
  }
  const taken = [
    ...[...ports].map(([u, p]) => `${p} (${u})`),
    ...[...listening].filter(([p]) => ![...ports.values()].includes(p)).map(([p, proc]) => `${p} (${proc})`),
  ]
  return { ports, missing, taken }
}

/** Preflight: every developer gets a port, or the run stops before any change, naming the range. */
export async function portsAvailable(
  sys: System,
  users: readonly string[],
  rangeText: string,
): Promise<AssertResult> {
  const a = await allocatePorts(sys, users, parseRange(rangeText))
  if (a.missing.length === 0)
    return { ok: true, detail: [...a.ports].map(([u, p]) => `${u}: ${p}`).join(', ') }
  return {
    ok: false,
    detail: `no free port in codeServer.ports ${rangeText} for ${a.missing.join(', ')} (taken: ${a.taken.join(', ')})`,
    hint: 'Widen codeServer.ports, or stop what listens in the range, then run again',
  }
}

/** Its own key, so `password=` stays the RDP login's (scripts and people read the first one). */
const PASSWORD_KEY = 'code-server-password='

/** The password filed for the developer in the credentials file's block, or null. */
export async function filedPassword(sys: System, credentials: string, user: string): Promise<string | null> {
  const text = await readText(sys, credentials)
  const block = text === null ? null : blockContent(text, credentialsMarker(user))
  const line = block?.split('\n').find((l) => l.startsWith(PASSWORD_KEY))
  return line ? line.slice(PASSWORD_KEY.length) : null
}

/**
 * The developer's instance runs and answers: its unit is active, its port is held by it (by its
 * unit where ss names the process, else by code-server's `node`), and over plain HTTP its
 * /healthz answers (code-server serves it without a login). With TLS the port is only checked.
 */
export async function codeServerAnswers(
  sys: System,
  user: string,
  address: string,
  tls: boolean,
): Promise<AssertResult> {
  const unit = unitFor(user)
  const hint = `systemctl status ${unit}; journalctl -u ${unit}; vps-provision run --only workspaces`
  const port = await configuredPort(sys, user)
  if (port === null) return { ok: false, detail: `no code-server config with a port for ${user}`, hint }
  const state = await unitState(sys, unit)
  if (!isActive(state.active)) return { ok: false, detail: `${unit} is ${state.active}`, hint }
  const holders = await portHolders(sys, port)
  const ours = holders.some((h) => h.unit === unit || (h.unit === null && h.process === 'node'))
  if (!ours)
    return {
      ok: false,
      detail:
        holders.length === 0
          ? `${unit} is active but nothing listens on ${port}`
          : `port ${port} is held by ${holders.map(describeHolder).join(', ')}, not ${unit}`,
      hint,
    }
  if (tls) return { ok: true, detail: `${unit} listens on ${port} (HTTPS)` }
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address
  const url = `http://${bindAddr(host, port)}/healthz`
  const r = await sys.probe(url)
  if (r.status === 200) return { ok: true, detail: `${unit} listens on ${port}; ${url}: HTTP 200` }
  return {
    ok: false,
    detail: `${unit} listens on ${port}, but ${url}: ${r.error ?? `HTTP ${r.status}`}`,
    hint,
  }
}
