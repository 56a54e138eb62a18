// The README's first command, end to end: `npm run demo` as a newcomer runs it, the RDP login it
// prints used with a real client (FreeRDP under Xvfb, the flags the printed command has), the
// desktop seen, and `npm run demo -- --down` leaving nothing behind. See docs/e2e.md, "The demo".
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect } from 'vitest'
import { leftovers, nothingLeft } from '../../scripts/demo/leftovers.js'
import { KEEPER_LOG, liveState, readState, STATE_FILE } from '../../scripts/demo/state.js'
import { shellQuote } from '../../scripts/demo/summary.js'
import { type RunResult, run } from '../lab/proc.js'
import { connectRdp, DRAWN_DESKTOP, type RdpClient, waitForDesktop } from './harness/rdp.js'
import { stages } from './harness/stages.js'
import { ARTIFACTS, e2eSkipReason, REPO_ROOT } from './harness/world.js'

const skip =
  (await e2eSkipReason({ rdp: true })) ??
  (liveState() ? 'a demo is already up; stop it first with: npm run demo -- --down' : null)
if (skip) console.warn(`\n*** SKIPPED e2e demo: ${skip} ***\n`)

const OUT = path.join(ARTIFACTS, 'demo-test')

/** `npm run demo [-- args]` as a person runs it, its output kept as an artifact. */
async function npmDemo(args: string[], artifact: string, timeoutMs: number): Promise<RunResult> {
  const r = await run(['npm', 'run', 'demo', ...(args.length ? ['--', ...args] : [])], {
    cwd: REPO_ROOT,
    env: { ...process.env } as Record<string, string>,
    allowFailure: true,
    timeoutMs,
  })
  await mkdir(OUT, { recursive: true })
  await writeFile(
    path.join(OUT, `${artifact}.out`),
    `# exit ${r.exitCode} after ${r.durationMs} ms\n${r.stdout}\n--- stderr ---\n${r.stderr}`,
  )
  return r
}

/** A command inside the demo container, through its own systemd (as the printed Inside: line). */
function inside(pid1: number, argv: string[]): Promise<RunResult> {
  return run(
    ['nsenter', '--target', String(pid1), '--mount', '--uts', '--ipc', '--net', '--pid', '--'].concat([
      'systemd-run',
      '--wait',
      '--pipe',
      '--quiet',
      '--collect',
      '--',
      ...argv,
    ]),
    { allowFailure: true, timeoutMs: 60_000 },
  )
}

describe.skipIf(skip !== null)('e2e demo: npm run demo, an RDP login with what it prints, --down', () => {
  const s = stages()
  const login = { host: '', port: 0, username: '', password: '' }
  let up: RunResult

  afterAll(async () => {
    // Whatever happened above, the demo goes: a test never leaves a container running.
    if (readState()) await npmDemo(['--down'], 'down-after-all', 5 * 60_000)
    await s.writeTimings(OUT).catch(() => undefined)
  }, 10 * 60_000)

  s.stage('npm run demo exits 0 and prints the RDP address, username, password and commands', async () => {
    up = await npmDemo([], 'npm-run-demo', 60 * 60_000)
    expect(up.exitCode, `${up.stdout.slice(-3000)}\n${up.stderr}`).toBe(0)
    const out = up.stdout
    // The log is named before anything else, and written as it went: raw output is there...
    expect(out.split('\n').slice(0, 6).join('\n')).toContain(
      `Log (everything, raw output included, as it happens): ${KEEPER_LOG}`,
    )
    const log = await readFile(KEEPER_LOG, 'utf8')
    expect(log).toMatch(/Setting up vps-provision \(/)
    expect(log).toMatch(/\[system-prep\] \| /)
    // ...not on the screen, which shows each stage with its time and the tool's own progress.
    for (const n of [1, 2, 3, 4, 5]) expect(out).toMatch(new RegExp(`^\\[${n}/5\\] done in \\S+`, 'm'))
    expect(out).toMatch(/\[desktop-install\] phase started/)
    expect(out).not.toMatch(/Setting up vps-provision \(|\[system-prep\] \| |^Get:\d+ /m)
    const rdp = /^\s+RDP:\s+(10\.213\.\d+\.2):(\d+)$/m.exec(out)
    const user = /^\s+Username:\s+(\S+)$/m.exec(out)
    const pass = /^\s+Password:\s+(\S+)$/m.exec(out)
    expect(rdp && user && pass, out.slice(-2000)).toBeTruthy()
    Object.assign(login, {
      host: rdp?.[1],
      port: Number(rdp?.[2]),
      username: user?.[1],
      password: pass?.[1],
    })
    expect(login.port).toBe(3389)
    expect(login.password.length).toBeGreaterThanOrEqual(20)
    // The connect command carries exactly that login, with the flags the e2e client uses below.
    const connect = out.split('\n').find((l) => /^\s+xfreerdp3? /.test(l)) ?? ''
    expect(connect).toContain(`/v:${login.host}:${login.port} /u:${login.username}`)
    expect(connect).toContain(`/p:${shellQuote(login.password)} /cert:ignore /sec:tls`)
    expect(out).toContain('npm run demo -- --down')
    // From another machine: a tunnel through this one, never the tool's root@<container> line.
    expect(out).toMatch(
      new RegExp(`^  ssh -N -L 13389:${login.host.replaceAll('.', '\\.')}:3389 <you>@\\S+$`, 'm'),
    )
    expect(out).toContain('127.0.0.1:13389')
    expect(out).not.toContain(`root@${login.host}`)
    // The password is what the tool filed on the machine.
    const st = readState()
    expect(st?.phase).toBe('ready')
    const cred = await readFile(
      path.join(st?.machine?.root ?? '/nonexistent', 'root/vps-provision-credentials'),
      'utf8',
    )
    expect(cred).toContain(`password=${login.password}\n`)
  })

  s.stage('--status and a second npm run demo show the same login and start nothing', async () => {
    const status = await npmDemo(['--status'], 'status-up', 60_000)
    expect(status.exitCode).toBe(0)
    expect(status.stdout).toContain(`Password:  ${login.password}`)
    const pid1 = readState()?.machine?.pid1
    const again = await npmDemo([], 'npm-run-demo-again', 5 * 60_000)
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toMatch(/already up: not starting a second one/)
    expect(again.stdout).toContain(`Password:  ${login.password}`)
    expect(readState()?.machine?.pid1).toBe(pid1)
    expect((await leftovers()).nspawn).toHaveLength(1)
  })

  s.stage('the printed login gets the XFCE desktop over RDP', async () => {
    const st = readState()
    const root = st?.machine?.root as string
    const pid1 = st?.machine?.pid1 as number
    const sesman = async () =>
      await readFile(path.join(root, 'var/log/xrdp-sesman.log'), 'utf8').catch(() => '')
    const before = (await sesman()).length
    const running = async (comm: string) =>
      (await inside(pid1, ['pgrep', '-u', login.username, comm])).exitCode === 0
    let client: RdpClient | null = null
    try {
      client = await connectRdp({ ...login, logFile: path.join(OUT, 'freerdp.log') })
      const seen = await waitForDesktop({
        client,
        user: login.username,
        sesmanLog: async () => (await sesman()).slice(before),
        running,
        shot: path.join(OUT, 'rdp-desktop.png'),
        timeoutMs: 90_000,
      })
      expect(seen.created).toBe(true)
      expect(seen.session).toBe(true)
      // A black screen measures ~0.04, XFCE's default wallpaper ~0.25 (docs/e2e.md, scenario A).
      expect(seen.mean).toBeGreaterThan(DRAWN_DESKTOP)
    } finally {
      await client?.close()
    }
  })

  s.stage('npm run demo -- --down removes the container, its veth, its root and the state', async () => {
    const root = readState()?.machine?.root as string
    const down = await npmDemo(['--down'], 'down', 5 * 60_000)
    expect(down.exitCode, `${down.stdout}\n${down.stderr}`).toBe(0)
    expect(down.stdout).toMatch(/The demo is down/)
    // It says what it kept, where and how big, and how to remove it (not done here: shared caches).
    expect(down.stdout).toMatch(
      /Kept for the next demo \(it starts faster with them\): \d+(\.\d)? [MG]B in \/var\/tmp\/vps-provision-lab/,
    )
    expect(down.stdout).toMatch(/trixie-minbase-[0-9a-f]{12} +the Debian 13 root/)
    expect(down.stdout).toContain('npm run demo -- --down --purge')
    const left = await leftovers()
    expect(left, JSON.stringify(left)).toSatisfy(nothingLeft)
    expect(await readFile(STATE_FILE, 'utf8').catch(() => null)).toBeNull()
    expect(await readFile(path.join(root, 'etc/hostname'), 'utf8').catch(() => null)).toBeNull()
    expect((await npmDemo(['--status'], 'status-down', 60_000)).exitCode).toBe(1)
  })
})
