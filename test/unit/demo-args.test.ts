// The demo's flags: each one explained by --help, and the combinations that make no sense refused.
import { describe, expect, it } from 'vitest'
import { parseArgs, USAGE } from '../../scripts/demo/args.js'

describe('demo arguments', () => {
  it('parses every flag', () => {
    expect(parseArgs([])).toEqual({ cmd: 'up', level: 'normal' })
    expect(parseArgs(['--verbose'])).toEqual({ cmd: 'up', level: 'verbose' })
    expect(parseArgs(['--quiet'])).toEqual({ cmd: 'up', level: 'quiet' })
    expect(parseArgs(['--down'])).toEqual({ cmd: 'down', level: 'normal', purge: false })
    expect(parseArgs(['--down', '--purge'])).toEqual({ cmd: 'down', level: 'normal', purge: true })
    expect(parseArgs(['--purge', '--down', '--quiet'])).toEqual({ cmd: 'down', level: 'quiet', purge: true })
    expect(parseArgs(['--status'])).toEqual({ cmd: 'status' })
    expect(parseArgs(['-h'])).toEqual({ cmd: 'help' })
    expect(parseArgs(['--keeper', '/x.deb'])).toEqual({ cmd: 'keeper', deb: '/x.deb' })
  })

  it('refuses what makes no sense', () => {
    for (const bad of [
      ['--purge'],
      ['--verbose', '--quiet'],
      ['--status', '--down'],
      ['--up'],
      ['--status', '--quiet'],
    ])
      expect(parseArgs(bad).cmd, bad.join(' ')).toBe('error')
  })

  it('--help explains every flag', () => {
    for (const flag of ['--status', '--down', '--purge', '--verbose', '--quiet', '--help'])
      expect(USAGE, flag).toMatch(new RegExp(`^  ${flag}|--down ${flag}`, 'm'))
    expect(USAGE).toContain('/var/tmp/vps-provision-lab/demo/keeper.log')
  })
})
