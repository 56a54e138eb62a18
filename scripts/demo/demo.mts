// `npm run demo`: the main job on a development machine. Builds the .deb, has a detached keeper
// (keeper.ts) boot a throwaway Debian 13 container through the e2e harness, install the .deb with
// apt and run `vps-provision run --yes` in it, shows that progress here stage by stage (the raw
// output goes to the log only, unless --verbose), and prints the RDP login and how to reach it.
// Flags: args.ts (--help).
import { statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freerdpBinary } from '../../test/e2e/harness/rdp.js'
import { e2eSkipReason, REPO_ROOT } from '../../test/e2e/harness/world.js'
import { sleep } from '../../test/lab/mounts.js'
import { parseArgs, USAGE } from './args.js'
import { cachesReport, demoCaches, LAB_DIR, labUsers, mb, purge } from './caches.js'
import { keep } from './keeper.js'
import { buildPackage, builtDeb, freshLog, logLine, spawnKeeper } from './launch.js'
import { cleanLeftovers, leftovers, nothingLeft } from './leftovers.js'
import type { Level } from './progress.js'
import { thisHost } from './reach.js'
import {
  claimState,
  type DemoState,
  isDemoProcess,
  KEEPER_LOG,
  liveState,
  readState,
  removeState,
  SCENARIO,
  VETH,
  WORLDS_DIR,
  writeState,
} from './state.js'
import { summary } from './summary.js'
import { follow, LogTail, View } from './view.js'

/** How long the foreground waits for the keeper to provision, at most. */
const UP_TIMEOUT_MS = 75 * 60_000
// Measured: 74 s on a quiet host, 156 s with the 2 cores loaded 15-fold (poweroff, then the
// root's few GB removed).
const DOWN_TIMEOUT_MS = 8 * 60_000

function fail(what: string, todo: string): never {
  console.error(`Unable to ${what}\n${todo}`)
  process.exit(1)
}

async function preconditions(verb: string, opts: { tools: boolean }): Promise<void> {
  if (process.getuid?.() !== 0) {
    fail(
      `${verb}: it needs root (it boots a container with systemd-nspawn).`,
      'Run it as root, e.g.: sudo npm run demo',
    )
  }
  if (!opts.tools) return
  const reason = await e2eSkipReason()
  if (reason) {
    // The harness words it for its tests ("e2e scenarios need ... (install them with: ...)").
    const why = reason.replace(/^e2e scenarios need/, 'it needs').replace(/ \(install them with: .*\)$/, '')
    fail(`${verb}: ${why}.`, 'Install them once, as root: bash scripts/install-host-tools.sh')
  }
}

async function printLogin(s: DemoState): Promise<void> {
  console.log(summary(s, await freerdpBinary(), await thisHost()))
}

/** Nothing may be up or half-started before a new demo; returns an exit code when it stops here. */
async function alreadyUp(): Promise<number | null> {
  const live = liveState()
  if (live?.phase === 'ready') {
    console.log('A demo is already up: not starting a second one. Stop it with: npm run demo -- --down\n')
    await printLogin(live)
    return 0
  }
  if (live) {
    fail(
      `start the demo: one is already ${live.phase} (pid ${live.owner}).`,
      'Watch it with: npm run demo -- --status   or stop it with: npm run demo -- --down',
    )
  }
  // Nothing alive: whatever a dead keeper left (container, root) goes before a new one starts.
  if (readState()) {
    await cleanLeftovers((l) => console.log(l))
    removeState()
  }
  return null
}

/** Stage 1, in this process: the .deb. Its path, or it stops the demo with the build's output. */
async function packageStage(view: View, level: Level, interrupted: () => boolean): Promise<string> {
  logLine('@stage package')
  const pkg = await buildPackage()
  const deb = pkg.code === 0 ? builtDeb() : null
  // ^C reaches npm too (same process group): the build's failure is then no news.
  if (interrupted() || !deb) {
    view.abort()
    removeState()
  }
  if (interrupted()) {
    console.error('\nInterrupted while building the package: nothing was started.')
    process.exit(130)
  }
  if (!deb) {
    if (level !== 'verbose') console.error(pkg.output.trim().split('\n').slice(-30).join('\n'))
    fail(
      `build the package: npm run package exited ${pkg.code}${pkg.code === 0 ? ' without a .deb in dist/' : ''}.`,
      `Fix the build (output above; all of it in ${KEEPER_LOG}), then run npm run demo again.`,
    )
  }
  logLine(`@note ${path.relative(REPO_ROOT, deb)}`)
  return deb
}

async function up(level: Level): Promise<number> {
  await preconditions('start the demo', { tools: true })
  const shown = await alreadyUp()
  if (shown !== null) return shown
  const startedAt = new Date().toISOString()
  if (!claimState({ phase: 'launching', owner: process.pid, startedAt })) {
    fail(
      'start the demo: another npm run demo started one just now.',
      'See it with: npm run demo -- --status',
    )
  }
  freshLog()
  if (level !== 'quiet') console.log(`Log (everything, raw output included, as it happens): ${KEEPER_LOG}`)
  const view = new View(level)
  const follower = follow(new LogTail(KEEPER_LOG), view)
  // ^C while it starts: the user gave up, so nothing may stay half-started.
  let interrupted = false
  process.once('SIGINT', () => {
    interrupted = true
  })
  const deb = await packageStage(view, level, () => interrupted).catch(async (e) => {
    await follower.stop()
    throw e
  })
  const pid = spawnKeeper(fileURLToPath(import.meta.url), deb)
  writeState({ phase: 'launching', owner: pid ?? process.pid, startedAt })
  logLine(`keeper ${pid} boots the container`)
  const outcome = await waitReady(() => interrupted)
  await follower.stop()
  if (outcome === 'ready') {
    view.end()
    if (level !== 'quiet') console.log('')
    await printLogin(readState() as DemoState)
    return 0
  }
  view.abort()
  return await startFailed(outcome)
}

/** Waits until the keeper is ready, fails, or the user or the clock gives up. */
async function waitReady(
  interrupted: () => boolean,
): Promise<'ready' | 'interrupted' | 'timeout' | 'failed'> {
  const deadline = Date.now() + UP_TIMEOUT_MS
  for (;;) {
    const s = readState()
    if (s?.phase === 'ready') return 'ready'
    if (interrupted()) return 'interrupted'
    if (Date.now() > deadline) return 'timeout'
    if (s?.phase === 'failed' || s?.phase === 'stopped' || !(s && isDemoProcess(s.owner))) {
      // Let the keeper finish its teardown (the view shows it), then make sure of it.
      while (s && isDemoProcess(s.owner) && Date.now() < deadline) await sleep(500)
      return 'failed'
    }
    await sleep(500)
  }
}

async function startFailed(outcome: 'interrupted' | 'timeout' | 'failed'): Promise<number> {
  if (outcome !== 'failed') {
    console.error(
      outcome === 'interrupted'
        ? '\nInterrupted: stopping the demo...'
        : '\nThe demo took too long: stopping it...',
    )
    await down({ level: 'quiet', purge: false, internal: true })
    return outcome === 'interrupted' ? 130 : 1
  }
  const reason = readState()?.reason ?? 'the keeper ended unexpectedly'
  await down({ level: 'quiet', purge: false, internal: true })
  fail(
    `start the demo: ${reason}.`,
    `Its whole log: ${KEEPER_LOG}; the harness's files: test/e2e/artifacts/${SCENARIO}/. Nothing was left running.`,
  )
}

interface DownOptions {
  level: Level
  purge: boolean
  /** Called by a failed start: no caches report, it is not the user's --down. */
  internal?: boolean
}

async function down(opts: DownOptions): Promise<number> {
  await preconditions('stop the demo', { tools: false })
  const s = readState()
  if (s && isDemoProcess(s.owner)) await stopKeeper(s.owner, opts.level)
  else if (opts.level !== 'quiet')
    console.log('No demo keeper is running; removing whatever a previous one left.')
  await cleanLeftovers((l) => (opts.level === 'quiet' ? undefined : console.log(l)))
  removeState()
  const left = await leftovers()
  if (!nothingLeft(left)) {
    fail(
      `stop the demo completely: left ${JSON.stringify(left)}.`,
      `Look at ${KEEPER_LOG}; kill the nspawn pids, ip link delete ${VETH}, then run npm run demo -- --down again.`,
    )
  }
  if (opts.internal) return 0
  if (opts.level !== 'quiet')
    console.log(`The demo is down: no container, no ${VETH}, no root under ${WORLDS_DIR}.`)
  return opts.purge ? await purgeCaches(opts.level) : await reportCaches(opts.level)
}

/** SIGTERM to the keeper, its teardown shown as it goes; SIGKILL if it takes too long. */
async function stopKeeper(owner: number, level: Level): Promise<void> {
  if (level !== 'quiet') console.log(`Stopping the demo (keeper ${owner})...`)
  const follower = follow(new LogTail(KEEPER_LOG, sizeOf(KEEPER_LOG)), new View(level))
  process.kill(owner, 'SIGTERM')
  const deadline = Date.now() + DOWN_TIMEOUT_MS
  while (isDemoProcess(owner) && Date.now() < deadline) await sleep(500)
  await follower.stop()
  if (isDemoProcess(owner)) {
    console.error(`The keeper did not finish in ${DOWN_TIMEOUT_MS / 1000} s: killing it.`)
    process.kill(owner, 'SIGKILL')
    await sleep(1000)
  }
}

async function reportCaches(level: Level): Promise<number> {
  if (level === 'quiet') return 0
  const { own, otherBytes } = await demoCaches()
  console.log(`\n${cachesReport(own, otherBytes)}`)
  return 0
}

async function purgeCaches(level: Level): Promise<number> {
  const users = await labUsers()
  if (users.length > 0) {
    fail(
      `remove the caches: a test run uses ${LAB_DIR} now (${users.join(', ')}).`,
      'Run npm run demo -- --down --purge again once it has finished.',
    )
  }
  const { own } = await demoCaches()
  try {
    await purge(own)
  } catch (e) {
    fail(`remove the caches: ${(e as Error).message}.`, `Nothing outside ${LAB_DIR} was touched.`)
  }
  if (level !== 'quiet') {
    const total = own.reduce((a, c) => a + c.bytes, 0)
    const names = own.map((c) => path.basename(c.path)).join(', ')
    console.log(
      own.length
        ? `Removed the demo's caches: ${mb(total)} (${names} in ${LAB_DIR}).`
        : 'No demo caches to remove.',
    )
  }
  return 0
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

async function status(): Promise<number> {
  const s = liveState()
  if (!s) {
    console.log('No demo is up. Start one with: npm run demo')
    return 1
  }
  if (s.phase === 'ready') await printLogin(s)
  else console.log(`A demo is ${s.phase} (pid ${s.owner}, since ${s.startedAt}); log: ${KEEPER_LOG}`)
  return 0
}

async function main(args: string[]): Promise<number> {
  const a = parseArgs(args)
  switch (a.cmd) {
    case 'keeper':
      return keep(a.deb)
    case 'up':
      return up(a.level)
    case 'down':
      return down({ level: a.level, purge: a.purge })
    case 'status':
      return status()
    case 'help':
      console.log(USAGE)
      return 0
    case 'error':
      console.error(`Unable to parse the arguments: ${a.message}\n\n${USAGE}`)
      return 2
  }
}

process.exit(await main(process.argv.slice(2)))
