// What `npm run demo` prints for a person to copy: the FreeRDP command must survive a shell with
// any password, and the summary must carry the login and the way to stop it.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { routeSource, sshServer } from '../../scripts/demo/reach.js'
import type { DemoState } from '../../scripts/demo/state.js'
import { rdpCommand, shellQuote, summary, TUNNEL_PORT, tunnelCommand } from '../../scripts/demo/summary.js'
import { generatePassword } from '../../src/util/password.js'

/** What a POSIX shell makes of a word: its one argument, or several if quoting failed. */
function shellWords(line: string): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' })
  return out.split('\0').slice(0, -1)
}

describe('demo summary', () => {
  it('quotes every password so the shell passes it unchanged', () => {
    const samples = ["it's", 'a b', '#start', 'x;rm -rf /', '$HOME', '`id`', 'back\\slash', '"dq"', '*']
    for (let i = 0; i < 200; i++) samples.push(generatePassword())
    for (const p of samples) expect(shellWords(shellQuote(p))).toEqual([p])
  })

  it('prints the login, the connect command with it, and how to stop', () => {
    const state: DemoState = {
      phase: 'ready',
      owner: 1,
      startedAt: '2026-11-26T09:02:00.000Z',
      expiresAt: '2026-11-26T17:02:00.000Z',
      machine: { name: 'demo', root: '/r', address: '10.213.7.2', pid1: 42, veth: 've-demo' },
      rdp: { host: '10.213.7.2', port: 3389, username: 'devuser', password: "pa ss'#" },
      provisionMs: 270_000,
    }
    const text = summary(state, 'xfreerdp3')
    expect(text).toContain('RDP:       10.213.7.2:3389')
    expect(text).toContain('Username:  devuser')
    expect(text).toContain("Password:  pa ss'#")
    const cmd = rdpCommand('xfreerdp3', state.rdp as NonNullable<DemoState['rdp']>)
    expect(text).toContain(cmd)
    expect(shellWords(cmd.replace(/^xfreerdp3 /, ''))).toEqual([
      '/v:10.213.7.2:3389',
      '/u:devuser',
      "/p:pa ss'#",
      '/cert:ignore',
      '/sec:tls',
      '/size:1280x800',
    ])
    expect(text).toContain('npm run demo -- --down')
    expect(text).toContain('2026-11-26 17:02 UTC')
    // Without a FreeRDP client here the command is still shown, with what to install.
    expect(summary(state, null)).toMatch(/no FreeRDP client here/)
  })

  it("tells how to reach the container from another machine: a tunnel through this one's address", () => {
    const rdp = { host: '10.213.7.2', port: 3389, username: 'devuser', password: 'x' }
    expect(tunnelCommand(rdp, { host: '203.0.113.7', sshPort: 22 })).toBe(
      `ssh -N -L ${TUNNEL_PORT}:10.213.7.2:3389 <you>@203.0.113.7`,
    )
    expect(tunnelCommand(rdp, { host: '203.0.113.7', sshPort: 2222 })).toBe(
      `ssh -N -L ${TUNNEL_PORT}:10.213.7.2:3389 -p 2222 <you>@203.0.113.7`,
    )
    const state: DemoState = {
      phase: 'ready',
      owner: 1,
      startedAt: '2026-11-26T09:02:00.000Z',
      machine: { name: 'demo', root: '/r', address: '10.213.7.2', pid1: 42, veth: 've-demo' },
      rdp,
    }
    const text = summary(state, 'xfreerdp3', { host: '192.0.2.2', sshPort: 22 })
    expect(text).toContain(`ssh -N -L ${TUNNEL_PORT}:10.213.7.2:3389 <you>@192.0.2.2`)
    expect(text).toContain(`127.0.0.1:${TUNNEL_PORT}`)
    // Never the provisioner's own line, which sends you to root@ the container's address.
    expect(text).not.toContain('root@10.213.7.2')
  })

  it('finds the address a person logged in by, else the default route source', () => {
    expect(sshServer('198.51.100.4 51234 203.0.113.7 22')).toEqual({ host: '203.0.113.7', sshPort: 22 })
    expect(sshServer('198.51.100.4 51234 2001:db8::7 2222')).toEqual({ host: '2001:db8::7', sshPort: 2222 })
    expect(sshServer(undefined)).toBeNull()
    expect(sshServer('garbage')).toBeNull()
    expect(routeSource('1.1.1.1 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache')).toBe('192.0.2.2')
    expect(routeSource('')).toBeNull()
  })
})
