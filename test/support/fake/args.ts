// A small getopt for the emulated commands: long options (`--x v`, `--x=v`), short ones (`-x v`,
// clusters like `-aG grp`) and `--`. An option the command does not know is argv the fake does not
// emulate, so it is an Unsupported error rather than a silent guess.
import { Unsupported } from './types.js'

/** long name -> [short letter or '', takes a value]. */
export type OptSpec = Record<string, readonly [string, boolean]>

export interface Parsed {
  opts: Map<string, string>
  rest: string[]
}

export function parseArgs(cmd: string, args: readonly string[], spec: OptSpec): Parsed {
  const opts = new Map<string, string>()
  const rest: string[] = []
  const byShort = new Map(Object.entries(spec).map(([long, [short]]) => [short, long]))
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    const value = () => {
      const v = args[++i]
      if (v === undefined) throw new Unsupported(`${cmd}: option ${a} needs a value`)
      return v
    }
    if (a === '--') {
      rest.push(...args.slice(i + 1))
      break
    }
    if (a.startsWith('--')) {
      const [name, inline] = splitOnce(a.slice(2), '=')
      const s = spec[name]
      if (!s) throw new Unsupported(`${cmd}: option --${name}`)
      opts.set(name, s[1] ? (inline ?? value()) : 'true')
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const long = byShort.get(a[j] as string)
        if (!long) throw new Unsupported(`${cmd}: option -${a[j]}`)
        if (!(spec[long] as readonly [string, boolean])[1]) {
          opts.set(long, 'true')
          continue
        }
        // dpkg accepts `-f=FORMAT` as well as `-fFORMAT`.
        opts.set(long, j < a.length - 1 ? a.slice(j + 1).replace(/^=/, '') : value())
        break
      }
    } else rest.push(a)
  }
  return { opts, rest }
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep)
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)]
}
