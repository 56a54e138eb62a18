// A real RDP client against the container: Debian's FreeRDP under Xvfb on the host, and a
// screenshot of the whole virtual screen. FreeRDP's exit code proves nothing against xrdp (it exits
// 0 for a wrong password too): the caller checks xrdp-sesman's log and the session's processes.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { sleep } from '../../lab/mounts.js'
import { cleanEnv, hostHas, run } from '../../lab/proc.js'

export const RDP_HOST_PACKAGES = ['freerdp2-x11', 'xvfb', 'imagemagick', 'x11-utils']

/** FreeRDP's X11 client on this host: xfreerdp (freerdp2-x11) or xfreerdp3 (freerdp3-x11). */
export async function freerdpBinary(): Promise<string | null> {
  for (const b of ['xfreerdp3', 'xfreerdp']) if (await hostHas(b)) return b
  return null
}

export async function rdpToolsMissing(): Promise<string[]> {
  const missing: string[] = []
  if (!(await freerdpBinary())) missing.push('xfreerdp (freerdp2-x11 or freerdp3-x11)')
  for (const b of ['Xvfb', 'import', 'xdpyinfo']) if (!(await hostHas(b))) missing.push(b)
  return missing
}

export interface RdpClient {
  display: string
  screenshot(file: string): Promise<void>
  /** Ends FreeRDP and Xvfb (process groups). */
  close(): Promise<void>
  exited(): boolean
}

interface Proc {
  child: ChildProcess
  done: Promise<void>
  isDone: () => boolean
}

function start(argv: string[], env: Record<string, string>, logFile: string): Proc {
  const [file, ...args] = argv
  const out = createWriteStream(logFile, { flags: 'a' })
  const child = spawn(file as string, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env })
  child.stdout?.pipe(out, { end: false })
  child.stderr?.pipe(out, { end: false })
  let finished = false
  const done = new Promise<void>((resolve) => {
    child.once('exit', () => {
      finished = true
      resolve()
    })
    child.once('error', () => {
      finished = true
      resolve()
    })
  })
  return { child, done, isDone: () => finished }
}

async function stop(p: Proc): Promise<void> {
  if (p.isDone() || p.child.pid === undefined) return
  const group = -p.child.pid
  try {
    process.kill(group, 'SIGTERM')
  } catch {
    return
  }
  if (await Promise.race([p.done.then(() => true), sleep(5_000).then(() => false)])) return
  try {
    process.kill(group, 'SIGKILL')
  } catch {
    // gone
  }
  await p.done
}

/**
 * Starts Xvfb on a free display and FreeRDP full-screen on it, connected to host:port as
 * user/password. Returns at once; the caller waits for the session to appear on the server side.
 */
export async function connectRdp(opts: {
  host: string
  port: number
  username: string
  password: string
  logFile: string
  width?: number
  height?: number
}): Promise<RdpClient> {
  const bin = await freerdpBinary()
  if (!bin) throw new Error('no FreeRDP client on this host')
  await mkdir(path.dirname(opts.logFile), { recursive: true })
  const w = opts.width ?? 1280
  const h = opts.height ?? 800
  let xvfb: Proc | null = null
  let display = ''
  for (let tries = 0; tries < 10 && !xvfb; tries++) {
    const displayNo = 90 + Math.floor(Math.random() * 100)
    const p = start(
      [
        'Xvfb',
        `:${displayNo}`,
        '-screen',
        '0',
        `${w}x${h}x24`,
        '-nolisten',
        'tcp',
        '-nolisten',
        'unix',
        '-listen',
        'unix',
      ],
      cleanEnv(),
      opts.logFile,
    )
    // Ready when xdpyinfo can talk to it.
    for (let i = 0; i < 50 && !p.isDone(); i++) {
      const r = await run(['xdpyinfo'], {
        env: cleanEnv({ DISPLAY: `:${displayNo}` }),
        allowFailure: true,
        timeoutMs: 5_000,
      })
      if (r.exitCode === 0) {
        xvfb = p
        display = `:${displayNo}`
        break
      }
      await sleep(100)
    }
    if (!xvfb) await stop(p)
  }
  if (!xvfb) throw new Error('Xvfb did not start')
  const env = cleanEnv({ DISPLAY: display, HOME: '/root' })
  const rdp = start(
    [
      bin,
      `/v:${opts.host}:${opts.port}`,
      `/u:${opts.username}`,
      `/p:${opts.password}`,
      '/cert:ignore',
      `/size:${w}x${h}`,
      '/sec:tls',
      '/log-level:INFO',
    ],
    env,
    opts.logFile,
  )
  const x = xvfb
  return {
    display,
    exited: () => rdp.isDone(),
    async screenshot(file: string) {
      await mkdir(path.dirname(file), { recursive: true })
      await run(['import', '-display', display, '-window', 'root', file], { env, timeoutMs: 60_000 })
    },
    async close() {
      await stop(rdp)
      await stop(x)
    },
  }
}
