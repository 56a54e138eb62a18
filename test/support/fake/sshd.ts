// sshd -t and -T: Debian's sshd_config includes sshd_config.d/*.conf at its top and sshd keeps the
// FIRST value it reads for each keyword, so a drop-in named 00-... wins over cloud-init's 50-...
import { posix } from 'node:path'
import { parseArgs } from './args.js'
import type { FakeFs } from './fs.js'
import { fail, type Handler, ok } from './types.js'

interface Directive {
  keyword: string
  value: string
  inMatch: boolean
}

const YES_NO = new Set([
  'passwordauthentication',
  'pubkeyauthentication',
  'kbdinteractiveauthentication',
  'challengeresponseauthentication',
  'usepam',
  'x11forwarding',
  'permitemptypasswords',
  'printmotd',
  'printlastlog',
  'tcpkeepalive',
  'usedns',
  'strictmodes',
])
const ROOT_LOGIN = new Set(['yes', 'no', 'prohibit-password', 'without-password', 'forced-commands-only'])
const OTHER = `addressfamily listenaddress acceptenv subsystem include match allowusers allowgroups denyusers denygroups
 maxauthtries maxsessions maxstartups logingracetime clientaliveinterval clientalivecountmax authorizedkeysfile
 hostkey allowtcpforwarding allowagentforwarding permittunnel banner loglevel syslogfacility ciphers macs
 kexalgorithms hostkeyalgorithms pubkeyacceptedalgorithms authenticationmethods trustedusercakeys
 x11uselocalhost x11displayoffset compression gatewayports permituserenvironment pidfile chrootdirectory
 forcecommand ignorerhosts hostbasedauthentication gssapiauthentication kerberosauthentication permitopen
 disableforwarding port permitrootlogin setenv`
const KNOWN = new Set([...YES_NO, ...OTHER.split(/\s+/).filter(Boolean)])
/** Keywords whose every occurrence counts, not just the first. */
const MULTI = new Set([
  'port',
  'listenaddress',
  'acceptenv',
  'hostkey',
  'allowusers',
  'allowgroups',
  'denyusers',
  'denygroups',
])

function read(fs: FakeFs, path: string, out: Directive[], depth = 0): string | null {
  const text = fs.text(path)
  if (text === null) return `${path}: No such file or directory`
  let inMatch = false
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const where = `${path} line ${i + 1}`
    const m = /^([A-Za-z0-9]+)(?:\s*=\s*|\s+)(\S.*)$/.exec(line)
    if (!m) return `${where}: no argument after keyword "${line.split(/[\s=]/)[0]}"`
    const keyword = (m[1] as string).toLowerCase()
    const value = (m[2] as string).trim()
    if (!KNOWN.has(keyword)) return `${where}: Bad configuration option: ${m[1]}`
    if (keyword === 'port' && !(/^\d+$/.test(value) && Number(value) > 0 && Number(value) < 65536)) {
      return `${where}: Badly formatted port number.`
    }
    if (YES_NO.has(keyword) && !/^(yes|no)$/i.test(value)) return `${where}: unsupported option "${value}".`
    if (keyword === 'permitrootlogin' && !ROOT_LOGIN.has(value.toLowerCase())) {
      return `${where}: unsupported option "${value}".`
    }
    if (keyword === 'match') inMatch = true
    if (keyword === 'include') {
      if (depth > 8) return `${where}: Too many recursive configuration includes`
      for (const pattern of value.split(/\s+/)) {
        for (const file of expand(fs, pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`)) {
          const err = read(fs, file, out, depth + 1)
          if (err) return err
        }
      }
      continue
    }
    out.push({ keyword, value, inMatch })
  }
  return null
}

function expand(fs: FakeFs, pattern: string): string[] {
  const dir = posix.dirname(pattern)
  const glob = posix.basename(pattern)
  if (!glob.includes('*')) return fs.exists(pattern) ? [pattern] : []
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  )
  return fs
    .list(dir)
    .filter((n) => re.test(n) && fs.get(`${dir}/${n}`)?.kind === 'file')
    .map((n) => `${dir}/${n}`)
}

/** Effective server settings, keyword -> values (one unless MULTI), like `sshd -T` reports them. */
export function effectiveSshd(fs: FakeFs, path = '/etc/ssh/sshd_config'): Map<string, string[]> | string {
  const directives: Directive[] = []
  const err = read(fs, path, directives)
  if (err) return err
  const eff = new Map<string, string[]>()
  for (const d of directives) {
    if (d.inMatch) continue
    const value = YES_NO.has(d.keyword) ? d.value.toLowerCase() : d.value
    const prior = eff.get(d.keyword)
    if (!prior) eff.set(d.keyword, [value])
    else if (MULTI.has(d.keyword)) prior.push(value)
  }
  const defaults: Record<string, string> = {
    port: '22',
    addressfamily: 'any',
    permitrootlogin: 'prohibit-password',
    pubkeyauthentication: 'yes',
    passwordauthentication: 'yes',
    kbdinteractiveauthentication: 'yes',
    permitemptypasswords: 'no',
    usepam: 'no',
    x11forwarding: 'no',
    printmotd: 'yes',
    maxauthtries: '6',
  }
  for (const [k, v] of Object.entries(defaults)) if (!eff.has(k)) eff.set(k, [v])
  return eff
}

export const sshd: Handler = (ctx, args) => {
  const { opts } = parseArgs('sshd', args, {
    test: ['t', false],
    'test-extended': ['T', false],
    file: ['f', true],
    connection: ['C', true],
  })
  const eff = effectiveSshd(ctx.fs, opts.get('file'))
  if (typeof eff === 'string') return fail(255, `${eff}\n`)
  if (!opts.has('test-extended')) {
    if (opts.has('test')) return ok()
    return fail(1, 'fake: sshd only checks its configuration here\n')
  }
  let out = ''
  for (const [k, values] of [...eff.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    // sshd prints the first spelling of its table: prohibit-password comes out as without-password.
    const shown =
      k === 'permitrootlogin' ? values.map((v) => v.replace('prohibit-password', 'without-password')) : values
    for (const v of shown) out += `${k} ${v}\n`
  }
  return ok(out)
}
