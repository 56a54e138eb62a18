// Running commands inside a lab root with `chroot`.
//
// withChroot() mounts what programs in the root expect, runs the callback and ALWAYS undoes
// everything in `finally`, even when the callback throws or a command times out:
//   ROOT/proc     bind of the host's /proc, READ-ONLY by default: the chroot shares the host's
//                 kernel, so a writable /proc/sys would let `sysctl -w` in a test change the host
//   ROOT/sys      bind of /sys, read-only
//   ROOT/dev      bind of /dev, read-only (device nodes stay usable; nothing can be created or
//                 deleted in the host's /dev)
//   ROOT/dev/pts  bind of /dev/pts (read-write: ptys)
//   ROOT/dev/shm  a private 64 MiB tmpfs (so nothing is written into the host's devtmpfs)
// Each bind is made private at once, so no mount made inside can propagate to the host.
// Also: the host's /etc/resolv.conf is copied in, and /usr/sbin/policy-rc.d (exit 101) is
// installed for the duration so postinst scripts do not start services (invoke-rc.d and
// deb-systemd-invoke both honour it; `systemctl start` in a chroot does nothing anyway).
// On the way out: processes still running in the root are ended, policy-rc.d is removed (or the
// root's own restored), mounts are undone in reverse order (`umount --lazy` as fallback) and
// /proc/mounts is checked to hold nothing under the root.
//
// The chroot shares the host's network namespace: 127.0.0.1 in the chroot is the host's loopback.

import { lstat, mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  assertNothingMountedUnder,
  canonical,
  isUnder,
  killProcessesRootedIn,
  mountsUnder,
  unmountOne,
} from './mounts.js'
import { CLEAN_PATH, type RunResult, run } from './proc.js'
import { readStamp } from './trixie-root.js'

/** The whole environment of a command in the chroot, before ExecOptions.env is laid over it. */
export const CHROOT_BASE_ENV: Readonly<Record<string, string>> = {
  PATH: CLEAN_PATH,
  HOME: '/root',
  LANG: 'C.UTF-8',
  TERM: 'dumb',
}

export const POLICY_RC_D = '#!/bin/sh\n# vps-provision lab: no service starts inside a chroot\nexit 101\n'

export interface ChrootExecOptions {
  /** Written to the command's stdin; stdin is /dev/null otherwise. */
  stdin?: string | Uint8Array
  /** Laid over CHROOT_BASE_ENV (nothing comes from the host's environment). */
  env?: Record<string, string>
  /**
   * Default: WithChrootOptions.defaultTimeoutMs (10 minutes). On timeout the command's process
   * group is killed AND every other process running in the root (daemons escape the group).
   */
  timeoutMs?: number
  /** Working directory inside the root (default /). */
  cwd?: string
  /** Return a non-zero exit or a timeout instead of throwing RunError. */
  allowFailure?: boolean
}

export type ChrootExecResult = RunResult

export interface Chroot {
  /** Host path of the root (canonical). */
  readonly root: string
  exec(argv: readonly string[], opts?: ChrootExecOptions): Promise<ChrootExecResult>
  /** `sh -c script` in the chroot. */
  sh(script: string, opts?: ChrootExecOptions): Promise<ChrootExecResult>
  /**
   * Copies a host file or directory to `pathInRoot` (parents created). The write happens inside
   * the chroot, so symlinks in the root resolve inside the root and never onto the host.
   */
  copyIn(hostPath: string, pathInRoot: string, opts?: { mode?: number }): Promise<void>
  /** Writes `data` to `pathInRoot` (parents created), resolved inside the root like copyIn. */
  writeFile(pathInRoot: string, data: string | Uint8Array, opts?: { mode?: number }): Promise<void>
  /** Reads a text file exactly (final newline kept), resolved inside the root. */
  readFile(pathInRoot: string): Promise<string>
  exists(pathInRoot: string): Promise<boolean>
}

export interface WithChrootOptions {
  /** Mount /proc read-only (default true). false lets sysctl writes through to the HOST kernel. */
  procReadOnly?: boolean
  /** Install policy-rc.d exit 101 for the duration (default true). */
  policyRcD?: boolean
  /** Copy the host's /etc/resolv.conf in (default true). */
  resolvConf?: boolean
  /** Allow a pristine cached root (default false: clone it first). */
  allowPristine?: boolean
  defaultTimeoutMs?: number
  /** Cleanup notes (lazy unmounts, processes ended). */
  log?: (line: string) => void
}

const REQUIRED_IN_ROOT = ['etc/debian_version', 'var/lib/dpkg/status', 'usr/bin/apt-get', 'bin/sh']

/** Checks that `root` is a debootstrapped Debian root we may chroot into; returns its canonical path. */
export async function assertChrootable(
  root: string,
  opts: { allowPristine?: boolean } = {},
): Promise<string> {
  if (!path.isAbsolute(root)) throw new Error(`withChroot: root must be absolute: ${root}`)
  const dir = await canonical(root)
  if (dir === '/' || dir === (await realpath('/'))) throw new Error('withChroot: refusing to use / as a root')
  const st = await stat(dir).catch(() => null)
  if (!st?.isDirectory()) throw new Error(`withChroot: ${dir} is not a directory`)
  for (const rel of REQUIRED_IN_ROOT) {
    if (!(await stat(path.join(dir, rel)).catch(() => null))) {
      throw new Error(`withChroot: ${dir} is not a debootstrapped Debian root (no /${rel})`)
    }
  }
  const stamp = await readStamp(dir)
  if (stamp?.kind === 'pristine' && !opts.allowPristine) {
    throw new Error(`withChroot: ${dir} is a pristine cached root; cloneRoot() it and use the clone`)
  }
  return dir
}

interface MountSpec {
  target: string // relative to the root
  argv: (abs: string) => string[]
  readOnly: boolean
}

export async function withChroot<T>(
  root: string,
  fn: (ch: Chroot) => Promise<T>,
  opts: WithChrootOptions = {},
): Promise<T> {
  const dir = await assertChrootable(root, opts)
  const log = opts.log ?? (() => {})
  const already = await mountsUnder(dir)
  if (already.length > 0) {
    throw new Error(`withChroot: already mounted under ${dir} (another withChroot?): ${already.join(', ')}`)
  }
  const defaultTimeoutMs = opts.defaultTimeoutMs ?? 10 * 60_000
  const specs: MountSpec[] = [
    { target: 'proc', argv: (t) => ['mount', '--bind', '/proc', t], readOnly: opts.procReadOnly ?? true },
    { target: 'sys', argv: (t) => ['mount', '--bind', '/sys', t], readOnly: true },
    { target: 'dev', argv: (t) => ['mount', '--bind', '/dev', t], readOnly: true },
    { target: 'dev/pts', argv: (t) => ['mount', '--bind', '/dev/pts', t], readOnly: false },
    {
      target: 'dev/shm',
      argv: (t) => ['mount', '-t', 'tmpfs', '-o', 'nosuid,nodev,size=64m,mode=1777', 'lab-shm', t],
      readOnly: false,
    },
  ]
  const mounted: string[] = []
  let policyBackup: string | null | undefined // undefined: we did not touch policy-rc.d

  const exec = async (argv: readonly string[], o: ChrootExecOptions = {}): Promise<ChrootExecResult> => {
    const inner = o.cwd ? ['/bin/sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', o.cwd, ...argv] : argv
    return run(['chroot', dir, ...inner], {
      env: { ...CHROOT_BASE_ENV, ...(o.env ?? {}) },
      timeoutMs: o.timeoutMs ?? defaultTimeoutMs,
      allowFailure: o.allowFailure ?? false,
      ...(o.stdin !== undefined ? { input: o.stdin } : {}),
      // A daemon started in the chroot (setsid) escapes the process group: end it too.
      onTimeout: async () => {
        await killProcessesRootedIn(dir)
      },
    })
  }
  const writeInside = async (
    pathInRoot: string,
    input: { input: string | Uint8Array } | { inputFile: string },
    mode: number,
  ) => {
    assertAbsoluteInRoot(pathInRoot)
    const script = 'set -e; mkdir -p "$(dirname "$1")"; rm -f "$1"; cat > "$1"; chmod "$2" "$1"'
    await run(['chroot', dir, '/bin/sh', '-c', script, 'sh', pathInRoot, mode.toString(8)], {
      env: { ...CHROOT_BASE_ENV },
      timeoutMs: 120_000,
      ...input,
    })
  }
  const ch: Chroot = {
    root: dir,
    exec,
    sh: (script, o) => exec(['/bin/sh', '-c', script], o),
    writeFile: (p, data, o) => writeInside(p, { input: data }, o?.mode ?? 0o644),
    async copyIn(hostPath, pathInRoot, o) {
      assertAbsoluteInRoot(pathInRoot)
      const st = await stat(hostPath)
      if (st.isDirectory()) {
        const tmp = await mkdtemp(path.join(tmpdir(), 'lab-copyin-'))
        try {
          const tar = path.join(tmp, 'in.tar')
          await run(['tar', '-C', hostPath, '-cf', tar, '.'], { timeoutMs: 120_000 })
          const script = 'set -e; mkdir -p "$1"; tar --no-same-owner -xf - -C "$1"'
          await run(['chroot', dir, '/bin/sh', '-c', script, 'sh', pathInRoot], {
            env: { ...CHROOT_BASE_ENV },
            timeoutMs: 120_000,
            inputFile: tar,
          })
        } finally {
          await rm(tmp, { recursive: true, force: true })
        }
        return
      }
      await writeInside(pathInRoot, { inputFile: hostPath }, o?.mode ?? st.mode & 0o7777)
    },
    async readFile(pathInRoot) {
      assertAbsoluteInRoot(pathInRoot)
      const r = await run(['chroot', dir, 'cat', '--', pathInRoot], {
        env: { ...CHROOT_BASE_ENV },
        timeoutMs: 60_000,
        keepFinalNewline: true,
      })
      return r.stdout
    },
    async exists(pathInRoot) {
      assertAbsoluteInRoot(pathInRoot)
      const r = await exec(['test', '-e', pathInRoot], { timeoutMs: 60_000, allowFailure: true })
      return r.exitCode === 0
    },
  }

  let failure: unknown
  try {
    for (const spec of specs) {
      const target = path.join(dir, spec.target)
      await assertSafeMountPoint(dir, target)
      await run(spec.argv(target), { timeoutMs: 60_000 })
      mounted.push(target)
      // Private first: nothing mounted on or under it may propagate back to the host.
      await run(['mount', '--make-private', target], { timeoutMs: 60_000 })
      if (spec.readOnly) await run(['mount', '-o', 'remount,bind,ro', target], { timeoutMs: 60_000 })
    }
    if (opts.resolvConf ?? true) {
      const resolv = await readFile('/etc/resolv.conf').catch(() => null)
      if (resolv) await ch.writeFile('/etc/resolv.conf', resolv, { mode: 0o644 })
    }
    if (opts.policyRcD ?? true) {
      // Read inside the root: /usr/sbin resolves the way the root's own programs see it.
      const own = await exec(['test', '-f', '/usr/sbin/policy-rc.d'], {
        allowFailure: true,
        timeoutMs: 60_000,
      })
      policyBackup = own.exitCode === 0 ? await ch.readFile('/usr/sbin/policy-rc.d') : null
      await ch.writeFile('/usr/sbin/policy-rc.d', POLICY_RC_D, { mode: 0o755 })
    }
    return await fn(ch)
  } catch (e) {
    failure = e
    throw e
  } finally {
    const problems: string[] = []
    const ended = await killProcessesRootedIn(dir).catch((e: unknown) => {
      problems.push(`ending processes: ${String(e)}`)
      return []
    })
    if (ended.length > 0) log(`ended processes still running in ${dir}: ${ended.join(' ')}`)
    if (policyBackup !== undefined) {
      try {
        if (policyBackup === null)
          await run(['chroot', dir, 'rm', '-f', '/usr/sbin/policy-rc.d'], { timeoutMs: 60_000 })
        else await ch.writeFile('/usr/sbin/policy-rc.d', policyBackup, { mode: 0o755 })
      } catch (e) {
        problems.push(`restoring policy-rc.d: ${String(e)}`)
      }
    }
    for (const target of mounted.reverse()) {
      const how = await unmountOne(target)
      if (how !== 'unmounted') log(`unmount ${target}: ${how}`)
      if (how === 'failed') problems.push(`could not unmount ${target}`)
    }
    // Anything else (e.g. a mount made by a command inside) goes too.
    for (const m of await mountsUnder(dir)) {
      const how = await unmountOne(m)
      log(`unmount leftover ${m}: ${how}`)
    }
    try {
      await assertNothingMountedUnder(dir)
    } catch (e) {
      problems.push(String(e))
    }
    if (problems.length > 0) {
      // biome-ignore lint/correctness/noUnsafeFinally: a cleanup failure must not go unnoticed
      throw new Error(`withChroot cleanup failed for ${dir}: ${problems.join('; ')}`, {
        cause: failure,
      })
    }
  }
}

function assertAbsoluteInRoot(p: string): void {
  if (!p.startsWith('/')) throw new Error(`path in root must be absolute: ${p}`)
}

/** A mount point must be a real directory inside the root: a symlink could point at the host's. */
async function assertSafeMountPoint(root: string, target: string): Promise<void> {
  const st = await lstat(target).catch(() => null)
  if (!st?.isDirectory() || st.isSymbolicLink()) {
    throw new Error(`withChroot: ${target} is not a directory in the root (missing or a symlink)`)
  }
  const real = await realpath(target)
  if (!isUnder(real, root) || real === root)
    throw new Error(`withChroot: ${target} resolves outside the root`)
}
