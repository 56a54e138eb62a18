// Who holds a TCP port: the process name, its pid and its systemd unit, so a message about a taken
// RDP port says exactly what to stop ("node (pid 812, squatter.service)") instead of a bare name.
// Used by preflight (before any change) and again at the start of rdp-config (something may have
// started listening while the packages were installed).

import type { System } from '../system/port.js'
import { tcpListeners, UNKNOWN_PROCESS } from './machine.js'
import type { AssertResult } from './verdict.js'

export interface PortHolder {
  process: string
  pid: number | null
  /** The systemd unit whose cgroup holds the process (from /proc/PID/cgroup), or null. */
  unit: string | null
}

/** Every process listening on TCP `port`, from `ss -Hltnp` (one line per socket, users:((…)) each). */
export async function portHolders(sys: System, port: number): Promise<PortHolder[]> {
  const r = await sys.exec(['ss', '-Hltnp'], { allowFailure: true })
  if (r.exitCode !== 0) {
    // No ss: /proc/net/tcp says something listens, not who.
    const any = (await tcpListeners(sys)).some((l) => l.port === port)
    return any ? [{ process: UNKNOWN_PROCESS, pid: null, unit: null }] : []
  }
  const found = new Map<string, PortHolder>()
  for (const line of r.stdout.split('\n')) {
    const local = line.trim().split(/\s+/)[3] ?? ''
    if (Number(local.slice(local.lastIndexOf(':') + 1)) !== port) continue
    const users = [...line.matchAll(/\("([^"]+)",pid=(\d+)/g)]
    if (users.length === 0) found.set(UNKNOWN_PROCESS, { process: UNKNOWN_PROCESS, pid: null, unit: null })
    for (const [, name = '', pid = ''] of users) {
      found.set(pid, { process: name, pid: Number(pid), unit: await unitOf(sys, Number(pid)) })
    }
  }
  return [...found.values()]
}

/** The last path element of the unified cgroup line when it is a unit (x.service, x.scope). */
async function unitOf(sys: System, pid: number): Promise<string | null> {
  const text = (await sys.readFile(`/proc/${pid}/cgroup`))?.toString('utf8') ?? ''
  const line = text.split('\n').find((l) => l.startsWith('0::')) ?? ''
  const last = line.slice(3).split('/').at(-1) ?? ''
  return /\.(service|scope)$/.test(last) ? last : null
}

export function describeHolder(h: PortHolder): string {
  if (h.pid === null) return h.process
  return `${h.process} (pid ${h.pid}${h.unit ? `, ${h.unit}` : ''})`
}

/** The RDP port is free, or held only by xrdp (a re-run). Otherwise names every holder. */
export async function rdpPortAvailable(sys: System, port: number): Promise<AssertResult> {
  const others = (await portHolders(sys, port)).filter((h) => h.process !== 'xrdp')
  if (others.length === 0) return { ok: true, detail: `port ${port} is free or held by xrdp` }
  const first = others[0] as PortHolder
  return {
    ok: false,
    detail: `port ${port} is used by ${others.map(describeHolder).join(', ')}`,
    hint:
      first.pid === null
        ? `Find what listens on ${port} (install iproute2 for \`ss -ltnp\`), stop it, or choose another port with --rdp-port`
        : `Stop it (${first.unit ? `systemctl stop ${first.unit}` : `kill ${first.pid}`}) or choose another port with --rdp-port, then run again`,
  }
}

/**
 * xrdp itself holds the RDP port: any other listener there is not a remote desktop. The detail
 * names processes only (no pid): it is hashed into the checkpoint, and must not change per boot.
 */
export async function xrdpListening(sys: System, port: number): Promise<AssertResult> {
  const holders = await portHolders(sys, port)
  return {
    ok: holders.length > 0 && holders.every((h) => h.process === 'xrdp'),
    detail:
      holders.length > 0
        ? `${[...new Set(holders.map((h) => h.process))].join(', ')} on port ${port}`
        : `nothing listens on ${port}`,
    hint: 'See journalctl -u xrdp and /var/log/xrdp.log',
  }
}
