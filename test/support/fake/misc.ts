// Small commands: gpg --dearmor, openssl req, systemd-detect-virt, desktop-file-validate, ldd,
// xrdp-chkpriv and cloud-init status.
import { posix } from 'node:path'
import { FAKE_TLS } from './tls-pair.js'
import { fail, type Handler, isContainer, ok, Unsupported } from './types.js'

const ARMOR = /-----BEGIN PGP PUBLIC KEY BLOCK-----([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/

export const gpg: Handler = (ctx, args) => {
  let out: string | undefined
  let dearmor = false
  let yes = false
  const inputs: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '-o' || a === '--output') out = args[++i]
    else if (a === '--dearmor') dearmor = true
    else if (a === '--yes') yes = true
    else if (['--batch', '--quiet', '-q', '--no-tty'].includes(a)) continue
    else if (a.startsWith('-')) throw new Unsupported(`gpg option ${a}`)
    else inputs.push(a)
  }
  if (!dearmor || !out || inputs.length > 1) throw new Unsupported(`gpg ${args.join(' ')}`)
  const input = inputs[0] ? ctx.fs.read(inputs[0]) : Buffer.from(ctx.stdin ?? '')
  if (input === null) return fail(2, `gpg: can't open '${inputs[0]}': No such file or directory\n`)
  const m = ARMOR.exec(input.toString('latin1'))
  if (!m) return fail(2, 'gpg: no valid OpenPGP data found.\n')
  if (ctx.fs.lget(out) && !yes) return fail(2, `gpg: cannot open '${out}': File exists\n`)
  // What dearmoring is: the base64 body (headers and the CRC line dropped) decoded to bytes.
  const body = (m[1] as string)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.includes(':') && !l.startsWith('='))
    .join('')
  ctx.fs.write(out, Buffer.concat([Buffer.from([0x99]), Buffer.from(body, 'base64')]), { mode: 0o644 })
  return ok()
}

export const detectVirt: Handler = (ctx, args) => {
  const virt = ctx.state.options.virt
  const container = isContainer(ctx.state.options)
  let answer = virt
  for (const a of args) {
    if (a === '--container' || a === '-c') answer = container ? virt : 'none'
    else if (a === '--vm' || a === '-v') answer = container ? 'none' : virt
    else if (a !== '--quiet' && a !== '-q') throw new Unsupported(`systemd-detect-virt ${a}`)
  }
  const quiet = args.includes('--quiet') || args.includes('-q')
  return { exitCode: answer === 'none' ? 1 : 0, stdout: quiet ? '' : `${answer}\n`, stderr: '' }
}

export const desktopFileValidate: Handler = (ctx, args) => {
  if (args.length === 0) throw new Unsupported('desktop-file-validate without a file')
  let stdout = ''
  for (const path of args) {
    const text = ctx.fs.text(path)
    if (text === null) {
      stdout += `${path}: error: file does not exist\n`
      continue
    }
    if (!text.trimStart().startsWith('[Desktop Entry]')) {
      stdout += `${path}: error: first group is not "Desktop Entry"\n`
    }
    for (const key of ['Name', 'Exec', 'Type']) {
      if (!new RegExp(`^${key}=\\S`, 'm').test(text)) {
        stdout += `${path}: error: required key "${key}" in group "Desktop Entry" is not present\n`
      }
    }
  }
  return { exitCode: stdout ? 1 : 0, stdout, stderr: '' }
}

export const ldd: Handler = (ctx, args) => {
  const [path] = args
  if (!path || args.length > 1) throw new Unsupported(`ldd ${args.join(' ')}`)
  if (!ctx.fs.exists(path)) return fail(1, `ldd: ${path}: No such file or directory\n`)
  return ok(
    '\tlinux-vdso.so.1 (0x00007ffd5a3f2000)\n' +
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3a1c000000)\n' +
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f3a1c3f0000)\n',
  )
}

export const xrdpChkpriv: Handler = () => ok('No problems found with the xrdp certificate and key\n')

/** The fake runs no processes: nobody to log out, nothing for pkill to match (exit 1). */
export const loginctl: Handler = (_ctx, args) => {
  if (args[0] !== 'terminate-user' || !args[1]) throw new Unsupported(`loginctl ${args.join(' ')}`)
  return fail(1, `Failed to terminate user: User ${args[1]} is not logged in.\n`)
}

export const pkill: Handler = () => fail(1, '')

export const cloudInit: Handler = (_ctx, args) => {
  if (args[0] !== 'status') throw new Unsupported(`cloud-init ${args.join(' ')}`)
  return ok('status: done\n')
}

/** `openssl req -x509 -newkey ... -keyout KEY -out CERT`: a deterministic self-signed pair. */
export const openssl: Handler = (ctx, args) => {
  const [command, ...rest] = args
  const values = new Set(['-newkey', '-days', '-subj', '-keyout', '-out', '-addext'])
  const flags = new Set(['-x509', '-nodes', '-noenc', '-sha256', '-batch'])
  const opts = new Map<string, string>()
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string
    if (values.has(a) && rest[i + 1] !== undefined) opts.set(a, rest[++i] as string)
    else if (!flags.has(a)) throw new Unsupported(`openssl ${command} ${a}`)
  }
  const keyout = opts.get('-keyout')
  const out = opts.get('-out')
  if (command !== 'req' || !rest.includes('-x509') || !keyout || !out)
    throw new Unsupported(`openssl ${args.join(' ')}`)
  for (const p of [keyout, out]) {
    if (ctx.fs.get(posix.dirname(p))?.kind !== 'dir') {
      return fail(1, `req: Can't open "${p}" for writing, No such file or directory\n`)
    }
  }
  // A real pair (tls-pair.ts), so the certificate parses and has a fingerprint.
  ctx.fs.write(keyout, FAKE_TLS.key, { mode: 0o600 })
  ctx.fs.write(out, FAKE_TLS.cert, { mode: 0o644 })
  return ok('', '.....+++++\n-----\n')
}

const F2B_NO_SOCKET =
  'ERROR   Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?\n'

/**
 * `fail2ban-client status`: the jails enabled in jail.conf, jail.d/*.conf and jail.d/*.local, read
 * in fail2ban's order (later files win), while the service runs; without it, no socket (exit 255).
 */
export const fail2banClient: Handler = (ctx, args) => {
  if (args.length !== 1 || args[0] !== 'status') throw new Unsupported(`fail2ban-client ${args.join(' ')}`)
  if (!ctx.state.services.get('fail2ban.service')?.active) return fail(255, F2B_NO_SOCKET)
  const dir = '/etc/fail2ban/jail.d'
  const names = ctx.fs.list(dir).sort()
  const files = [
    '/etc/fail2ban/jail.conf',
    ...names.filter((n) => n.endsWith('.conf')).map((n) => `${dir}/${n}`),
    ...names.filter((n) => n.endsWith('.local')).map((n) => `${dir}/${n}`),
  ]
  const enabled = new Map<string, boolean>()
  for (const f of files) {
    let section = ''
    for (const line of (ctx.fs.text(f) ?? '').split('\n')) {
      const head = /^\[([^\]]+)\]\s*$/.exec(line)
      if (head) section = head[1] as string
      const on = /^enabled\s*=\s*(\S+)\s*$/.exec(line)
      if (on && section !== 'DEFAULT' && section !== 'INCLUDES') enabled.set(section, on[1] === 'true')
    }
  }
  const jails = [...enabled].filter(([, on]) => on).map(([j]) => j)
  return ok(`Status\n|- Number of jail:\t${jails.length}\n\`- Jail list:\t${jails.join(', ')}\n`)
}
