// Everything a scenario needs around the machine under test: the preconditions (skipped loudly,
// never silently), a fresh clone of a cached trixie root made to look like a VPS, the container,
// the apt proxy on the host side of its veth, the stand-ins, the built tool, and teardown.
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { killProcessesRootedIn, sleep } from '../../lab/mounts.js'
import { hostHas, run } from '../../lab/proc.js'
import { type ServedDir, serveDir } from '../../lab/serve.js'
import {
  buildStandIns,
  IDES,
  type StandIns,
  standInToolsMissing,
  TARBALL_PLATFORM,
} from '../../lab/stand-ins.js'
import {
  cloneRoot,
  DEFAULT_CACHE_DIR,
  ensureTrixieRoot,
  hostDebianMirror,
  LAB_INCLUDE,
  removeRoot,
} from '../../lab/trixie-root.js'
import { type AptProxy, startAptProxy } from './apt-proxy.js'
import { NspawnMachine } from './nspawn.js'
import { rdpToolsMissing } from './rdp.js'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const ARTIFACTS = path.join(REPO_ROOT, 'test/e2e/artifacts')
export const TOOL_BUNDLE = path.join(REPO_ROOT, 'dist/vps-provision.mjs')

/**
 * A minimal VPS: what a provider's Debian 13 image boots with, plus nothing the tool should bring
 * itself. systemd + dbus + libpam-systemd (logind sessions, /run/user), sshd, iproute2 (ss),
 * procps (pgrep), and the tool's runtime nodejs.
 */
export const E2E_INCLUDE: readonly string[] = [
  ...LAB_INCLUDE,
  'systemd',
  'systemd-sysv',
  'dbus',
  'libpam-systemd',
  'iproute2',
  'openssh-server',
  'procps',
]

/** Root's key on the "VPS", as a provider's image has one: user-creation copies it. */
const ROOT_AUTHORIZED_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKdjSfJfx259JxdDY3EpfFthBxPSmg3looaEiIwOPQtL e2e-root@host\n'

/**
 * Why the e2e scenarios cannot run on this host, or null. With E2E_REQUIRED=1 (CI) a reason is an
 * error instead: there a skipped scenario must fail the run, not pass it.
 */
export async function e2eSkipReason(opts: { rdp?: boolean } = {}): Promise<string | null> {
  const reason = await whyE2eCannotRun(opts)
  if (reason !== null && process.env.E2E_REQUIRED === '1') throw new Error(`E2E_REQUIRED=1 but ${reason}`)
  return reason
}

async function whyE2eCannotRun(opts: { rdp?: boolean }): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'e2e scenarios need root (they boot containers with systemd-nspawn)'
  const missing: string[] = []
  for (const b of ['debootstrap', 'systemd-nspawn', 'nsenter', 'ip', 'pgrep'])
    if (!(await hostHas(b))) missing.push(b)
  missing.push(...(await standInToolsMissing()))
  if (opts.rdp) missing.push(...(await rdpToolsMissing()))
  if (missing.length > 0) {
    return `e2e scenarios need host tools that are missing: ${missing.join(', ')} (install them with: bash scripts/install-host-tools.sh)`
  }
  return null
}

export interface World {
  name: string
  dir: string
  machine: NspawnMachine
  proxy: AptProxy
  standIns: StandIns
  log: (line: string) => void
  /** Tears everything down; safe to call more than once. */
  close(): Promise<void>
}

export interface WorldOptions {
  /** Artifact directory name, e.g. scenario-a. */
  scenario: string
  /** Machine name (<= 11 chars). */
  machineName: string
  /** The container's hard lifetime (NspawnMachine's lifetimeMs; default 90 minutes). */
  lifetimeMs?: number
  suite?: string
  include?: readonly string[]
  log?: (line: string) => void
  /** false: every .deb comes from the mirror (a cold apt cache, for `npm run bench`). */
  poolCache?: boolean
  /** NspawnMachine's systemCallFilter: system calls the container may make beyond nspawn's default. */
  systemCallFilter?: string
}

/** Builds dist/vps-provision.mjs once per process. */
let built: Promise<void> | null = null
export function buildTool(): Promise<void> {
  built ??= run(['node', 'scripts/build.mjs'], { cwd: REPO_ROOT, timeoutMs: 5 * 60_000 }).then(
    () => undefined,
  )
  return built
}

const WORLDS_DIR = path.join(DEFAULT_CACHE_DIR, 'e2e')

/**
 * Roots and stand-in directories left by a test process that died without its teardown (killed
 * runner): their nspawn (found by its -D argument) is killed, then the directories are removed.
 */
export async function cleanStaleWorlds(log: (line: string) => void = () => {}): Promise<void> {
  const entries = await readdir(WORLDS_DIR).catch(() => [] as string[])
  for (const name of entries) {
    const pid = Number(/-(\d+)-[0-9a-f]{6}$/.exec(name)?.[1] ?? Number.NaN)
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue
    const dir = path.join(WORLDS_DIR, name)
    for (const proc of await readdir('/proc')) {
      if (!/^\d+$/.test(proc)) continue
      const cmd = await readFile(`/proc/${proc}/cmdline`, 'utf8').catch(() => '')
      const argv = cmd.split('\0')
      if (argv[0]?.endsWith('systemd-nspawn') && argv.includes(dir)) {
        log(`killing the stale container of ${dir} (nspawn ${proc})`)
        try {
          process.kill(-Number(proc), 'SIGKILL')
        } catch {
          process.kill(Number(proc), 'SIGKILL')
        }
        await sleep(2000)
      }
    }
    // The container's init runs in its own session and outlives nspawn (keeping the veth and
    // processes inside the root alive): end everything whose root is this directory first.
    const killed = await killProcessesRootedIn(dir)
    if (killed.length > 0) log(`killed ${killed.length} processes still rooted in ${dir}`)
    log(`removing stale ${dir}`)
    if (name.startsWith('standins-')) await rm(dir, { recursive: true, force: true })
    else await removeRoot(dir)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function startWorld(opts: WorldOptions): Promise<World> {
  const dir = path.join(ARTIFACTS, opts.scenario)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const lines: string[] = []
  const log = (line: string) => {
    const l = `${new Date().toISOString()} ${line}`
    lines.push(l)
    ;(opts.log ?? console.log)(`[${opts.scenario}] ${line}`)
  }
  const cleanups: (() => Promise<unknown>)[] = []
  const close = async () => {
    const errors: unknown[] = []
    for (const c of cleanups.splice(0).reverse()) await c().catch((e) => errors.push(e))
    await writeFile(path.join(dir, 'harness.log'), `${lines.join('\n')}\n`).catch(() => undefined)
    if (errors.length > 0) throw errors[0]
  }
  try {
    await cleanStaleWorlds(log)
    const mirror = await hostDebianMirror()
    const pristine = await ensureTrixieRoot({
      include: opts.include ?? E2E_INCLUDE,
      suite: opts.suite ?? 'trixie',
      mirror,
      log,
    })
    const root = path.join(WORLDS_DIR, `${opts.scenario}-${process.pid}-${randomBytes(3).toString('hex')}`)
    const t0 = Date.now()
    await cloneRoot(pristine, root)
    // E2E_KEEP_ROOT=1 keeps the (powered-off) root for a look after a failure, until the next
    // e2e run's cleanStaleWorlds.
    cleanups.push(() =>
      process.env.E2E_KEEP_ROOT === '1' ? Promise.resolve(log(`kept ${root}`)) : removeRoot(root),
    )
    log(`cloned ${pristine} to ${root} in ${Date.now() - t0} ms`)

    const standInDir = path.join(WORLDS_DIR, `standins-${process.pid}-${randomBytes(3).toString('hex')}`)
    const standIns = await buildStandIns(standInDir)
    cleanups.push(() => rm(standInDir, { recursive: true, force: true }))
    const served: ServedDir = await serveDir(standIns.dir)
    cleanups.push(() => served.close())

    await makeItLookLikeAVps(root)
    const machine = await NspawnMachine.create({
      root,
      name: opts.machineName,
      consoleLog: path.join(dir, 'console.log'),
      ...(opts.lifetimeMs !== undefined ? { lifetimeMs: opts.lifetimeMs } : {}),
      ...(opts.systemCallFilter ? { systemCallFilter: opts.systemCallFilter } : {}),
      log,
    })
    cleanups.push(() => machine.down())
    await machine.up()
    log(`${machine.name} is up: ${machine.address} (host side ${machine.hostAddress} on ${machine.veth})`)
    const proxy = await startAptProxy({
      host: machine.hostAddress,
      mirror,
      standIns: served.url,
      poolCache: opts.poolCache === false ? null : path.join(DEFAULT_CACHE_DIR, 'e2e-pool-cache'),
    })
    cleanups.push(() => proxy.close())
    await machine.writeFile(
      '/etc/apt/sources.list.d/debian.sources',
      [
        'Types: deb',
        `URIs: ${proxy.debianUrl}`,
        `Suites: ${opts.suite ?? 'trixie'}`,
        'Components: main',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        '',
      ].join('\n'),
    )
    const reach = await machine.exec(
      ['bash', '-c', `exec 3<>/dev/tcp/${machine.hostAddress}/${proxy.port}`],
      {
        allowFailure: true,
        timeoutMs: 20_000,
      },
    )
    log(`proxy ${proxy.url}: ${reach.exitCode === 0 ? 'reachable from inside' : 'NOT reachable from inside'}`)
    return { name: opts.scenario, dir, machine, proxy, standIns, log, close }
  } catch (e) {
    await close().catch(() => undefined)
    throw e
  }
}

/** A provider's image: apt sources as a deb822 file (written once the proxy has a port), root's key. */
async function makeItLookLikeAVps(root: string): Promise<void> {
  await rm(path.join(root, 'etc/apt/sources.list'), { force: true })
  await mkdir(path.join(root, 'root/.ssh'), { recursive: true, mode: 0o700 })
  await writeFile(path.join(root, 'root/.ssh/authorized_keys'), ROOT_AUTHORIZED_KEY, { mode: 0o600 })
}

/** The tool's configuration for the stand-ins served through the proxy. */
export function standInConfig(w: Pick<World, 'standIns' | 'proxy'>): string {
  const s = w.standIns
  const vscode = w.proxy.standInUrl('vscode')
  const antigravity = w.proxy.standInUrl('antigravity')
  const cursor = w.proxy.standInUrl('cursor')
  return [
    '# vps-provision e2e: the IDE sources are the lab stand-ins, served from the host side of the veth.',
    'sources:',
    '  vscode:',
    `    uri: ${vscode}/${s.repo.path}`,
    `    suite: ${s.repo.suite}`,
    `    components: [${s.repo.components.join(', ')}]`,
    `    key: ${vscode}/${s.urlPaths.keyAsc}`,
    '  cursor:',
    `    url: ${cursor}/${s.urlPaths.cursorDeb}`,
    `    sha256: ${s.sha256.cursorDeb}`,
    '  antigravity:',
    '    method: tarball',
    `    version: ${IDES.antigravity.upstream}-standin`,
    '    tarball:',
    `      url: ${antigravity}/antigravity/stable/{version}/${TARBALL_PLATFORM.amd64}/Antigravity.tar.gz`,
    `      sha256: ${s.byArch.amd64.sha256.tarball}`,
    '      binary: antigravity',
    '',
  ].join('\n')
}
