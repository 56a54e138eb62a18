// What the demo prints once the container is provisioned: where to connect, as whom, and how to
// stop it. Plain text, no colour: it is meant to be copied.
import type { DemoState } from './state.js'

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

function hhmm(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`
}

export function summary(s: DemoState, freerdp: string | null): string {
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
    'Connect from this machine (a graphical session; on a headless one, under Xvfb):',
    `  ${rdpCommand(freerdp ?? 'xfreerdp', rdp)}`,
  ]
  if (!freerdp) lines.push('  (no FreeRDP client here: apt-get install freerdp2-x11, or use any RDP client)')
  lines.push(
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
