// A real RDP client against the container: Debian's FreeRDP under Xvfb on the host, and a
// screenshot of the whole virtual screen. FreeRDP's exit code proves nothing against xrdp (it exits
// 0 for a wrong password too): the caller checks xrdp-sesman's log and the session's processes.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { sleep } from '../../lab/mounts.js'
import { cleanEnv, hostHas, run } from '../../lab/proc.js'
import type { Machine } from './machine.js'

export const RDP_HOST_PACKAGES = ['freerdp2-x11', 'xvfb', 'imagemagick', 'x11-utils']

/** FreeRDP's X11 client on this host: xfreerdp (freerdp2-x11) or xfreerdp3 (freerdp3-x11). */
export async function freerdpBinary(): Promise<string | null> {
  for (const b of ['xfreerdp3', 'xfreerdp']) if (await hostHas(b)) return b
  return null
}

export async function rdpToolsMissing(): Promise<string[]> {
  const missing: string[] = []
  if (!(await freerdpBinary())) missing.push('xfreerdp (freerdp2-x11 or freerdp3-x11)')
  for (const b of ['Xvfb', 'import', 'compare', 'xdpyinfo']) if (!(await hostHas(b))) missing.push(b)
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
  /**
   * How FreeRDP judges the server's certificate: `ignore` (the default, as scenario A connects),
   * `tofu` (accept and store it in $HOME/.config/freerdp/known_hosts2), or
   * `fingerprint:sha256:<hex>` (accept only that certificate).
   */
  cert?: string
  /** FreeRDP's HOME (where tofu stores what it saw); default /root. */
  home?: string
  /** Redirect the clipboard (+clipboard); left to FreeRDP's default when absent. */
  clipboard?: boolean
  /** `/sound:<value>` (e.g. `sys:fake`): open the audio output channel. */
  sound?: string
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
  const env = cleanEnv({ DISPLAY: display, HOME: opts.home ?? '/root' })
  const rdp = start(
    [
      bin,
      `/v:${opts.host}:${opts.port}`,
      `/u:${opts.username}`,
      `/p:${opts.password}`,
      `/cert:${opts.cert ?? 'ignore'}`,
      `/size:${w}x${h}`,
      '/sec:tls',
      '/log-level:INFO',
      ...(opts.clipboard === undefined ? [] : [opts.clipboard ? '+clipboard' : '-clipboard']),
      ...(opts.sound ? [`/sound:${opts.sound}`] : []),
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

/** Mean grey level of an image, 0 (black) to 1 (white), by ImageMagick. */
export async function brightness(file: string): Promise<number> {
  const r = await run(['convert', file, '-colorspace', 'gray', '-format', '%[fx:mean]', 'info:'], {
    timeoutMs: 60_000,
  })
  return Number(r.stdout.trim())
}

/** `running(comm)` for waitForDesktop: whether a process of that name runs as `user` on `m`. */
export function runningAs(m: Machine, user: string): (comm: string) => Promise<boolean> {
  return async (comm) => (await m.exec(['pgrep', '-u', user, comm], { allowFailure: true })).exitCode === 0
}

/** What the server side and the picture showed after an RDP login. */
export interface DesktopSeen {
  /** xrdp-sesman logged `create a session for user NAME` after the login began. */
  created: boolean
  /** xfce4-session, xfdesktop and xfce4-panel running as the user. */
  session: boolean
  /** Mean grey of the last screenshot: a black screen ~0.04, XFCE's default wallpaper ~0.25. */
  mean: number
  /** Whether the picture held still for STILL_MS before the last screenshot (see `settle`). */
  settled: boolean
  seconds: number
}

/** The grey level above which the screenshot shows a drawn desktop rather than a black screen. */
export const DRAWN_DESKTOP = 0.1

/**
 * Polls every 2 s until the session is created, XFCE runs for the user and the screenshot is
 * drawn (or `timeoutMs` passes), then lets the picture settle and takes the screenshot people look at.
 * `sesmanLog` returns the log written since the login began; `running(comm)` asks the machine.
 */
export async function waitForDesktop(opts: {
  client: RdpClient
  user: string
  sesmanLog: () => Promise<string>
  running: (comm: string) => Promise<boolean>
  shot: string
  timeoutMs: number
}): Promise<DesktopSeen> {
  const started = Date.now()
  let created = false
  let session = false
  let mean = 0
  const xfce = async () =>
    (await opts.running('xfce4-session')) &&
    (await opts.running('xfdesktop')) &&
    (await opts.running('xfce4-panel'))
  while (Date.now() - started < opts.timeoutMs && !(created && session && mean > DRAWN_DESKTOP)) {
    await sleep(2000)
    created ||= (await opts.sesmanLog()).includes(`create a session for user ${opts.user}`)
    session = created && (await xfce())
    if (session) {
      await opts.client.screenshot(opts.shot)
      mean = await brightness(opts.shot)
    }
  }
  let settled = false
  if (created && session && mean > DRAWN_DESKTOP) settled = await settle(opts.client, opts.shot)
  else {
    await sleep(3000)
    await opts.client.screenshot(opts.shot)
  }
  mean = await brightness(opts.shot)
  return { created, session, mean, settled, seconds: Math.round((Date.now() - started) / 1000) }
}

/** How long the picture must not change before the screenshot people look at, and the most we wait. */
const STILL_MS = 6000
const SETTLE_MAX_MS = 60_000

/**
 * A drawn wallpaper comes before the panel's last buttons and the dock: under TCG those follow
 * tens of seconds later. Takes a screenshot every 2 s until the picture has held still for
 * STILL_MS (true) or SETTLE_MAX_MS has passed (false); `shot` holds the last one either way.
 */
async function settle(client: RdpClient, shot: string): Promise<boolean> {
  const started = Date.now()
  const previous = `${shot}.previous.png`
  await client.screenshot(shot)
  let stillSince = Date.now()
  try {
    while (Date.now() - started < SETTLE_MAX_MS) {
      await sleep(2000)
      await rename(shot, previous)
      await client.screenshot(shot)
      if ((await pixelsChanged(previous, shot)) > 0) stillSince = Date.now()
      else if (Date.now() - stillSince >= STILL_MS) return true
    }
    return false
  } finally {
    await rm(previous, { force: true })
  }
}

/** Pixels that differ between two screenshots (ImageMagick's absolute error count); Infinity if it cannot tell. */
async function pixelsChanged(a: string, b: string): Promise<number> {
  // compare exits 0 (same), 1 (different) or 2 (error), and prints the count on stderr.
  const r = await run(['compare', '-metric', 'AE', a, b, 'null:'], { allowFailure: true, timeoutMs: 60_000 })
  const count = Number(r.stderr.trim().split(/\s+/)[0])
  return r.exitCode <= 1 && Number.isFinite(count) ? count : Number.POSITIVE_INFINITY
}
