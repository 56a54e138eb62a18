// Real SSH from the host into the machine under test, as a person reaches a VPS: a key made per
// test (in a private temp directory, removed by close()), appended to the machine's
// /root/.ssh/authorized_keys, and the host's OpenSSH client against the container's own sshd on
// 10.213.N.2. No host configuration or known_hosts is read or written (-F /dev/null).
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFile, chmod, mkdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { hostHas, type RunResult, run } from '../../lab/proc.js'
import { DEFAULT_CACHE_DIR } from '../../lab/trixie-root.js'
import type { NspawnMachine } from './nspawn.js'

/** Why real SSH cannot be used from this host, or null. */
export async function sshToolsMissing(): Promise<string[]> {
  const missing: string[] = []
  for (const b of ['ssh', 'ssh-keygen']) if (!(await hostHas(b))) missing.push(b)
  return missing
}

export interface SshKey {
  privateKey: string
  publicKey: string
  close(): Promise<void>
}

/** A fresh ed25519 key without a passphrase, in a 0700 directory of its own. */
export async function makeSshKey(comment: string): Promise<SshKey> {
  const dir = path.join(DEFAULT_CACHE_DIR, 'e2e', `ssh-${process.pid}-${randomBytes(3).toString('hex')}`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const privateKey = path.join(dir, 'id_ed25519')
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKey], {
    timeoutMs: 30_000,
  })
  const publicKey = (await readFile(`${privateKey}.pub`, 'utf8')).trim()
  return { privateKey, publicKey, close: () => rm(dir, { recursive: true, force: true }) }
}

/** Appends the key to root's authorized_keys inside the machine (the file the provider's image has). */
export async function authorizeRootKey(m: NspawnMachine, key: SshKey): Promise<void> {
  const file = m.hostPath('/root/.ssh/authorized_keys')
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  await appendFile(file, `${key.publicKey}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
}

/** A POSIX shell word: the remote side runs the command line through the user's shell. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`
}

export interface SshTarget {
  key: SshKey
  address: string
  user?: string
}

/** argv of the host's ssh for `command` (argv, quoted for the remote shell). */
export function sshArgv(t: SshTarget, command: readonly string[], extra: readonly string[] = []): string[] {
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-i',
    t.key.privateKey,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=10',
    // A dead peer is noticed (and the test fails) instead of hanging for hours.
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=6',
    ...extra,
    `${t.user ?? 'root'}@${t.address}`,
    '--',
    command.map(shellQuote).join(' '),
  ]
}

/** Runs a command over SSH and waits for it; a non-zero exit is returned, not thrown. */
export function ssh(
  t: SshTarget,
  command: readonly string[],
  opts: { timeoutMs?: number; extra?: readonly string[] } = {},
): Promise<RunResult> {
  return run(sshArgv(t, command, opts.extra), { allowFailure: true, timeoutMs: opts.timeoutMs ?? 60_000 })
}

/** An ssh client left running: its output, each line stamped with the host's time of arrival. */
export interface SshSession {
  child: ChildProcess
  /** [arrival ms, line] for stdout and stderr, in arrival order. */
  lines: [number, string][]
  text(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL of the ssh client only (a dropped connection, as the server sees it). */
  kill(signal?: NodeJS.Signals): void
}

export function sshSpawn(
  t: SshTarget,
  command: readonly string[],
  extra: readonly string[] = [],
): SshSession {
  const [file, ...args] = sshArgv(t, command, extra)
  const child = spawn(file as string, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
  })
  const lines: [number, string][] = []
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let rest = ''
    stream?.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n')
      rest = parts.pop() ?? ''
      for (const p of parts) lines.push([Date.now(), p])
    })
    stream?.on('end', () => {
      if (rest) lines.push([Date.now(), rest])
    })
  }
  collect(child.stdout)
  collect(child.stderr)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }))
    child.once('error', () => resolve({ code: -1, signal: null }))
  })
  return {
    child,
    lines,
    text: () => lines.map(([, l]) => l).join('\n'),
    exited,
    kill(signal = 'SIGKILL') {
      if (child.pid !== undefined && child.exitCode === null) child.kill(signal)
    },
  }
}
