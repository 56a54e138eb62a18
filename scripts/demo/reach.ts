// How a person reaches the demo's RDP port. The container's address (10.213.N.2) exists only on
// this machine's veth: no NAT, no port forwarding, so from any other machine the way in is an SSH
// tunnel through this one. Its address here is the one the person used to log in (SSH_CONNECTION,
// when sudo kept it), else the source address of this machine's default route, else its name.
import { hostname } from 'node:os'
import { run } from '../../test/lab/proc.js'

export interface ThisHost {
  host: string
  /** The SSH port, when the login came in on another than 22. */
  sshPort: number
}

/** The server side of `SSH_CONNECTION` ("client cport server sport"), or null. */
export function sshServer(conn: string | undefined): ThisHost | null {
  const [, , host, port] = (conn ?? '').trim().split(/\s+/)
  if (!host || !port || !/^\d+$/.test(port)) return null
  return { host, sshPort: Number(port) }
}

/** `src` of `ip -o route get ...`, or null. */
export function routeSource(ipRouteGet: string): string | null {
  return /\bsrc (\S+)/.exec(ipRouteGet)?.[1] ?? null
}

export async function thisHost(env: NodeJS.ProcessEnv = process.env): Promise<ThisHost> {
  const ssh = sshServer(env.SSH_CONNECTION)
  if (ssh) return ssh
  // A route lookup only: nothing is sent to 1.1.1.1.
  const r = await run(['ip', '-o', 'route', 'get', '1.1.1.1'], { allowFailure: true, timeoutMs: 5_000 })
  return { host: (r.exitCode === 0 && routeSource(r.stdout)) || hostname(), sshPort: 22 }
}
