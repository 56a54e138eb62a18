// The System port: every read of and change to the machine being provisioned goes through here.
// The real implementation (real.ts) runs argv arrays with execa and touches the real filesystem;
// the in-memory Debian of the tests understands the same argv. Nothing else in the code base may
// spawn a process or touch a path of the managed machine. (Our own state under /var/vps-provision,
// and the `flock` that guards it, are the engine's, not the machine's.)

export interface ExecOptions {
  /** Written to the child's stdin (e.g. chpasswd input); stdin is closed otherwise. */
  stdin?: string
  /** Milliseconds; the real system defaults to 30 minutes for apt, 2 minutes otherwise. */
  timeoutMs?: number
  /** Extra environment on top of the fixed one (LC_ALL=C, DEBIAN_FRONTEND=noninteractive...). */
  env?: Record<string, string>
  /** Return a non-zero exit instead of throwing CommandError. */
  allowFailure?: boolean
  /** Values to redact from error messages and logs (passwords). */
  secrets?: readonly string[]
  /** Called with each line of output while the command runs (progress for long apt work). */
  onLine?: (line: string) => void
}

export interface ExecResult {
  exitCode: number
  stdout: string
  stderr: string
}

export type FileKind = 'file' | 'dir' | 'symlink' | 'other'

export interface FileStat {
  kind: FileKind
  mode: number // permission bits only, e.g. 0o644
  uid: number
  gid: number
  size: number
  /** Last modification (ms since the epoch), where the system knows it. */
  mtimeMs?: number
}

export interface WriteOptions {
  mode: number
  uid?: number
  gid?: number
}

export interface System extends Downloader {
  /** A short name for messages: "real", "fake". */
  readonly name: string
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>
  /** null when the path does not exist. Never follows a symlink for the final component. */
  stat(path: string): Promise<FileStat | null>
  readFile(path: string): Promise<Buffer | null>
  /** Atomic: temp file in the same directory, fsync, rename. Parent directories must exist. */
  writeFile(path: string, data: string | Buffer, opts: WriteOptions): Promise<void>
  /** Removes a file or symlink; missing is fine. Refuses directories. */
  removeFile(path: string): Promise<void>
  /** Creates missing parents too; existing is fine. */
  mkdir(path: string, opts: WriteOptions): Promise<void>
  /** Removes an empty directory; missing is fine. */
  rmdir(path: string): Promise<void>
  readDir(path: string): Promise<string[]>
}

/** A failed command. The message shows argv, the exit code and the tail of stderr, never secrets. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
    secrets: readonly string[] = [],
  ) {
    const tail = lastLines(result.stderr || result.stdout, 8)
    super(redact(`\`${argv.join(' ')}\` exited ${result.exitCode}${tail ? `: ${tail}` : ''}`, secrets))
    this.name = 'CommandError'
  }
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n').trim()
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('[REDACTED]')
  return out
}

export interface DownloadResult {
  bytes: number
  sha256: string
}

export interface ProbeResult {
  /** HTTP status, or null when no answer came (DNS, refused, timeout). */
  status: number | null
  /** The server's Date header: a wrong local clock makes apt reject Release files. */
  date: string | null
  error: string | null
}

/** Network access the System needs besides apt: downloads with resume, reachability probes. */
export interface Downloader {
  /** One HEAD (falling back to GET) request with a short timeout; never throws. */
  probe(url: string): Promise<ProbeResult>

  /**
   * Fetches `url` into `dest` (atomic: `dest.part` then rename), resuming a partial `dest.part`
   * with an HTTP Range request. Retries transient failures with backoff.
   */
  download(url: string, dest: string, opts: WriteOptions, hooks?: DownloadHooks): Promise<DownloadResult>
}

export interface DownloadHooks {
  /** Told before each wait for a retry: which attempt failed, why, and how long until the next. */
  onRetry?: (text: string) => void
}
