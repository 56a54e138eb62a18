// A booted Debian root in systemd-nspawn: the e2e "machine under test" (container backend).
//
// Boot: `systemd-nspawn -b --network-veth --register=no --keep-unit` with the unified cgroup
// hierarchy forced (this host's PID 1 is not systemd and its cgroups are v1: without those flags
// nspawn refuses). The container gets its own network namespace; the host side of the veth
// (ve-NAME) gets 10.213.N.1/24 and the container's host0 10.213.N.2/24, so nothing on the host's
// firewall is touched (no NAT, no DNS): the container reaches only what the harness serves on
// 10.213.N.1.
//
// exec: every command runs as a transient unit of the CONTAINER's systemd. nsenter is used only to
// reach that systemd (`systemd-run --wait --pipe`); the command itself is then started by the
// container's PID 1 with the container's capability bounding set and cgroup, so `date -s` inside
// fails instead of changing the host clock. Plain `nsenter CMD` would keep the host's root powers.
//
// Teardown (down) is always safe to call: poweroff inside, then TERM/KILL of nspawn's process
// group, then checks that nothing stays mounted under the root, no process runs in it, and the veth
// is gone.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { chmod, chown, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { systemdLiteral } from '../../../src/util/systemd.js'
import { killProcessesRootedIn, mountsUnder, sleep, unmountAllUnder } from '../../lab/mounts.js'
import { type RunResult, run } from '../../lab/proc.js'
import type { Machine } from './machine.js'

export interface MachineOptions {
  /** The root directory to boot (a clone: it is changed). */
  root: string
  /** Short name (<= 11 chars: the host's veth is ve-NAME, at most 15 chars). */
  name: string
  /** Boot log (nspawn's console) goes here. */
  consoleLog: string
  /** Hard limit for the whole container life; nspawn is killed after it. Default 90 minutes. */
  lifetimeMs?: number
  /** Third octet of 10.213.N.0/24; default: a free one. */
  subnet?: number
  /**
   * System calls allowed beyond nspawn's filter (`--system-call-filter`), e.g. 'add_key keyctl bpf'
   * for Docker: without the first two runc cannot join a session keyring, without bpf it cannot set
   * its cgroup-v2 device filter, and no container starts.
   */
  systemCallFilter?: string
  log?: (line: string) => void
}

export interface ExecOptions {
  stdin?: string
  /** Default 10 minutes. The unit gets RuntimeMaxSec, the host side a slightly longer limit. */
  timeoutMs?: number
  /** Return non-zero exits instead of throwing. */
  allowFailure?: boolean
  /** Name of the transient unit (without .service); default e2e-<random>. */
  unit?: string
  env?: Record<string, string>
}

export class MachineError extends Error {}

/**
 * nspawn copies the host's device nodes (mode included) into the container's /dev. A host whose
 * /dev/null lost its 0666 (seen here once: something running as root chmod'ed it to 0600) boots a
 * container where dbus-daemon, after dropping privileges, cannot open /dev/null: no system bus, no
 * systemd-run, no logind. Say so instead of failing obscurely later.
 */
export async function assertHostDeviceModes(): Promise<void> {
  const bad: string[] = []
  for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
    const st = await stat(`/dev/${d}`).catch(() => null)
    if (st && (st.mode & 0o777) !== 0o666) bad.push(`/dev/${d} is ${(st.mode & 0o777).toString(8)}`)
  }
  if (bad.length > 0) {
    throw new MachineError(
      `host device nodes lost their 0666 mode (${bad.join(', ')}): containers would inherit it. Restore with chmod 0666 and find what changed it`,
    )
  }
}

export class NspawnMachine implements Machine {
  readonly root: string
  readonly name: string
  readonly subnet: number
  readonly hostAddress: string
  readonly address: string
  readonly veth: string
  private nspawn: ChildProcess | null = null
  private exited: Promise<number | null> | null = null
  private killTimer: NodeJS.Timeout | null = null
  private pid1: number | null = null
  private readonly log: (line: string) => void

  private constructor(
    private readonly opts: MachineOptions,
    subnet: number,
  ) {
    if (!/^[a-z0-9][a-z0-9-]{0,10}$/.test(opts.name)) throw new MachineError(`bad machine name ${opts.name}`)
    this.root = path.resolve(opts.root)
    this.name = opts.name
    this.subnet = subnet
    this.hostAddress = `10.213.${subnet}.1`
    this.address = `10.213.${subnet}.2`
    this.veth = `ve-${opts.name}`
    this.log = opts.log ?? (() => {})
  }

  /** Picks a free 10.213.N.0/24 (not on any host interface) unless one was given. */
  static async create(opts: MachineOptions): Promise<NspawnMachine> {
    const used = (await run(['ip', '-o', '-4', 'addr', 'show'], { timeoutMs: 10_000 })).stdout
    let subnet = opts.subnet
    for (let tries = 0; subnet === undefined && tries < 100; tries++) {
      const n = 10 + Math.floor(Math.random() * 240)
      if (!used.includes(`10.213.${n}.`)) subnet = n
    }
    if (subnet === undefined) throw new MachineError('no free 10.213.N.0/24 subnet')
    return new NspawnMachine(opts, subnet)
  }

  /** The hostname is the machine name, so `hostname` inside a unit proves where it ran. */
  private async prepareRoot(): Promise<void> {
    await writeFile(path.join(this.root, 'etc/hostname'), `${this.name}\n`)
  }

  /** Boots the container and waits until its systemd reports running (or degraded). */
  async up(bootTimeoutMs = 120_000): Promise<void> {
    await assertHostDeviceModes()
    await this.prepareRoot()
    await mkdir(path.dirname(this.opts.consoleLog), { recursive: true })
    const out = createWriteStream(this.opts.consoleLog)
    const argv = [
      '--keep-unit',
      '--register=no',
      '-D',
      this.root,
      '-b',
      '--network-veth',
      `--machine=${this.name}`,
      '--console=read-only',
      ...(this.opts.systemCallFilter ? [`--system-call-filter=${this.opts.systemCallFilter}`] : []),
    ]
    this.log(`boot: systemd-nspawn ${argv.join(' ')}`)
    const child = spawn('systemd-nspawn', argv, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1',
        SYSTEMD_COLORS: '0',
      },
    })
    child.stdout?.pipe(out, { end: false })
    child.stderr?.pipe(out, { end: false })
    this.nspawn = child
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        out.end()
        resolve(code)
      })
      child.once('error', () => resolve(-1))
    })
    this.killTimer = setTimeout(
      () => {
        this.log(`lifetime of ${this.name} exceeded: killing nspawn`)
        this.killGroup('SIGKILL')
      },
      this.opts.lifetimeMs ?? 90 * 60_000,
    )
    this.killTimer.unref()

    const deadline = Date.now() + bootTimeoutMs
    // Container PID 1: nspawn's child (nspawn forks once for the container's init).
    while (this.pid1 === null) {
      if (await this.hasExited())
        throw new MachineError(`nspawn exited during boot: see ${this.opts.consoleLog}`)
      if (Date.now() > deadline) throw new MachineError('container PID 1 did not appear')
      const kids = await run(['pgrep', '-P', String(child.pid)], { allowFailure: true, timeoutMs: 5_000 })
      const pid = Number(kids.stdout.trim().split('\n')[0])
      if (pid > 0) {
        const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')
        if (comm.trim() === 'systemd') this.pid1 = pid
      }
      if (this.pid1 === null) await sleep(200)
    }
    // The host side of the veth exists once nspawn set up the network namespace.
    while (
      (await run(['ip', 'link', 'show', this.veth], { allowFailure: true, timeoutMs: 5_000 })).exitCode
    ) {
      if (Date.now() > deadline) throw new MachineError(`${this.veth} did not appear`)
      await sleep(200)
    }
    await run(['ip', 'addr', 'add', `${this.hostAddress}/24`, 'dev', this.veth], { timeoutMs: 10_000 })
    await run(['ip', 'link', 'set', this.veth, 'up'], { timeoutMs: 10_000 })
    // systemd-run works once the container's PID 1 serves its private bus.
    for (;;) {
      const r = await this.exec(['true'], { allowFailure: true, timeoutMs: 10_000 }).catch(() => null)
      if (r?.exitCode === 0) break
      if (Date.now() > deadline) throw new MachineError('the container systemd never accepted systemd-run')
      await sleep(500)
    }
    const state = await this.exec(['systemctl', 'is-system-running', '--wait'], {
      allowFailure: true,
      timeoutMs: Math.max(5_000, deadline - Date.now()),
    })
    this.log(`${this.name}: system ${state.stdout.trim()}`)
    await this.exec(['ip', 'addr', 'replace', `${this.address}/24`, 'dev', 'host0'])
    await this.exec(['ip', 'link', 'set', 'host0', 'up'])
    // The host side may need a moment (DAD, carrier) before the container can reach it.
    for (;;) {
      const r = await run(['ip', '-o', 'link', 'show', this.veth], { timeoutMs: 5_000 })
      if (!r.stdout.includes('NO-CARRIER') && r.stdout.includes('state UP')) break
      if (Date.now() > deadline) throw new MachineError(`${this.veth} has no carrier: ${r.stdout}`)
      await sleep(200)
    }
  }

  private async hasExited(): Promise<boolean> {
    if (!this.exited) return true
    return Promise.race([this.exited.then(() => true), sleep(0).then(() => false)])
  }

  get containerPid1(): number {
    if (this.pid1 === null) throw new MachineError('the container is not up')
    return this.pid1
  }

  /** argv run as a transient unit of the container's systemd; stdout and stderr kept apart. */
  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 10 * 60_000
    const unit = opts.unit ?? `e2e-${randomBytes(4).toString('hex')}`
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `--setenv=${k}=${v}`)
    const full = [
      'nsenter',
      '--target',
      String(this.containerPid1),
      '--mount',
      '--uts',
      '--ipc',
      '--net',
      '--pid',
      '--',
      'systemd-run',
      '--wait',
      '--pipe',
      '--quiet',
      '--collect',
      `--unit=${unit}`,
      '--uid=root',
      `--property=RuntimeMaxSec=${Math.ceil(timeoutMs / 1000)}`,
      ...env,
      '--',
      ...argv.map(systemdLiteral),
    ]
    return run(full, {
      ...(opts.stdin !== undefined ? { input: opts.stdin } : {}),
      timeoutMs: timeoutMs + 15_000,
      allowFailure: opts.allowFailure ?? false,
      keepFinalNewline: true,
      onTimeout: async () => {
        // The host-side nsenter is gone; make sure the unit inside is too.
        await this.exec(['systemctl', 'kill', '--signal=KILL', `${unit}.service`], {
          allowFailure: true,
          timeoutMs: 10_000,
        }).catch(() => undefined)
      },
    })
  }

  /** A shell script run inside (sh -eu). */
  sh(script: string, opts: ExecOptions = {}): Promise<RunResult> {
    return this.exec(['sh', '-euc', script], opts)
  }

  /** The host path of a path inside the container. */
  hostPath(containerPath: string): string {
    const rel = path.posix.normalize(`/${containerPath}`)
    return path.join(this.root, rel)
  }

  /** Copies a host file into the root (the root is a directory on the host), owned by root. */
  async copyIn(hostPath: string, containerPath: string, mode = 0o644): Promise<void> {
    const dest = this.hostPath(containerPath)
    await mkdir(path.dirname(dest), { recursive: true })
    await copyFile(hostPath, dest)
    await chown(dest, 0, 0)
    await chmod(dest, mode)
  }

  async writeFile(containerPath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const dest = this.hostPath(containerPath)
    await mkdir(path.dirname(dest), { recursive: true })
    await writeFile(dest, content)
    await chown(dest, 0, 0)
    await chmod(dest, mode)
  }

  async readFile(containerPath: string): Promise<string | null> {
    return readFile(this.hostPath(containerPath), 'utf8').catch(() => null)
  }

  async list(containerDir: string): Promise<string[]> {
    return readdir(this.hostPath(containerDir)).catch(() => [] as string[])
  }

  async exists(containerPath: string): Promise<boolean> {
    return stat(this.hostPath(containerPath)).then(
      () => true,
      () => false,
    )
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.nspawn?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // gone
    }
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (!this.exited) return true
    return Promise.race([this.exited.then(() => true), sleep(ms).then(() => false)])
  }

  /**
   * Powers the container off and proves it is gone: nspawn exited, no process rooted in the root,
   * nothing mounted below it, the veth removed. Safe to call twice or after a failed up().
   */
  async down(): Promise<void> {
    if (this.killTimer) clearTimeout(this.killTimer)
    await run(['ip', 'addr', 'del', `${this.hostAddress}/24`, 'dev', this.veth], {
      allowFailure: true,
      timeoutMs: 10_000,
    })
    if (this.nspawn && !(await this.waitExit(0))) {
      if (this.pid1 !== null) {
        await this.exec(['systemctl', 'poweroff'], { allowFailure: true, timeoutMs: 15_000 }).catch(
          () => undefined,
        )
      }
      if (!(await this.waitExit(30_000))) {
        this.log(`${this.name}: no clean poweroff in 30 s; TERM to nspawn`)
        this.killGroup('SIGTERM')
        if (!(await this.waitExit(10_000))) {
          this.log(`${this.name}: KILL to nspawn's process group`)
          this.killGroup('SIGKILL')
          await this.waitExit(10_000)
        }
      }
    }
    this.pid1 = null
    const left = await killProcessesRootedIn(this.root)
    if (left.length > 0) this.log(`${this.name}: killed ${left.length} process(es) left in the root`)
    if ((await mountsUnder(this.root)).length > 0) await unmountAllUnder(this.root, this.log)
    // nspawn leaves its (empty) mount-propagation directory behind on a host whose /run is no tmpfs.
    await rm(`/run/systemd/nspawn/propagate/${this.name}`, { recursive: true, force: true })
    const veth = await run(['ip', 'link', 'show', this.veth], { allowFailure: true, timeoutMs: 5_000 })
    if (veth.exitCode === 0) {
      await run(['ip', 'link', 'delete', this.veth], { allowFailure: true, timeoutMs: 10_000 })
      throw new MachineError(`${this.veth} was still there after the container stopped (deleted now)`)
    }
  }
}
