// visudo -c and `sudo -n`: a small sudoers grammar (the rules a provisioner writes), sudo's
// refusal of badly owned or world-writable files, and its includedir rule that silently skips
// file names containing a dot or ending in ~.
import { parseArgs } from './args.js'
import type { FakeFs } from './fs.js'
import { type Ctx, fail, type Handler, type Out, ok, Unsupported } from './types.js'

const SPEC = /^(%?[a-z_][a-z0-9_-]*)\s+ALL\s*=\s*\(ALL(?::ALL)?\)\s+(NOPASSWD:\s*)?ALL$/
const DEFAULTS = /^Defaults(?:[:@!>]\S+)?\s+\S.*$/
const INCLUDE = /^[@#]include(dir)?\s+(\S+)$/

/** The 1-based number of the first line outside the grammar, or 0. */
function firstBadLine(text: string): number {
  const lines = text.split('\n')
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    if (line === '' || INCLUDE.test(line)) continue
    if (line.startsWith('#')) continue
    if (!DEFAULTS.test(line) && !SPEC.test(line)) return i + 1
  }
  return 0
}

/** /etc/sudoers and the files its include directives pull in, in the order sudo reads them. */
function sudoersFiles(fs: FakeFs): string[] {
  const files = ['/etc/sudoers']
  for (const raw of (fs.text('/etc/sudoers') ?? '').split('\n')) {
    const m = INCLUDE.exec(raw.trim())
    if (!m) continue
    if (!m[1]) files.push(m[2] as string)
    else
      for (const n of fs.list(m[2] as string))
        if (!n.includes('.') && !n.endsWith('~')) files.push(`${m[2]}/${n}`)
  }
  return files
}

export const visudo: Handler = (ctx, args) => {
  const { opts, rest } = parseArgs('visudo', args, {
    check: ['c', false],
    file: ['f', true],
    quiet: ['q', false],
    strict: ['s', false],
  })
  if (!opts.has('check') || rest.length > 0) throw new Unsupported(`visudo ${args.join(' ')}`)
  const file = opts.get('file')
  let stdout = ''
  for (const f of file ? [file] : sudoersFiles(ctx.fs)) {
    const text = ctx.fs.text(f)
    if (text === null) return fail(1, `visudo: unable to open ${f}: No such file or directory\n`, stdout)
    const bad = firstBadLine(text)
    if (bad) return fail(1, `${f}:${bad}:1: syntax error\nparse error in ${f} near line ${bad}\n`, stdout)
    if (!opts.has('quiet')) stdout += `${f}: parsed OK\n`
  }
  return ok(stdout)
}

export const sudo: Handler = (ctx, args) => {
  let i = 0
  let nonInteractive = false
  for (; i < args.length && (args[i] as string).startsWith('-'); i++) {
    if (args[i] === '-n' || args[i] === '--non-interactive') nonInteractive = true
    else if (args[i] === '--') {
      i++
      break
    } else throw new Unsupported(`sudo option ${args[i]}`)
  }
  const command = args.slice(i)
  if (command.length === 0) throw new Unsupported('sudo without a command')
  if (ctx.user === 'root') return ctx.run(command, 'root')
  const verdict = grant(ctx, ctx.user)
  if (typeof verdict !== 'boolean') return verdict
  if (verdict) return ctx.run(command, 'root')
  return fail(
    1,
    nonInteractive ? 'sudo: a password is required\n' : 'sudo: a terminal is required to read the password\n',
  )
}

/** true: NOPASSWD for everything; false: a password would be needed; Out: sudo refuses to start. */
function grant(ctx: Ctx, user: string): boolean | Out {
  const groups = ctx.accounts.groupsOf(user)
  let verdict = false
  for (const f of sudoersFiles(ctx.fs)) {
    const n = ctx.fs.get(f)
    if (!n) continue
    const broken = (why: string) =>
      fail(1, `sudo: ${f} ${why}\nsudo: error initializing audit plugin sudoers_audit\n`)
    if (n.uid !== 0) return broken(`is owned by uid ${n.uid}, should be 0`)
    if (n.mode & 0o002) return broken('is world writable')
    const text = n.data.toString('utf8')
    const bad = firstBadLine(text)
    if (bad)
      return fail(
        1,
        `sudo: ${f}:${bad}:1: syntax error\nsudo: error initializing audit plugin sudoers_audit\n`,
      )
    for (const line of text.split('\n')) {
      const m = SPEC.exec(line.trim())
      if (!m) continue
      const who = m[1] as string
      // The last matching rule wins, as in sudo.
      if (who === user || (who.startsWith('%') && groups.includes(who.slice(1)))) verdict = m[2] !== undefined
    }
  }
  return verdict
}
