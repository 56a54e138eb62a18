// A Debian 13 "VPS" as a qemu VM: the e2e machine under test (VM backend). A real kernel, real
// firmware-level reset, a real firewall; what the container backend cannot give.
//
// Boot: qemu-system-x86_64 with -kernel/-initrd copied from the image's /boot (vm-image.ts), a
// fresh qcow2 overlay (cache=unsafe: the guest's flushes are not forced to the host's disk, which
// only matters if the HOST crashes; a guest reset keeps everything written), 2 vCPUs, 4 GiB unless
// told otherwise. KVM is probed once per process (this host's KVM fails: "failed to set MSR
// 0x10a" or a "KVM internal error" at the first VEX instruction); without it, TCG
// (`-accel tcg,thread=multi -cpu max`). Which one ran is logged.
//
// Network: qemu user-mode networking with restrict=on, so the guest reaches nothing but
//   - the harness's apt proxy, as http://10.0.2.100 (guestfwd: one `node fwd.mjs` per connection
//     to the proxy on the host's 127.0.0.1),
//   - and is reached on two host ports bound to 127.0.0.1 only: SSH (22) and RDP (3389).
//
// exec: SSH as root with a key made for this VM (passed in with -fw_cfg, see vm-image.ts), and
// inside the same `systemd-run --wait --pipe` as the container backend: the command is a unit of
// the guest's systemd with RuntimeMaxSec, nameable so a test can `systemctl kill` it.
//
// Every VM has a hard lifetime; down() powers it off, then quits or kills qemu (process group).
// The serial console goes to the scenario's console.log; QMP (a unix socket) gives hardReset().
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import net, { type AddressInfo } from 'node:net'
import path from 'node:path'
import { systemdLiteral } from '../../../src/util/systemd.js'
import { sleep } from '../../lab/mounts.js'
import { type RunResult, run } from '../../lab/proc.js'
import type { Machine } from './machine.js'
import { type ExecOptions, MachineError } from './nspawn.js'
import { FW_CFG_KEY, GUEST_PROXY_HOST, type VmImage } from './vm-image.js'

export type Accel = 'kvm' | 'tcg'

export interface QemuOptions {
  name: string
  image: VmImage
  /** The qcow2 overlay to boot (created by the caller: createOverlay). */
  overlay: string
  /** Where the key, sockets and the forwarder live; removed by down(). */
  runDir: string
  consoleLog: string
  /** The harness's apt proxy on the host's 127.0.0.1, reached from the guest as 10.0.2.100:80. */
  proxyPort: number
  memoryMiB?: number
  cpus?: number
  /** A NoCloud seed image (cloud-localds); without one, cloud-init=disabled on the command line. */
  seed?: string
  /**
   * up() waits for `systemctl is-system-running --wait` unless false: with cloud-init starting a
   * long oneshot unit at boot (the first-boot run), the boot's job queue empties only after it.
   */
  waitForBoot?: boolean
  /** Hard limit for the VM's life; qemu is killed after it. Default 120 minutes. */
  lifetimeMs?: number
  log?: (line: string) => void
}

const FORWARDER = `// e2e harness: one guest connection to 10.0.2.100:80 <-> the apt proxy on 127.0.0.1.
import net from 'node:net'
const s = net.connect(Number(process.argv[3]), process.argv[2])
process.stdin.pipe(s)
s.pipe(process.stdout)
s.on('error', () => process.exit(1))
s.on('close', () => process.exit(0))
process.stdin.on('error', () => s.destroy())
`

/** A free TCP port on 127.0.0.1 (bound, read, released). */
async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

/** One single-quoted shell word (ssh hands the remote shell one string). */
export const shq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

let accelProbe: Promise<{ accel: Accel; why: string }> | null = null

/**
 * KVM or TCG for this host, decided once per process: a KVM boot of the image on a throwaway
 * overlay must print the kernel's first lines and no "KVM internal error" within 20 s.
 * E2E_VM_ACCEL=tcg|kvm skips the probe.
 */
export function probeAccel(image: VmImage, runDir: string): Promise<{ accel: Accel; why: string }> {
  const forced = process.env.E2E_VM_ACCEL
  if (forced === 'tcg' || forced === 'kvm') return Promise.resolve({ accel: forced, why: 'E2E_VM_ACCEL' })
  accelProbe ??= (async () => {
    const kvmOk = await readFile('/dev/kvm').then(
      () => true,
      (e: NodeJS.ErrnoException) => e.code !== 'ENOENT' && e.code !== 'EACCES',
    )
    if (!kvmOk) return { accel: 'tcg' as const, why: '/dev/kvm is missing or not accessible' }
    await mkdir(runDir, { recursive: true })
    const overlay = path.join(runDir, 'kvm-probe.qcow2')
    const consoleLog = path.join(runDir, 'kvm-probe.console')
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.base, overlay])
    const r = await run(
      [
        'qemu-system-x86_64',
        '-enable-kvm',
        '-cpu',
        'host',
        '-m',
        '1024',
        '-nodefaults',
        '-display',
        'none',
        '-no-reboot',
        '-serial',
        `file:${consoleLog}`,
        '-kernel',
        image.kernel,
        '-initrd',
        image.initrd,
        '-append',
        'root=/dev/vda ro console=ttyS0 panic=-1 cloud-init=disabled',
        '-drive',
        `file=${overlay},if=virtio,format=qcow2,cache=unsafe`,
        '-nic',
        'none',
      ],
      { allowFailure: true, timeoutMs: 20_000 },
    )
    const text = await readFile(consoleLog, 'utf8').catch(() => '')
    await rm(overlay, { force: true })
    await rm(consoleLog, { force: true })
    const err = `${r.stderr}\n${text}`
    const failure = /KVM internal error|failed to set MSR[^\n]*|kvm: [^\n]*/i.exec(err)?.[0]
    if (failure) return { accel: 'tcg' as const, why: `KVM failed: ${failure.trim()}` }
    if (!r.timedOut)
      return { accel: 'tcg' as const, why: `KVM probe exited ${r.exitCode}: ${r.stderr.trim()}` }
    if (!/systemd\[1\]|Run \/init|EXT4-fs \(vda\)/.test(text))
      return { accel: 'tcg' as const, why: 'KVM made no boot progress in 20 s' }
    return { accel: 'kvm' as const, why: 'the KVM probe booted to userspace' }
  })()
  return accelProbe
}

export class QemuMachine implements Machine {
  readonly name: string
  sshPort = 0
  rdpPort = 0
  accel: Accel = 'tcg'
  private qemu: ChildProcess | null = null
  private exited: Promise<number | null> | null = null
  private killTimer: NodeJS.Timeout | null = null
  private readonly log: (line: string) => void
  private readonly key: string
  private readonly qmpSocket: string

  constructor(private readonly opts: QemuOptions) {
    this.name = opts.name
    this.log = opts.log ?? (() => {})
    this.key = path.join(opts.runDir, 'id_ed25519')
    this.qmpSocket = path.join(opts.runDir, 'qmp.sock')
  }

  /** Starts qemu and waits until SSH answers and the guest's systemd finished booting. */
  async up(bootTimeoutMs = 25 * 60_000): Promise<void> {
    const o = this.opts
    await mkdir(o.runDir, { recursive: true })
    await mkdir(path.dirname(o.consoleLog), { recursive: true })
    await rm(this.key, { force: true })
    await rm(`${this.key}.pub`, { force: true })
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `e2e-${o.name}`, '-f', this.key])
    const forwarder = path.join(o.runDir, 'fwd.mjs')
    await writeFile(forwarder, FORWARDER)
    const probe = await probeAccel(o.image, o.runDir)
    this.accel = probe.accel
    this.log(`accelerator: ${probe.accel} (${probe.why})`)
    this.sshPort = await freePort()
    this.rdpPort = await freePort()
    const cmdline = [
      'root=/dev/vda',
      'rw',
      'console=ttyS0',
      'panic=-1',
      'net.ifnames=0',
      ...(o.seed ? [] : ['cloud-init=disabled']),
    ].join(' ')
    const netdev = [
      'user',
      'id=n0',
      'restrict=on',
      `hostfwd=tcp:127.0.0.1:${this.sshPort}-:22`,
      `hostfwd=tcp:127.0.0.1:${this.rdpPort}-:3389`,
      `guestfwd=tcp:${GUEST_PROXY_HOST}:80-cmd:${process.execPath} ${forwarder} 127.0.0.1 ${o.proxyPort}`,
    ].join(',')
    const argv = [
      ...(this.accel === 'kvm'
        ? ['-enable-kvm', '-cpu', 'host']
        : ['-accel', 'tcg,thread=multi,tb-size=512', '-cpu', 'max']),
      '-name',
      o.name,
      '-m',
      String(o.memoryMiB ?? 4096),
      '-smp',
      String(o.cpus ?? 2),
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      `file:${o.consoleLog}`,
      '-qmp',
      `unix:${this.qmpSocket},server=on,wait=off`,
      '-kernel',
      o.image.kernel,
      '-initrd',
      o.image.initrd,
      '-append',
      cmdline,
      '-drive',
      `file=${o.overlay},if=virtio,format=qcow2,cache=unsafe,discard=unmap`,
      ...(o.seed ? ['-drive', `file=${o.seed},if=virtio,format=raw,readonly=on`] : []),
      '-netdev',
      netdev,
      '-device',
      'virtio-net-pci,netdev=n0',
      '-device',
      'virtio-rng-pci',
      '-fw_cfg',
      `name=${FW_CFG_KEY},file=${this.key}.pub`,
    ]
    this.log(`boot: qemu-system-x86_64 ${argv.join(' ')}`)
    const child = spawn('qemu-system-x86_64', argv, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    })
    let qemuOut = ''
    child.stdout?.on('data', (c: Buffer) => {
      qemuOut += c.toString()
    })
    child.stderr?.on('data', (c: Buffer) => {
      qemuOut += c.toString()
    })
    this.qemu = child
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        if (qemuOut.trim()) this.log(`qemu said: ${qemuOut.trim().slice(-2000)}`)
        resolve(code)
      })
      child.once('error', () => resolve(-1))
    })
    this.killTimer = setTimeout(
      () => {
        this.log(`lifetime of ${o.name} exceeded: killing qemu`)
        this.killGroup('SIGKILL')
      },
      o.lifetimeMs ?? 120 * 60_000,
    )
    this.killTimer.unref()
    const started = Date.now()
    await this.waitForSsh(bootTimeoutMs)
    this.log(`${o.name}: SSH answers ${Math.round((Date.now() - started) / 1000)} s after qemu started`)
    if (o.waitForBoot === false) return
    const state = await this.exec(['systemctl', 'is-system-running', '--wait'], {
      allowFailure: true,
      timeoutMs: Math.max(30_000, bootTimeoutMs - (Date.now() - started)),
    })
    this.log(
      `${o.name}: system ${state.stdout.trim()} ${Math.round((Date.now() - started) / 1000)} s after qemu started`,
    )
  }

  /** Waits until `ssh root@ true` succeeds (after up() or a reset). */
  async waitForSsh(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (await this.hasExited()) throw new MachineError(`qemu exited: see ${this.opts.consoleLog}`)
      const r = await run(this.sshArgv(['true'], 10), { allowFailure: true, timeoutMs: 20_000 })
      if (r.exitCode === 0) return
      if (Date.now() > deadline)
        throw new MachineError(
          `no SSH on 127.0.0.1:${this.sshPort} after ${timeoutMs} ms: ${r.stderr.trim()}`,
        )
      await sleep(3000)
    }
  }

  private sshArgv(remote: readonly string[], connectTimeoutS = 20): string[] {
    return [
      'ssh',
      '-i',
      this.key,
      '-p',
      String(this.sshPort),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'LogLevel=ERROR',
      '-o',
      `ConnectTimeout=${connectTimeoutS}`,
      '-o',
      'ServerAliveInterval=15',
      '-o',
      'ServerAliveCountMax=12',
      'root@127.0.0.1',
      '--',
      remote.map(shq).join(' '),
    ]
  }

  /** A plain SSH command as root (no systemd-run): for file transfer and probing. */
  ssh(
    remote: readonly string[],
    opts: { input?: string | Uint8Array; inputFile?: string; timeoutMs?: number } = {},
  ) {
    return run(this.sshArgv(remote), {
      allowFailure: true,
      timeoutMs: opts.timeoutMs ?? 5 * 60_000,
      keepFinalNewline: true,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.inputFile !== undefined ? { inputFile: opts.inputFile } : {}),
    })
  }

  /** An SSH login as `user` with `key` (a key the test made): proves sshd lets that user in. */
  sshAs(user: string, key: string, remote: readonly string[]): Promise<RunResult> {
    const argv = this.sshArgv(remote)
    argv[2] = key
    argv[argv.length - 3] = `${user}@127.0.0.1`
    return run(argv, { allowFailure: true, timeoutMs: 60_000 })
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 10 * 60_000
    const unit = opts.unit ?? `e2e-${randomBytes(4).toString('hex')}`
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `--setenv=${k}=${v}`)
    const remote = [
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
    const r = await run(this.sshArgv(remote), {
      ...(opts.stdin !== undefined ? { input: opts.stdin } : {}),
      timeoutMs: timeoutMs + 30_000,
      allowFailure: true,
      keepFinalNewline: true,
      onTimeout: async () => {
        await this.ssh(['systemctl', 'kill', '--signal=KILL', `${unit}.service`], { timeoutMs: 20_000 })
      },
    })
    // ssh's own failure (255) is not the command's: say so instead of a confusing exit code.
    if (
      r.exitCode === 255 &&
      /^ssh: |kex_exchange_identification|^Connection (closed|reset) by/m.test(r.stderr)
    )
      throw new MachineError(`SSH to ${this.name} failed: ${r.stderr.trim()}`)
    if (!(opts.allowFailure ?? false) && (r.exitCode !== 0 || r.timedOut)) {
      throw new MachineError(
        `\`${argv.join(' ')}\` in ${this.name} ${r.timedOut ? 'timed out' : `exited ${r.exitCode}`}:\n${`${r.stdout}\n${r.stderr}`.trim().slice(-2000)}`,
      )
    }
    return { ...r, argv }
  }

  sh(script: string, opts: ExecOptions = {}): Promise<RunResult> {
    return this.exec(['sh', '-euc', script], opts)
  }

  private async put(guestPath: string, mode: number, input: { input?: Buffer | string; inputFile?: string }) {
    const tmp = `${guestPath}.e2e-${randomBytes(3).toString('hex')}`
    const script = `mkdir -p "$(dirname "$1")" && cat > "$2" && chown 0:0 "$2" && chmod ${mode.toString(8)} "$2" && mv -f "$2" "$1"`
    const r = await this.ssh(['sh', '-euc', script, 'put', guestPath, tmp], input)
    if (r.exitCode !== 0)
      throw new MachineError(`could not write ${guestPath} in ${this.name}: ${r.stderr.trim()}`)
  }

  copyIn(hostPath: string, guestPath: string, mode = 0o644): Promise<void> {
    return this.put(guestPath, mode, { inputFile: hostPath })
  }

  writeFile(guestPath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    return this.put(guestPath, mode, { input: content })
  }

  async readFile(guestPath: string): Promise<string | null> {
    const r = await this.ssh(['cat', '--', guestPath], { timeoutMs: 60_000 })
    return r.exitCode === 0 ? r.stdout : null
  }

  async list(guestDir: string): Promise<string[]> {
    const r = await this.ssh(['ls', '-1A', guestDir], { timeoutMs: 60_000 })
    return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : []
  }

  async exists(guestPath: string): Promise<boolean> {
    return (await this.ssh(['test', '-e', guestPath], { timeoutMs: 60_000 })).exitCode === 0
  }

  /** One QMP command (qmp_capabilities first); returns the reply line. */
  async qmp(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(this.qmpSocket)
      let buf = ''
      let sent = false
      const timer = setTimeout(() => {
        sock.destroy()
        reject(new MachineError(`QMP ${command}: no answer in 10 s`))
      }, 10_000)
      sock.on('data', (c) => {
        buf += c.toString()
        const lines = buf.split('\n')
        buf = lines.pop() ?? ''
        for (const line of lines) {
          if (line.includes('"QMP"')) sock.write('{"execute":"qmp_capabilities"}\n')
          else if (line.includes('"return"') && !sent) {
            sent = true
            sock.write(`{"execute":"${command}"}\n`)
          } else if ((line.includes('"return"') || line.includes('"error"')) && sent) {
            clearTimeout(timer)
            sock.end()
            resolve(line)
          }
        }
      })
      sock.on('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
    })
  }

  /** Pulls the plug: a firmware-level reset, no shutdown, nothing flushed by the guest. */
  async hardReset(): Promise<void> {
    const reply = await this.qmp('system_reset')
    if (!reply.includes('"return"')) throw new MachineError(`system_reset refused: ${reply}`)
    this.log(`${this.name}: system_reset`)
  }

  private async hasExited(): Promise<boolean> {
    if (!this.exited) return true
    return Promise.race([this.exited.then(() => true), sleep(0).then(() => false)])
  }

  private async waitExit(ms: number): Promise<boolean> {
    if (!this.exited) return true
    return Promise.race([this.exited.then(() => true), sleep(ms).then(() => false)])
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.qemu?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // gone
    }
  }

  /** poweroff inside, then QMP quit, then KILL of qemu's process group; always leaves no qemu. */
  async down(): Promise<void> {
    if (this.killTimer) clearTimeout(this.killTimer)
    if (this.qemu && !(await this.waitExit(0))) {
      await this.ssh(['systemctl', 'poweroff'], { timeoutMs: 20_000 }).catch(() => undefined)
      if (!(await this.waitExit(60_000))) {
        this.log(`${this.name}: no clean poweroff in 60 s; QMP quit`)
        await this.qmp('quit').catch(() => undefined)
        if (!(await this.waitExit(10_000))) {
          this.log(`${this.name}: KILL to qemu's process group`)
          this.killGroup('SIGKILL')
          await this.waitExit(10_000)
        }
      }
    }
    this.killGroup('SIGKILL') // forwarders left by the guest's open connections
    if (this.qemu && !(await this.waitExit(0))) throw new MachineError(`qemu of ${this.name} did not exit`)
    await rm(this.opts.runDir, { recursive: true, force: true })
  }
}
