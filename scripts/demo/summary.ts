// What the demo prints once the container is provisioned: where to connect, as whom, and how to
// stop it. Plain text, no colour: it is meant to be copied.
import type { ThisHost } from './reach.js'
import type { DemoState } from './state.js'

/**
 * The local end of the tunnel: not 3389, which a Windows machine's own Remote Desktop may hold
 * (the tunnel would then fail to listen, or the client would reach that machine itself).
 */
export const TUNNEL_PORT = 13389

/** Single quotes for a POSIX shell (the generated passwords need none, a chosen one might). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}

/** The FreeRDP command line the e2e uses (test/e2e/harness/rdp.ts), for a person to paste. */
export function rdpCommand(bin: string, rdp: NonNullable<DemoState['rdp']>): string {
  return [
    bin,
    `/v:${rdp.host}:${rdp.port}`,
    `/u:${shellQuote(rdp.username)}`,
    `/p:${shellQuote(rdp.password)}`,
    '/cert:ignore',
    '/sec:tls',
    '/size:1280x800',
  ].join(' ')
}

/** The SSH tunnel a person runs on their own machine to reach the container through this one. */
export function tunnelCommand(rdp: NonNullable<DemoState['rdp']>, via: ThisHost): string {
  const port = via.sshPort === 22 ? '' : ` -p ${via.sshPort}`
  return `ssh -N -L ${TUNNEL_PORT}:${rdp.host}:${rdp.port}${port} <you>@${via.host}`
}

function hhmm(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`
}

export function summary(s: DemoState, freerdp: string | null, via?: ThisHost): string {
  const rdp = s.rdp
  if (!rdp || !s.machine) return `The demo is ${s.phase}.`
  const took = s.provisionMs ? ` (vps-provision run took ${Math.round(s.provisionMs / 1000)} s)` : ''
  const lines = [
    `The demo is up: a provisioned Debian 13 container${took}.`,
    '',
    `  RDP:       ${rdp.host}:${rdp.port}`,
    `  Username:  ${rdp.username}`,
    `  Password:  ${rdp.password}`,
    '',
    `The container's address exists only on this machine (${s.machine.veth}): no port of this machine forwards to it.`,
    '',
    'Connect from this machine (a graphical session; on a headless one, under Xvfb):',
    `  ${rdpCommand(freerdp ?? 'xfreerdp', rdp)}`,
  ]
  if (!freerdp) lines.push('  (no FreeRDP client here: apt-get install freerdp2-x11, or use any RDP client)')
  lines.push(
    '',
    'Connect from your own computer: open a tunnel through this machine, leave it running,',
    `  ${tunnelCommand(rdp, via ?? { host: '<this-machine>', sshPort: 22 })}`,
    `  (<you>: your SSH login on this machine), then point your RDP client (mstsc, Windows App,`,
    `  Remmina, xfreerdp3) at 127.0.0.1:${TUNNEL_PORT} with the username and password above.`,
    '',
    'Stop it:   npm run demo -- --down',
    `           (it stops by itself at ${s.expiresAt ? hhmm(s.expiresAt) : 'the end of its lifetime'})`,
    'Status:    npm run demo -- --status',
    `Inside:    nsenter --target ${s.machine.pid1} --mount --uts --ipc --net --pid -- systemd-run --wait --pipe --quiet --collect -- vps-provision status`,
    '',
    "The IDEs are the lab's stand-ins (the vendors' download hosts are not reachable from here).",
  )
  return lines.join('\n')
}
