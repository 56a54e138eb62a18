// The demo's keeper: a detached process (its own session, started by `npm run demo`) that owns the
// container for as long as the demo is up, because the harness's container, apt proxy and stand-in
// server live and die with the process that started them. It boots the e2e world, installs the
// built .deb with apt, runs `vps-provision run --yes` inside, publishes the credentials in the state
// file, then waits for a stop request (SIGTERM from `npm run demo -- --down`), the end of its
// lifetime, or the container's own end (powered off from the desktop). Every way out tears the
// whole world down; a failed start never leaves a container behind.
import { existsSync } from 'node:fs'
import { open, readdir } from 'node:fs/promises'
import path from 'node:path'
import type { NspawnMachine } from '../../test/e2e/harness/nspawn.js'
import { collectToolState } from '../../test/e2e/harness/tool.js'
import { E2E_INCLUDE, standInConfig, startWorld, type World } from '../../test/e2e/harness/world.js'
import { sleep } from '../../test/lab/mounts.js'
import {
  DEFAULT_CACHE_DIR,
  ensureTrixieRoot,
  hostDebianMirror,
  readStamp,
} from '../../test/lab/trixie-root.js'
import { type DemoState, MACHINE_NAME, MAX_LIFETIME_MS, SCENARIO, writeState } from './state.js'

/** Where the run's output goes inside the container, so the keeper can pass it on as it grows. */
const RUN_LOG = '/var/log/vps-provision-demo-run.log'
const APT_LOG = '/var/log/vps-provision-demo-apt.log'
const RUN_TIMEOUT_MS = 45 * 60_000
const CREDENTIALS = '/root/vps-provision-credentials'

function say(line: string): void {
  console.log(`${new Date().toISOString()} demo: ${line}`)
}

export async function keep(debPath: string): Promise<number> {
  const startedAt = new Date()
  let state: DemoState = {
    phase: 'starting',
    owner: process.pid,
    startedAt: startedAt.toISOString(),
    expiresAt: new Date(startedAt.getTime() + MAX_LIFETIME_MS).toISOString(),
    deb: debPath,
  }
  const publish = (change: Partial<DemoState>) => {
    state = { ...state, ...change }
    writeState(state)
  }
  publish({})

  let world: World | null = null
  let stopReason: string | null = null
  let closing: Promise<void> | null = null
  // One teardown, whoever asks first (signal, lifetime, failure, container gone). A stop asked for
  // while startWorld is still building is carried out by the main flow once it has the world.
  const closeWorld = (): Promise<void> => {
    const w = world
    if (!w) return Promise.resolve()
    closing ??= (async () => {
      mark('note', `tearing down: ${stopReason ?? 'done'}`)
      await collectToolState(w).catch(() => undefined)
      mark(
        'note',
        'powering the container off, stopping the proxy and the stand-in server, removing the root',
      )
      await w.close().catch((e) => mark('error', `teardown reported: ${(e as Error).message}`))
      mark('note', 'the container, the apt proxy and the stand-in server are gone')
    })()
    return closing
  }
  const requestStop = (reason: string): void => {
    stopReason ??= reason
    void closeWorld()
  }
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => requestStop(`stop requested (${sig})`))
  }
  const lifetime = setTimeout(
    () => requestStop(`its lifetime of ${MAX_LIFETIME_MS / 3_600_000} h ended`),
    MAX_LIFETIME_MS,
  )
  lifetime.unref()

  try {
    await prepareRoot()
    if (stopReason) throw new Stopped()
    mark('stage', 'boot')
    world = await startWorld({
      scenario: SCENARIO,
      machineName: MACHINE_NAME,
      // A backstop behind the keeper's own limit: nspawn is killed even if the keeper hangs.
      lifetimeMs: MAX_LIFETIME_MS + 15 * 60_000,
      log: (line) => say(line),
    })
    if (stopReason) throw new Stopped()
    const m = world.machine
    mark('note', `the container is up at ${m.address} (lifetime ${MAX_LIFETIME_MS / 3_600_000} h)`)
    publish({
      phase: 'installing',
      machine: { name: m.name, root: m.root, address: m.address, pid1: m.containerPid1, veth: m.veth },
    })
    mark('stage', 'install')
    await installDeb(m, debPath)
    if (stopReason) throw new Stopped()

    // The vendors' hosts are unreachable here: the IDE sources are the lab's stand-ins.
    await m.writeFile('/etc/vps-provision/config.yaml', standInConfig(world), 0o600)
    publish({ phase: 'provisioning' })
    mark('stage', 'provision')
    const { provisionMs, username, password } = await provision(m)
    if (stopReason) throw new Stopped()
    publish({ phase: 'ready', provisionMs, rdp: { host: m.address, port: 3389, username, password } })
    say(`ready in ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s: RDP ${m.address}:3389`)

    // Up until asked to stop, or until the container ends on its own (shut down from the desktop).
    const pid1 = m.containerPid1
    while (!stopReason) {
      if (!existsSync(`/proc/${pid1}`))
        requestStop('the container stopped by itself (shut down from inside?)')
      else await sleep(2_000)
    }
    await closeWorld()
    publish({ phase: 'stopped', reason: stopReason, rdp: undefined })
    return 0
  } catch (e) {
    const stopped = e instanceof Stopped || stopReason !== null
    const reason = stopped ? (stopReason ?? 'stopped') : (e as Error).message
    if (!stopped) {
      mark('error', `FAILED: ${reason}`)
      // Published at once, so the foreground can say so while the teardown runs.
      publish({ phase: 'failed', reason, rdp: undefined })
      stopReason = `the start failed: ${reason}`
    }
    await closeWorld()
    if (stopped) publish({ phase: 'stopped', reason, rdp: undefined })
    return stopped ? 0 : 1
  } finally {
    clearTimeout(lifetime)
  }
}

class Stopped extends Error {}

/** A line for the screen (progress.ts reads these markers); everything else is the log's. */
function mark(kind: 'stage' | 'note' | 'error', text: string): void {
  say(`@${kind} ${text}`)
}

/**
 * The cached trixie root startWorld clones, made (or found) here first so that its build is a stage
 * of its own. debootstrap's output reaches the harness only when it ends, so its log inside the
 * build directory (ensureTrixieRoot's `.build-<name>-<our pid>-<hex>`) is followed as it grows.
 */
async function prepareRoot(): Promise<void> {
  mark('stage', 'root')
  const follow = followFile(buildLog)
  try {
    let built = false
    const root = await ensureTrixieRoot({
      include: E2E_INCLUDE,
      suite: 'trixie',
      mirror: await hostDebianMirror(),
      log: (line) => {
        say(line)
        if (!line.startsWith('building ')) return
        built = true
        mark('note', 'not cached yet: debootstrap builds it now (about 4 minutes, once; cached after)')
      },
    })
    const stamp = await readStamp(root)
    if (!built) mark('note', `cached: ${root} (built ${stamp?.builtAt.slice(0, 10) ?? 'earlier'})`)
  } finally {
    await follow.stop()
  }
}

async function buildLog(): Promise<string | null> {
  const mine = (await readdir(DEFAULT_CACHE_DIR).catch(() => [] as string[])).find(
    (n) => n.startsWith('.build-') && n.includes(`-${process.pid}-`),
  )
  return mine ? path.join(DEFAULT_CACHE_DIR, mine, 'debootstrap', 'debootstrap.log') : null
}

/** apt-get install of the built .deb, its output written to a file inside and followed as it grows. */
async function installDeb(m: NspawnMachine, debPath: string): Promise<void> {
  const deb = path.basename(debPath)
  await m.copyIn(debPath, `/var/tmp/${deb}`)
  say(`inside: apt-get update && apt-get install ./${deb}`)
  const follow = followFile(async () => m.hostPath(APT_LOG))
  const apt = await m
    .exec(
      [
        'sh',
        '-ec',
        `exec > ${APT_LOG} 2>&1; cd /var/tmp; apt-get update -q; apt-get install -y -q -o Dpkg::Use-Pty=0 ./${deb}; rm -f ./${deb}`,
      ],
      { allowFailure: true, timeoutMs: 10 * 60_000, env: { DEBIAN_FRONTEND: 'noninteractive' } },
    )
    .finally(() => follow.stop())
  if (apt.exitCode !== 0) throw new Error(`apt-get install ./${deb} exited ${apt.exitCode}`)
  mark('note', `installed ${deb}`)
}

/** `vps-provision run --yes` inside, its plain output followed; the login it filed. */
async function provision(
  m: NspawnMachine,
): Promise<{ provisionMs: number; username: string; password: string }> {
  say('inside: vps-provision run --yes (IDE sources: the stand-ins, /etc/vps-provision/config.yaml)')
  const t0 = Date.now()
  const follow = followFile(async () => m.hostPath(RUN_LOG))
  const r = await m
    .exec(['sh', '-c', `exec vps-provision run --yes > ${RUN_LOG} 2>&1`], {
      allowFailure: true,
      timeoutMs: RUN_TIMEOUT_MS,
      unit: 'vps-provision-demo-run',
    })
    .finally(() => follow.stop())
  const provisionMs = Date.now() - t0
  if (r.exitCode !== 0) throw new Error(`vps-provision run exited ${r.exitCode} after ${provisionMs} ms`)
  const cred = (await m.readFile(CREDENTIALS)) ?? ''
  const username = /^username=(.+)$/m.exec(cred)?.[1]
  const password = /^password=(.+)$/m.exec(cred)?.[1]
  if (!username || !password) throw new Error(`no username and password in ${CREDENTIALS} after the run`)
  return { provisionMs, username, password }
}

/**
 * Copies what is appended to a file to our stdout (the log the foreground follows). `where` may
 * say null while the file does not exist yet. A last line without its newline gets one, so that
 * the next line of ours starts a line of its own.
 */
function followFile(where: () => Promise<string | null>): { stop(): Promise<void> } {
  let offset = 0
  let done = false
  let file: string | null = null
  let last = 0x0a
  const pump = async () => {
    file ??= await where()
    if (!file) return
    const fh = await open(file, 'r').catch(() => null)
    if (!fh) return
    try {
      const buf = Buffer.alloc(64 * 1024)
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset)
        if (bytesRead === 0) break
        offset += bytesRead
        last = buf[bytesRead - 1] ?? last
        process.stdout.write(buf.subarray(0, bytesRead))
      }
    } finally {
      await fh.close()
    }
  }
  const loop = (async () => {
    while (!done) {
      await pump()
      await sleep(500)
    }
    await pump()
    if (last !== 0x0a) process.stdout.write('\n')
  })()
  return {
    async stop() {
      done = true
      await loop
    },
  }
}
