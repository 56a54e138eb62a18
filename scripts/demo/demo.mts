// `npm run demo`: the main job on a development machine. Builds the .deb, has a detached keeper
// (keeper.ts) boot a throwaway Debian 13 container through the e2e harness, install the .deb with
// apt and run `vps-provision run --yes` in it, shows that progress here, and prints the RDP address,
// username, password and the commands to connect and to stop.
//   npm run demo                 start one (or show the one that is up)
//   npm run demo -- --status     is one up?
//   npm run demo -- --down       tear it down: container, apt proxy, stand-in server
import { spawn } from 'node:child_process'
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freerdpBinary } from '../../test/e2e/harness/rdp.js'
import { e2eSkipReason, REPO_ROOT } from '../../test/e2e/harness/world.js'
import { sleep } from '../../test/lab/mounts.js'
import { keep } from './keeper.js'
import { cleanLeftovers, leftovers, nothingLeft } from './leftovers.js'
import {
  claimState,
  type DemoState,
  isDemoProcess,
  KEEPER_LOG,
  liveState,
  MAX_LIFETIME_MS,
  readState,
  removeState,
  SCENARIO,
  VETH,
  WORLDS_DIR,
  writeState,
} from './state.js'
import { summary } from './summary.js'

const USAGE = `Usage: npm run demo [-- --status | --down]

  (none)     build the .deb, boot a throwaway Debian 13 container, install and run vps-provision
             in it, and print the RDP address, username and password (needs root)
  --status   say whether a demo is up, and its details
  --down     tear the demo down: container, apt proxy, stand-in server

The container stays up until --down, or ${MAX_LIFETIME_MS / 3_600_000} hours at most. Keeper log: ${KEEPER_LOG}`

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

/** The .deb `npm run package` just built for package.json's version (newest, if several). */
function builtDeb(): string {
  const version = (
    JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version
  const dist = path.join(REPO_ROOT, 'dist')
  const debs = readdirSync(dist)
    .filter((f) => f.startsWith(`vps-provision_${version}-`) && f.endsWith('_all.deb'))
    .map((f) => path.join(dist, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  const deb = debs[0]
  if (!deb)
    fail(
      `find the package: no dist/vps-provision_${version}-*_all.deb after npm run package.`,
      'Run: npm run package',
    )
  return deb
}

function printLogFrom(offset: number): Promise<number> {
  return (async () => {
    const fh = await open(KEEPER_LOG, 'r').catch(() => null)
    if (!fh) return offset
    try {
      const buf = Buffer.alloc(64 * 1024)
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset)
        if (bytesRead === 0) return offset
        offset += bytesRead
        process.stdout.write(buf.subarray(0, bytesRead))
      }
    } finally {
      await fh.close()
    }
  })()
}

async function up(): Promise<number> {
  await preconditions('start the demo', { tools: true })
  const live = liveState()
  if (live?.phase === 'ready') {
    console.log('A demo is already up: not starting a second one. Stop it with: npm run demo -- --down\n')
    console.log(summary(live, await freerdpBinary()))
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

  console.log('==> npm run package (the .deb the container installs)')
  const pkg = await buildPackage()
  if (pkg.code !== 0) {
    console.error(pkg.output.trim())
    fail(
      `build the package: npm run package exited ${pkg.code}.`,
      'Fix the build (output above), then run npm run demo again.',
    )
  }
  const deb = builtDeb()
  console.log(`    ${path.relative(REPO_ROOT, deb)}`)

  const startedAt = new Date().toISOString()
  if (!claimState({ phase: 'launching', owner: process.pid, startedAt })) {
    fail(
      'start the demo: another npm run demo started one just now.',
      'See it with: npm run demo -- --status',
    )
  }
  const logFd = openSync(KEEPER_LOG, 'w', 0o600)
  const keeper = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--keeper', deb],
    {
      cwd: REPO_ROOT,
      detached: true, // its own session: it outlives this command and the terminal's ^C
      stdio: ['ignore', logFd, logFd],
      env: process.env,
    },
  )
  closeSync(logFd)
  keeper.unref()
  writeState({ phase: 'launching', owner: keeper.pid ?? process.pid, startedAt })
  console.log(`==> keeper ${keeper.pid} boots the container (log: ${KEEPER_LOG})`)

  // ^C while it starts: the user gave up, so nothing may stay half-started.
  let interrupted = false
  process.once('SIGINT', () => {
    interrupted = true
  })
  let offset = 0
  const deadline = Date.now() + UP_TIMEOUT_MS
  for (;;) {
    offset = await printLogFrom(offset)
    const s = readState()
    if (s?.phase === 'ready') break
    if (interrupted || Date.now() > deadline) {
      console.error(
        interrupted ? '\nInterrupted: stopping the demo...' : '\nThe demo took too long: stopping it...',
      )
      await down({ quiet: true })
      return interrupted ? 130 : 1
    }
    const alive = s ? isDemoProcess(s.owner) : false
    if (s?.phase === 'failed' || s?.phase === 'stopped' || !alive) {
      // Let the keeper finish its teardown (it is still printing), then make sure of it.
      while (s && isDemoProcess(s.owner) && Date.now() < deadline) {
        offset = await printLogFrom(offset)
        await sleep(500)
      }
      offset = await printLogFrom(offset)
      const reason = readState()?.reason ?? s?.reason ?? 'the keeper ended unexpectedly'
      await down({ quiet: true })
      fail(
        `start the demo: ${reason}.`,
        `Its whole log: ${KEEPER_LOG}; the harness's files: test/e2e/artifacts/${SCENARIO}/. Nothing was left running.`,
      )
    }
    await sleep(500)
  }
  await printLogFrom(offset)
  const ready = readState() as DemoState
  console.log(`\n${summary(ready, await freerdpBinary())}`)
  return 0
}

/**
 * `npm run package`, its output kept for a failure. In this command's process group (not
 * detached), so a ^C in the terminal stops the build along with us.
 */
function buildPackage(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', 'package'], {
      cwd: REPO_ROOT,
      env: { ...process.env, npm_config_loglevel: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    child.once('error', (e) => resolve({ code: 127, output: String(e) }))
    child.once('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

async function down(opts: { quiet?: boolean } = {}): Promise<number> {
  await preconditions('stop the demo', { tools: false })
  const s = readState()
  let offset = statSafe(KEEPER_LOG)
  if (s && isDemoProcess(s.owner)) {
    if (!opts.quiet) console.log(`Stopping the demo (keeper ${s.owner})...`)
    process.kill(s.owner, 'SIGTERM')
    const deadline = Date.now() + DOWN_TIMEOUT_MS
    while (isDemoProcess(s.owner) && Date.now() < deadline) {
      offset = await printLogFrom(offset)
      await sleep(500)
    }
    await printLogFrom(offset)
    if (isDemoProcess(s.owner)) {
      console.error(`The keeper did not finish in ${DOWN_TIMEOUT_MS / 1000} s: killing it.`)
      process.kill(s.owner, 'SIGKILL')
      await sleep(1000)
    }
  } else if (!opts.quiet) {
    console.log('No demo keeper is running; removing whatever a previous one left.')
  }
  await cleanLeftovers((l) => console.log(l))
  removeState()
  const left = await leftovers()
  if (!nothingLeft(left)) {
    fail(
      `stop the demo completely: left ${JSON.stringify(left)}.`,
      `Look at ${KEEPER_LOG}; kill the nspawn pids, ip link delete ${VETH}, then run npm run demo -- --down again.`,
    )
  }
  console.log(`The demo is down: no container, no ${VETH}, no root under ${WORLDS_DIR}.`)
  return 0
}

function statSafe(file: string): number {
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
  if (s.phase === 'ready') console.log(summary(s, await freerdpBinary()))
  else console.log(`A demo is ${s.phase} (pid ${s.owner}, since ${s.startedAt}); log: ${KEEPER_LOG}`)
  return 0
}

const args = process.argv.slice(2)
let code: number
if (args[0] === '--keeper' && args[1]) code = await keep(args[1])
else if (args.length === 0) code = await up()
else if (args.length === 1 && args[0] === '--down') code = await down()
else if (args.length === 1 && args[0] === '--status') code = await status()
else if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
  console.log(USAGE)
  code = 0
} else {
  console.error(`Unable to parse the arguments: ${args.join(' ')}\n${USAGE}`)
  code = 2
}
process.exit(code)
