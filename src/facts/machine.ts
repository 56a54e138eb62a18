// Read-only measurements of the machine for preflight and for the session's VPSInstance. Every value
// comes through the System port, so the same code runs against the fake Debian in tests.
import type { System } from '../system/port.js'

export async function osRelease(sys: System): Promise<Record<string, string> | null> {
  // os-release(5): /etc/os-release, and only when it is missing, /usr/lib/os-release.
  const data = (await sys.readFile('/etc/os-release')) ?? (await sys.readFile('/usr/lib/os-release'))
  if (!data) return null
  const fields: Record<string, string> = {}
  for (const line of data.toString('utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m?.[1]) fields[m[1]] = (m[2] ?? '').replace(/^(["'])(.*)\1$/, '$2')
  }
  return fields
}

/** MemTotal in MiB, from /proc/meminfo. */
export async function memTotalMiB(sys: System): Promise<number | null> {
  const text = (await sys.readFile('/proc/meminfo'))?.toString('utf8') ?? ''
  const m = /^MemTotal:\s+(\d+)\s+kB/m.exec(text)
  return m?.[1] ? Math.floor(Number(m[1]) / 1024) : null
}

export interface DiskSpace {
  mount: string
  sizeBytes: number
  availBytes: number
}

/** Size and free space of the filesystem holding `path` (df follows it to its mount). */
export async function diskSpace(sys: System, path: string): Promise<DiskSpace | null> {
  const r = await sys.exec(['df', '-B1', '--output=target,size,avail', path], { allowFailure: true })
  if (r.exitCode !== 0) return null
  const last = r.stdout.trim().split('\n').at(-1)?.trim().split(/\s+/) ?? []
  const [mount, size, avail] = last
  if (!mount || !size || !avail) return null
  return { mount, sizeBytes: Number(size), availBytes: Number(avail) }
}

export interface Listener {
  port: number
  address: string
  process: string
}

/**
 * TCP listeners from `ss`, with the owning process name where ss can tell. Without ss (no iproute2:
 * a minimal container or chroot) they come from /proc/net/tcp{,6}, which do not name the owner: a
 * missing tool must not read as "nothing listens".
 */
export async function tcpListeners(sys: System): Promise<Listener[]> {
  const r = await sys.exec(['ss', '-Hltnp'], { allowFailure: true })
  if (r.exitCode !== 0) return procNetListeners(sys)
  const out: Listener[] = []
  for (const line of r.stdout.split('\n')) {
    const cols = line.trim().split(/\s+/)
    const local = cols[3]
    if (!local) continue
    const cut = local.lastIndexOf(':')
    const port = Number(local.slice(cut + 1))
    if (!Number.isInteger(port)) continue
    const proc = /users:\(\("([^"]+)"/.exec(line)?.[1] ?? 'unknown process'
    out.push({ port, address: local.slice(0, cut), process: proc })
  }
  return out
}

export const UNKNOWN_PROCESS = 'unknown process'

async function procNetListeners(sys: System): Promise<Listener[]> {
  const out: Listener[] = []
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = (await sys.readFile(file))?.toString('utf8') ?? ''
    for (const line of text.split('\n').slice(1)) {
      // "  0: 0100007F:0CEA 00000000:0000 0A ...": local address:port in hex, state 0A is LISTEN.
      const [, local, , state] = line.trim().split(/\s+/)
      const [hex, port] = (local ?? '').split(':')
      if (state !== '0A' || !hex || !port) continue
      out.push({ port: Number.parseInt(port, 16), address: procNetAddress(hex), process: UNKNOWN_PROCESS })
    }
  }
  return out
}

/** /proc/net/tcp{,6} print addresses as 32-bit words in host (little-endian) byte order. */
function procNetAddress(hex: string): string {
  const bytes = (hex.match(/.{8}/g) ?? []).flatMap((w) => (w.match(/../g) ?? []).reverse())
  if (bytes.length === 4) return bytes.map((b) => Number.parseInt(b, 16)).join('.')
  const groups = (bytes.join('').match(/.{4}/g) ?? []).map((g) => g.replace(/^0{1,3}/, ''))
  return `[${groups.join(':')}]`
}

/** The URIs of Debian's own apt sources (deb822 and one-line), to check the mirror is reachable. */
export async function debianMirrors(sys: System): Promise<{ uri: string; suite: string }[]> {
  const found: { uri: string; suite: string }[] = []
  const deb822 = (await sys.readFile('/etc/apt/sources.list.d/debian.sources'))?.toString('utf8') ?? ''
  for (const stanza of deb822.split(/\n\s*\n/)) {
    const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1]
    const suite = /^Suites:\s*(\S+)/m.exec(stanza)?.[1]
    if (uri && suite && !/security/.test(uri)) found.push({ uri, suite })
  }
  const legacy = (await sys.readFile('/etc/apt/sources.list'))?.toString('utf8') ?? ''
  for (const line of legacy.split('\n')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim())
    if (m?.[1] && m[2] && !/security/.test(m[1])) found.push({ uri: m[1], suite: m[2] })
  }
  return found
}
