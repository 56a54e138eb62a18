// The System port on the real machine: execa with argv arrays (never a shell) and a fixed
// environment, node:fs for files, global fetch for downloads. This file is the only place that
// spawns processes or touches the managed machine's paths.
import { createHash, randomBytes } from 'node:crypto'
import { constants, createReadStream } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { constants as osConstants } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { execa, type Options } from 'execa'
import { childEnv, defaultTimeoutMs } from './env.js'
import {
  CommandError,
  type DownloadResult,
  type ExecOptions,
  type ExecResult,
  type FileStat,
  type ProbeResult,
  redact,
  type System,
  type WriteOptions,
} from './port.js'

export interface RealSystemOptions {
  /** First retry delay of download(), doubled on each retry. Tests pass a few milliseconds. */
  retryBaseMs?: number
  /** Retries after the first attempt for transient failures (network errors, 5xx, 429). */
  retries?: number
}

export function createRealSystem(options: RealSystemOptions = {}): System {
  return {
    name: 'real',
    exec,
    stat,
    readFile,
    writeFile,
    removeFile,
    mkdir,
    rmdir,
    readDir,
    download: (url, dest, opts) => download(url, dest, opts, options),
    probe,
  }
}

/**
 * HEAD, or GET when the server refuses HEAD; never throws. 30 seconds per attempt, and a second
 * attempt after a network error: a first-boot VPS (or a slow emulated one) may answer late once.
 */
async function probe(url: string): Promise<ProbeResult> {
  const first = await probeOnce(url)
  if (first.status !== null) return first
  await new Promise((resolve) => setTimeout(resolve, PROBE_RETRY_DELAY_MS))
  return probeOnce(url)
}

const PROBE_TIMEOUT_MS = 30_000
const PROBE_RETRY_DELAY_MS = 2_000

async function probeOnce(url: string): Promise<ProbeResult> {
  try {
    const signal = () => AbortSignal.timeout(PROBE_TIMEOUT_MS)
    let res = await fetch(url, { method: 'HEAD', redirect: 'follow', signal: signal() })
    if (res.status === 405 || res.status === 501) {
      res = await fetch(url, { redirect: 'follow', signal: signal() })
      await res.body?.cancel()
    }
    return { status: res.status, date: res.headers.get('date'), error: null }
  } catch (e) {
    const cause = (e as Error).cause as { code?: string; message?: string } | undefined
    return { status: null, date: null, error: cause?.code ?? cause?.message ?? (e as Error).message }
  }
}

async function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv
  if (!file) throw new Error('exec needs a program to run')
  // A child may echo its stdin back (chpasswd does on errors): keep stdin out of error messages.
  const secrets = [...(opts.secrets ?? []), ...secretLines(opts.stdin)]
  const timeout = opts.timeoutMs ?? defaultTimeoutMs(argv)
  const { onLine } = opts
  const tap = onLine
    ? {
        *transform(line: unknown) {
          onLine(redact(String(line).replace(/\r?\n$/, ''), opts.secrets ?? []))
          yield line
        },
        preserveNewlines: true,
      }
    : 'pipe'
  const execaOptions: Options = {
    extendEnv: false,
    env: childEnv(opts.env),
    cwd: '/',
    reject: false,
    stripFinalNewline: false,
    timeout,
    ...(opts.stdin === undefined ? { stdin: 'ignore' as const } : { input: opts.stdin }),
    stdout: tap,
    stderr: tap,
  }
  const r = await execa(file, args, execaOptions)
  const stdout = typeof r.stdout === 'string' ? r.stdout : ''
  const stderr = typeof r.stderr === 'string' ? r.stderr : ''
  if (r.timedOut) {
    const note = `timed out after ${Math.round(timeout / 100) / 10} s and was killed`
    throw new CommandError(argv, { exitCode: 124, stdout, stderr: `${stderr}\n${note}` }, secrets)
  }
  let result: ExecResult
  if (r.exitCode !== undefined) result = { exitCode: r.exitCode, stdout, stderr }
  else if (r.code === 'ENOENT') result = { exitCode: 127, stdout: '', stderr: `command not found: ${file}` }
  else if (r.code === 'EACCES') result = { exitCode: 126, stdout: '', stderr: `permission denied: ${file}` }
  else if (r.signal) {
    const signo = osConstants.signals[r.signal as keyof typeof osConstants.signals] ?? 0
    result = { exitCode: 128 + signo, stdout, stderr: `${stderr}\nkilled by ${r.signal}` }
  } else result = { exitCode: 1, stdout, stderr: `${stderr}\n${r.shortMessage}` }
  if (result.exitCode !== 0 && !opts.allowFailure) throw new CommandError(argv, result, secrets)
  return result
}

function secretLines(stdin: string | undefined): string[] {
  if (!stdin) return []
  return [stdin, ...stdin.split('\n').map((l) => l.trim())].filter((l) => l.length >= 4)
}

const isMissing = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

async function stat(path: string): Promise<FileStat | null> {
  try {
    const s = await fsp.lstat(path)
    const kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other'
    return { kind, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size }
  } catch (e) {
    if (isMissing(e)) return null
    throw e
  }
}

async function readFile(path: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(path)
  } catch (e) {
    if (isMissing(e)) return null
    throw e
  }
}

async function writeFile(path: string, data: string | Buffer, opts: WriteOptions): Promise<void> {
  const existing = await stat(path)
  // Replacing a symlink would silently redirect a config edit somewhere else; a person must decide.
  if (existing && existing.kind !== 'file') {
    throw new Error(`Unable to write ${path}: it is a ${existing.kind}, not a regular file`)
  }
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
  const fh = await fsp.open(tmp, flags, 0o600)
  try {
    try {
      await fh.writeFile(data)
      await setOwnerAndMode(fh, opts)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fsp.rename(tmp, path)
  } catch (e) {
    await fsp.rm(tmp, { force: true })
    throw e
  }
  await syncDir(dir)
}

async function setOwnerAndMode(fh: fsp.FileHandle, opts: WriteOptions): Promise<void> {
  if (opts.uid !== undefined || opts.gid !== undefined) await fh.chown(opts.uid ?? -1, opts.gid ?? -1)
  // After chown, which clears setuid bits (chrome-sandbox needs 4755); and the umask does not apply.
  await fh.chmod(opts.mode)
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

async function removeFile(path: string): Promise<void> {
  const s = await stat(path)
  if (!s) return
  if (s.kind === 'dir') throw new Error(`Unable to remove ${path}: it is a directory`)
  try {
    await fsp.unlink(path)
  } catch (e) {
    if (!isMissing(e)) throw e
  }
}

async function mkdir(path: string, opts: WriteOptions): Promise<void> {
  const missing: string[] = []
  for (let p = path; ; p = dirname(p)) {
    const s = await stat(p)
    if (s) {
      if (!(await fsp.stat(p)).isDirectory())
        throw new Error(`Unable to create ${path}: ${p} is not a directory`)
      break
    }
    missing.unshift(p)
    if (dirname(p) === p) break
  }
  for (const dir of missing) {
    try {
      await fsp.mkdir(dir, { mode: 0o700 })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue // created concurrently: not ours
      throw e
    }
    const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    try {
      await setOwnerAndMode(fh, opts)
    } finally {
      await fh.close()
    }
  }
}

async function rmdir(path: string): Promise<void> {
  try {
    await fsp.rmdir(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}

async function readDir(path: string): Promise<string[]> {
  try {
    return (await fsp.readdir(path)).sort()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
}

async function download(
  url: string,
  dest: string,
  opts: WriteOptions,
  options: RealSystemOptions,
): Promise<DownloadResult> {
  const existing = await stat(dest)
  if (existing && existing.kind !== 'file') {
    throw new Error(`Unable to download ${url}: ${dest} is a ${existing.kind}, not a regular file`)
  }
  const part = `${dest}.part`
  // A planted .part (a symlink to /etc/shadow) would otherwise be resumed into, or appended to.
  const partial = await stat(part)
  if (partial && partial.kind !== 'file') {
    throw new Error(`Unable to download ${url}: ${part} is a ${partial.kind}, not a regular file`)
  }
  const retries = options.retries ?? 3
  const baseMs = options.retryBaseMs ?? 1000
  for (let attempt = 0; ; attempt++) {
    const transient = await fetchOnce(url, part)
    if (transient === null) break
    if (attempt >= retries)
      throw new Error(`Unable to download ${url}: ${transient} (${attempt + 1} attempts)`)
    await new Promise((r) => setTimeout(r, baseMs * 2 ** attempt))
  }
  const result = await hashFile(part)
  const fh = await fsp.open(part, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    await setOwnerAndMode(fh, opts)
  } finally {
    await fh.close()
  }
  await fsp.rename(part, dest)
  await syncDir(dirname(dest))
  return result
}

/** One request into `part`, resuming what is there. null when complete, else why it may be retried. */
async function fetchOnce(url: string, part: string): Promise<string | null> {
  const offset = (await stat(part))?.size ?? 0
  const headers: Record<string, string> = { 'user-agent': 'vps-provision' }
  if (offset > 0) headers.range = `bytes=${offset}-`
  let res: Response
  try {
    res = await fetch(url, { headers, redirect: 'follow' })
  } catch (e) {
    return `network error: ${(e as Error).cause ?? (e as Error).message}`
  }
  if (res.status === 429 || res.status >= 500 || res.status === 416) {
    await res.body?.cancel()
    // 416: the partial file no longer fits what the server has; start over.
    if (res.status === 416) await fsp.rm(part, { force: true })
    return `HTTP ${res.status}`
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel()
    throw new Error(`Unable to download ${url}: HTTP ${res.status}`)
  }
  const start = Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] ?? Number.NaN)
  const append = res.status === 206 && start === offset
  if (res.status === 206 && !append) {
    await res.body?.cancel()
    await fsp.rm(part, { force: true })
    return 'unexpected partial content'
  }
  const mode = append ? constants.O_APPEND : constants.O_TRUNC
  const fh = await fsp.open(part, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | mode, 0o600)
  let received = 0
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        await fh.write(chunk)
        received += chunk.byteLength
      }
    }
    await fh.sync()
  } catch (e) {
    return `interrupted: ${(e as Error).message}`
  } finally {
    await fh.close()
  }
  const expected = Number(res.headers.get('content-length') ?? Number.NaN)
  if (Number.isFinite(expected) && received < expected) return `short read (${received} of ${expected} bytes)`
  return null
}

async function hashFile(path: string): Promise<DownloadResult> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return { bytes, sha256: hash.digest('hex') }
}
