// The dispatcher: finds the program on the fixed PATH of the fake filesystem (so a command whose
// package is not installed is "command not found", exit 127, as on Debian), then runs its emulation.
import { posix } from 'node:path'
import { FIXED_PATH } from '../../../src/system/env.js'
import { Accounts } from './accounts.js'
import { updateAlternatives } from './alternatives.js'
import { aptGet } from './apt.js'
import { aptCache } from './apt-sources.js'
import { chmod, chown, df, falseCmd, rm, stat, test, trueCmd } from './coreutils.js'
import { docker } from './docker.js'
import { debconfSetSelections, debconfShow, dpkg, dpkgQuery, shipped } from './dpkg.js'
import type { FakeFs } from './fs.js'
import { git } from './git.js'
import { getent, gpasswd, groupadd, groupdel, id } from './groups.js'
import {
  cloudInit,
  desktopFileValidate,
  detectVirt,
  fail2banClient,
  gpg,
  ldd,
  loginctl,
  openssl,
  pkill,
  xrdpChkpriv,
} from './misc.js'
import { ss, systemctl, systemdRun } from './services.js'
import { sshd } from './sshd.js'
import { sudo, visudo } from './sudo.js'
import { fallocate, mkswap, swapoff, swapon } from './swap.js'
import { sysctl } from './sysctl.js'
import { mv, tar } from './tar.js'
import { find, ln } from './tree.js'
import { type Ctx, type FakeState, fail, type Handler, type Out, ok, Unsupported } from './types.js'
import { ufw } from './ufw.js'
import { chage, chpasswd, perl, useradd, userdel, usermod } from './users.js'

const runuser: Handler = (ctx, args) => {
  if (args[0] !== '-u' || !args[1]) throw new Unsupported(`runuser ${args.join(' ')}`)
  const user = args[1]
  const argv = args[2] === '--' ? args.slice(3) : args.slice(2)
  if (argv.length === 0) throw new Unsupported('runuser without a command')
  if (!ctx.accounts.user(user)) {
    return fail(
      1,
      `runuser: user ${user} does not exist or the user entry does not contain all the required fields\n`,
    )
  }
  const r = ctx.run(argv, user)
  if (r.exitCode === 127 && r.stderr.endsWith(': command not found\n')) {
    return fail(127, `runuser: failed to execute ${argv[0]}: No such file or directory\n`)
  }
  return r
}

const HANDLERS: Record<string, Handler> = {
  'apt-get': aptGet,
  tar,
  mv,
  git,
  'apt-cache': aptCache,
  dpkg,
  'dpkg-query': dpkgQuery,
  'debconf-set-selections': debconfSetSelections,
  'debconf-show': debconfShow,
  useradd,
  userdel,
  usermod,
  chpasswd,
  perl,
  chage,
  groupadd,
  groupdel,
  gpasswd,
  id,
  getent,
  runuser,
  sudo,
  visudo,
  sshd,
  systemctl,
  'systemd-run': systemdRun,
  ss,
  ufw,
  gpg,
  'systemd-detect-virt': detectVirt,
  sysctl,
  fallocate,
  mkswap,
  swapon,
  swapoff,
  'desktop-file-validate': desktopFileValidate,
  ldd,
  'xrdp-chkpriv': xrdpChkpriv,
  'fail2ban-client': fail2banClient,
  'cloud-init': cloudInit,
  docker,
  loginctl,
  pkill,
  'update-alternatives': updateAlternatives,
  openssl,
  true: trueCmd,
  false: falseCmd,
  test,
  stat,
  df,
  chmod,
  chown,
  rm,
  find,
  ln,
}

function locate(fs: FakeFs, program: string): string | null {
  const candidates = program.includes('/') ? [program] : FIXED_PATH.split(':').map((d) => `${d}/${program}`)
  return candidates.find((p) => p.startsWith('/') && fs.get(p)?.kind === 'file') ?? null
}

/** An installed program without an emulation answers --version with its package's version. */
function version(state: FakeState, fs: FakeFs, path: string): string {
  const real = fs.resolve(path, true)
  for (const [name, rec] of state.installed) {
    if (shipped(name, rec.def).some((s) => fs.resolve(s.path, true) === real)) {
      return rec.version.replace(/^\d+:/, '').replace(/-[^-]*$/, '')
    }
  }
  return '0.0.0'
}

export function runArgv(
  state: FakeState,
  fs: FakeFs,
  stdin: string | undefined,
  argv: readonly string[],
  user: string,
  env: Readonly<Record<string, string>> = {},
): Out {
  const [program, ...args] = argv
  if (!program) throw new Unsupported('empty argv')
  const path = locate(fs, program)
  if (!path) return fail(127, `${program}: command not found\n`)
  const ctx: Ctx = {
    state,
    fs,
    accounts: new Accounts(fs),
    stdin,
    user,
    env,
    run: (next, as) => runArgv(state, fs, stdin, next, as, env),
  }
  const handler = HANDLERS[posix.basename(program)]
  if (handler) return handler(ctx, args)
  if (args.length === 1 && args[0] === '--version') return ok(`${version(state, fs, path)}\n`)
  throw new Unsupported(argv.join(' '))
}
