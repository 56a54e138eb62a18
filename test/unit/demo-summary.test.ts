// What `npm run demo` prints for a person to copy: the FreeRDP command must survive a shell with
// any password, and the summary must carry the login and the way to stop it.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import type { DemoState } from '../../scripts/demo/state.js'
import { rdpCommand, shellQuote, summary } from '../../scripts/demo/summary.js'
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
})
