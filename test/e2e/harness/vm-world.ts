// A scenario's world on the VM backend: the cached image (vm-image.ts), a fresh overlay, the apt
// proxy and stand-ins on the host's 127.0.0.1 (the guest sees them as http://10.0.2.100), the
// qemu VM (qemu.ts), and teardown. The counterpart of world.ts's startWorld for containers.
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { sleep } from '../../lab/mounts.js'
import { hostHas } from '../../lab/proc.js'
import { type ServedDir, serveDir } from '../../lab/serve.js'
import { buildStandIns, type StandIns, standInToolsMissing } from '../../lab/stand-ins.js'
import { DEFAULT_CACHE_DIR, hostDebianMirror } from '../../lab/trixie-root.js'
import { type AptProxy, startAptProxy } from './apt-proxy.js'
import { QemuMachine } from './qemu.js'
import { createOverlay, ensureVmImage, GUEST_PROXY_URL, type VmImage } from './vm-image.js'
import { ARTIFACTS } from './world.js'

const VMS_DIR = path.join(DEFAULT_CACHE_DIR, 'e2e-vm')

/** Why the VM scenarios cannot run here, or null. */
export async function vmSkipReason(): Promise<string | null> {
  if (process.getuid?.() !== 0)
    return 'VM scenarios need root (debootstrap and mkfs.ext4 -d of a root-owned tree)'
  const missing: string[] = []
  for (const b of [
    'debootstrap',
    'qemu-system-x86_64',
    'qemu-img',
    'mkfs.ext4',
    'ssh',
    'ssh-keygen',
    'cloud-localds',
  ])
    if (!(await hostHas(b))) missing.push(b)
  missing.push(...(await standInToolsMissing()))
  if (missing.length > 0)
    return `VM scenarios need host tools that are missing: ${missing.join(', ')} (apt-get install qemu-system-x86 qemu-utils cloud-image-utils)`
  return null
}

/**
 * Scenarios that provision a whole VM (B, C) take half an hour or more each under TCG (this host's
 * KVM does not work, docs/e2e.md). They are part of `npm run e2e`; E2E_VM=0 leaves them out, loudly.
 */
export function vmFullRunSkipReason(): string | null {
  return process.env.E2E_VM === '0'
    ? 'E2E_VM=0: the scenarios that provision a whole VM under TCG (half an hour or more each) are left out'
    : null
}

export interface VmWorld {
  name: string
  dir: string
  machine: QemuMachine
  image: VmImage
  /** The proxy as the GUEST reaches it (http://10.0.2.100...). */
  proxy: AptProxy
  /** The proxy as the host reaches it (127.0.0.1). */
  hostProxy: AptProxy
  standIns: StandIns
  /** Host directory served to the guest as GUEST_PROXY_URL/standins/files/ (the tool, for cloud-init). */
  filesDir: string
  filesUrl: string
  runDir: string
  log: (line: string) => void
  close(): Promise<void>
}

export interface VmWorldOptions {
  scenario: string
  machineName: string
  memoryMiB?: number
  diskGb?: number
  /** The image's apt archive cache holds the lab's .debs (vm-image.ts): for full runs under TCG. */
  warmAptCache?: boolean
  /** Makes the NoCloud seed once the world (URLs, files) exists; without it cloud-init is off. */
  seed?: (w: Omit<VmWorld, 'machine'>) => Promise<string>
  /** See QemuOptions.waitForBoot. */
  waitForBoot?: boolean
  log?: (line: string) => void
}

/** qemu processes (and their run directories) left by a test process that died without teardown. */
async function cleanStaleVms(log: (line: string) => void): Promise<void> {
  const entries = await readdir(VMS_DIR).catch(() => [] as string[])
  for (const name of entries) {
    const pid = Number(/-(\d+)-[0-9a-f]{6}$/.exec(name)?.[1] ?? Number.NaN)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      process.kill(pid, 0)
      continue // its test process still runs
    } catch {
      // dead: clean up after it
    }
    const dir = path.join(VMS_DIR, name)
    for (const proc of await readdir('/proc')) {
      if (!/^\d+$/.test(proc)) continue
      const argv = (await readFile(`/proc/${proc}/cmdline`, 'utf8').catch(() => '')).split('\0')
      if (argv[0]?.endsWith('qemu-system-x86_64') && argv.some((a) => a.includes(dir))) {
        log(`killing the stale qemu of ${dir} (pid ${proc})`)
        try {
          process.kill(Number(proc), 'SIGKILL')
        } catch {
          // gone
        }
        await sleep(1000)
      }
    }
    log(`removing stale ${dir}`)
    await rm(dir, { recursive: true, force: true })
  }
}

/** The proxy with the guest's URLs: what the guest's configuration and user-data must name. */
function guestView(p: AptProxy): AptProxy {
  return {
    ...p,
    url: GUEST_PROXY_URL,
    port: 80,
    debianUrl: `${GUEST_PROXY_URL}/debian`,
    standInUrl: (alias) => `${GUEST_PROXY_URL}/standins/${alias}`,
  }
}

export async function startVmWorld(opts: VmWorldOptions): Promise<VmWorld> {
  const dir = path.join(ARTIFACTS, opts.scenario)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const lines: string[] = []
  const log = (line: string) => {
    lines.push(`${new Date().toISOString()} ${line}`)
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
    await cleanStaleVms(log)
    const t0 = Date.now()
    // 16 GB: a resumed run passes preflight's 10 GB free again with part of the packages installed.
    const image = await ensureVmImage({
      diskGb: opts.diskGb ?? 16,
      warmAptCache: opts.warmAptCache ?? false,
      log,
    })
    log(`image ${image.base} ready in ${Date.now() - t0} ms`)
    const runDir = path.join(VMS_DIR, `${opts.scenario}-${process.pid}-${randomBytes(3).toString('hex')}`)
    await mkdir(runDir, { recursive: true })
    cleanups.push(() => rm(runDir, { recursive: true, force: true }))
    const overlay = path.join(runDir, 'overlay.qcow2')
    await createOverlay(image, overlay)

    const standIns = await buildStandIns(path.join(runDir, 'standins'))
    // Extra files for the guest (the tool for cloud-init) ride along under the stand-in server.
    const filesDir = path.join(standIns.dir, 'e2e-files')
    await mkdir(filesDir, { recursive: true })
    const served: ServedDir = await serveDir(standIns.dir)
    cleanups.push(() => served.close())
    const hostProxy = await startAptProxy({
      host: '127.0.0.1',
      mirror: await hostDebianMirror(),
      standIns: served.url,
      poolCache: path.join(DEFAULT_CACHE_DIR, 'e2e-pool-cache'),
    })
    cleanups.push(() => hostProxy.close())
    const proxy = guestView(hostProxy)
    const partial = {
      name: opts.scenario,
      dir,
      image,
      proxy,
      hostProxy,
      standIns,
      filesDir,
      filesUrl: `${proxy.standInUrl('files')}/e2e-files`,
      runDir,
      log,
      close,
    }
    const seed = opts.seed ? await opts.seed(partial) : undefined
    const machine = new QemuMachine({
      name: opts.machineName,
      image,
      overlay,
      runDir: path.join(runDir, 'qemu'),
      consoleLog: path.join(dir, 'console.log'),
      proxyPort: hostProxy.port,
      ...(opts.memoryMiB ? { memoryMiB: opts.memoryMiB } : {}),
      ...(seed ? { seed } : {}),
      ...(opts.waitForBoot === false ? { waitForBoot: false } : {}),
      log,
    })
    cleanups.push(() => machine.down())
    const t1 = Date.now()
    await machine.up()
    log(
      `${machine.name} is up in ${Date.now() - t1} ms (${machine.accel}); ssh 127.0.0.1:${machine.sshPort}, rdp 127.0.0.1:${machine.rdpPort}`,
    )
    const reach = await machine.exec(['bash', '-c', 'exec 3<>/dev/tcp/10.0.2.100/80'], {
      allowFailure: true,
      timeoutMs: 30_000,
    })
    log(`proxy from inside: ${reach.exitCode === 0 ? 'reachable' : `NOT reachable (${reach.stderr.trim()})`}`)
    return { ...partial, machine }
  } catch (e) {
    await close().catch(() => undefined)
    throw e
  }
}
