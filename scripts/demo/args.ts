// The demo's command line: what each flag does (--help prints USAGE) and which go together.
import type { Level } from './progress.js'
import { KEEPER_LOG, MAX_LIFETIME_MS } from './state.js'

export const USAGE = `Usage: npm run demo [-- FLAGS]   (as root, in a clone)

With no flag: build the .deb, boot a throwaway Debian 13 container, install the .deb in it, run
vps-provision there, and print the RDP address, username, password and how to connect. If a demo
is already up, print its login instead of starting a second one.

  --status        say whether a demo is up, and print its login again (exit 1 if none is up)
  --down          tear the demo down (container, apt proxy, stand-in server), check that nothing
                  is left, and say where its caches are and how big
  --down --purge  the same, then remove those caches too: the Debian 13 root, the apt proxy's
                  .debs and the demo's log (the next demo builds them again: ~4 more minutes)
  --verbose       also show the raw output (npm, debootstrap, apt, dpkg) on the screen
  --quiet         show only errors, and the login at the end
  --help, -h      this text

Every line, raw output included, goes to the log as it happens (named when the demo starts):
  ${KEEPER_LOG}
The container stays up until --down, or ${MAX_LIFETIME_MS / 3_600_000} hours at most.`

export type Parsed =
  | { cmd: 'up'; level: Level }
  | { cmd: 'down'; level: Level; purge: boolean }
  | { cmd: 'status' }
  | { cmd: 'help' }
  | { cmd: 'keeper'; deb: string }
  | { cmd: 'error'; message: string }

const KNOWN = new Set(['--status', '--down', '--purge', '--verbose', '--quiet', '--help', '-h'])

export function parseArgs(args: readonly string[]): Parsed {
  if (args[0] === '--keeper') {
    return args.length === 2 && args[1] ? { cmd: 'keeper', deb: args[1] } : err('--keeper takes one .deb')
  }
  const unknown = args.filter((a) => !KNOWN.has(a))
  if (unknown.length > 0) return err(`unknown argument ${unknown.join(' ')}`)
  const has = (f: string) => args.includes(f)
  if (has('--help') || has('-h')) return { cmd: 'help' }
  if (has('--verbose') && has('--quiet')) return err('--verbose and --quiet exclude each other')
  const level: Level = has('--verbose') ? 'verbose' : has('--quiet') ? 'quiet' : 'normal'
  if (has('--purge') && !has('--down'))
    return err('--purge goes with --down (npm run demo -- --down --purge)')
  if (has('--status') && has('--down')) return err('--status and --down exclude each other')
  if (has('--status')) return level === 'normal' ? { cmd: 'status' } : err('--status takes no other flag')
  if (has('--down')) return { cmd: 'down', level, purge: has('--purge') }
  return { cmd: 'up', level }
}

function err(message: string): Parsed {
  return { cmd: 'error', message }
}
