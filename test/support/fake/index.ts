// FakeSystem: the System port over an in-memory Debian 13. It runs the same argv the step kinds
// send to the real machine, deterministically, and can persist itself after every change so that
// crash tests in child processes see exactly what survived a SIGKILL.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
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
} from '../../../src/system/port.js'
import { Accounts } from './accounts.js'
import { runArgv } from './commands.js'
import { buildDebian13, type Debian13Options } from './debian13.js'
import { FakeFs } from './fs.js'
import { type FakeJSON, type FakeSnapshot, fromJSON, snapshot, toJSON, writeAtomically } from './snapshot.js'
import {
  type ExecLogEntry,
  type FakeState,
  type PackageDef,
  type ServiceState,
  Unsupported,
} from './types.js'

export type { Debian13Options } from './debian13.js'
export type { FakeJSON, FakeSnapshot } from './snapshot.js'
export type { ExecLogEntry, PackageDef, ServiceState } from './types.js'

/** Returns a result to make `argv` fail (or answer) that way instead of running it; null: run it. */
export type Fault = (argv: readonly string[]) => ExecResult | null

export class FakeSystem implements System {
  readonly name = 'fake'
  readonly fs: FakeFs
  readonly accounts: Accounts
  private faults: Fault[] = []
  private persistPath: string | null = null

  constructor(readonly state: FakeState) {
    this.fs = new FakeFs(state.files)
    this.accounts = new Accounts(this.fs)
  }

  static debian13(opts: Debian13Options = {}): FakeSystem {
    return new FakeSystem(buildDebian13(opts))
  }

  static fromJSON(json: FakeJSON): FakeSystem {
    return new FakeSystem(fromJSON(json))
  }

  /** Loads a persisted machine and keeps persisting to the same file. */
  static load(file: string): FakeSystem {
    const sys = FakeSystem.fromJSON(JSON.parse(readFileSync(file, 'utf8')) as FakeJSON)
    sys.persistPath = file
    return sys
  }

  toJSON(): FakeJSON {
    return toJSON(this.state)
  }

  /** From now on the whole state is written atomically to `file` after every change. */
  persistTo(file: string): this {
    this.persistPath = file
    this.persist()
    return this
  }

  snapshot(opts: { includeCaches?: boolean } = {}): FakeSnapshot {
    return snapshot(this.state, opts.includeCaches ?? false)
  }

  /** Fault injection; returns a function that removes the fault again. */
  failOn(fault: Fault): () => void {
    this.faults.push(fault)
    return () => {
      this.faults = this.faults.filter((f) => f !== fault)
    }
  }

  /** url -> what probe(url) answers; '*' answers all others. Unset: 200 without a Date header. */
  get probes(): Map<string, ProbeResult> {
    return this.state.probes
  }

  /** url -> body served by download(). */
  get web(): Map<string, Buffer> {
    return this.state.web
  }

  get execLog(): readonly ExecLogEntry[] {
    return this.state.log
  }

  addPackage(name: string, def: PackageDef): void {
    this.state.universe.set(name, def)
    this.persist()
  }

  packageVersion(name: string): string | null {
    return this.state.installed.get(name)?.version ?? null
  }

  service(unit: string): ServiceState | null {
    const s = this.state.services.get(unit)
    return s ? { ...s } : null
  }

  /**
   * A transient timer (systemd-run --on-active) elapses: the timer is gone and its service is
   * active; the test runs the returned argv (what the service runs) and calls `exited()` when it
   * would have ended (the service is then gone too). null when no such timer is armed.
   */
  elapse(timer: string): { argv: string[]; exited(): void } | null {
    const s = this.state.services.get(timer)
    if (!s?.transient) return null
    const service = timer.replace(/\.timer$/, '.service')
    this.state.services.delete(timer)
    this.state.services.set(service, { enabled: false, active: true, transient: s.transient })
    this.persist()
    return {
      argv: s.transient,
      exited: () => {
        this.state.services.delete(service)
        this.persist()
      },
    }
  }

  readText(path: string): string | null {
    return this.fs.text(path)
  }

  /** Writes a file directly, creating parents: for arranging a test's starting state. */
  writeText(path: string, text: string, opts: WriteOptions = { mode: 0o644 }): void {
    this.fs.mkdirp(path.slice(0, path.lastIndexOf('/')) || '/', { mode: 0o755 })
    this.fs.write(path, text, opts)
    this.persist()
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const secrets = opts.secrets ?? []
    const entry: ExecLogEntry = { argv: argv.map((a) => redact(a, secrets)), exitCode: 0 }
    if (opts.stdin !== undefined) entry.stdin = '[redacted]'
    this.state.log.push(entry)
    let result: ExecResult
    try {
      result =
        this.faults.map((f) => f(argv)).find((r) => r !== null) ??
        runArgv(this.state, this.fs, opts.stdin, argv, 'root', opts.env)
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e
      entry.exitCode = 127
      this.persist()
      const stderr = `fake: command not supported: ${argv.join(' ')} (${e.message})`
      throw new CommandError(argv, { exitCode: 127, stdout: '', stderr }, secrets)
    }
    entry.exitCode = result.exitCode
    this.persist()
    if (opts.onLine) {
      for (const line of `${result.stdout}${result.stderr}`.split('\n'))
        if (line) opts.onLine(redact(line, secrets))
    }
    if (result.exitCode !== 0 && !opts.allowFailure) throw new CommandError(argv, result, secrets)
    return { ...result }
  }

  async stat(path: string): Promise<FileStat | null> {
    return this.fs.stat(path)
  }

  async readFile(path: string): Promise<Buffer | null> {
    return this.fs.read(path)
  }

  async writeFile(path: string, data: string | Buffer, opts: WriteOptions): Promise<void> {
    this.fs.write(path, data, opts)
    this.persist()
  }

  async removeFile(path: string): Promise<void> {
    this.fs.remove(path)
    this.persist()
  }

  async mkdir(path: string, opts: WriteOptions): Promise<void> {
    this.fs.mkdirp(path, opts)
    this.persist()
  }

  async rmdir(path: string): Promise<void> {
    this.fs.rmdir(path)
    this.persist()
  }

  async readDir(path: string): Promise<string[]> {
    return this.fs.list(path)
  }

  async download(url: string, dest: string, opts: WriteOptions): Promise<DownloadResult> {
    const body = this.state.web.get(url)
    if (!body) throw new Error(`Unable to download ${url}: HTTP 404`)
    this.fs.write(dest, body, opts)
    this.persist()
    return { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }
  }

  /** The network works unless a test says otherwise; no Date header, so no clock skew is seen. */
  async probe(url: string): Promise<ProbeResult> {
    const set = this.state.probes.get(url) ?? this.state.probes.get('*')
    if (set) return { ...set }
    return { status: 200, date: null, error: null }
  }

  private persist(): void {
    if (this.persistPath) writeAtomically(this.persistPath, JSON.stringify(this.toJSON()))
  }
}
