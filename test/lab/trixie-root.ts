// Cached Debian 13 (trixie) minbase roots for integration tests.
//
// ensureTrixieRoot() builds a pristine root once per (suite, include list, mirror, arch) with
// debootstrap, into a temporary directory that is renamed into place only when complete, so a
// half-built root is never used. Tests never touch the pristine root: cloneRoot() copies it
// (`cp -a --reflink=auto`, about 1.5 s for ~350 MB on ext4) and each test works on its clone.

import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { assertNothingMountedUnder, canonical, removeTree, sleep } from './mounts.js'
import { cleanEnv, lastLines, run } from './proc.js'

export const DEFAULT_CACHE_DIR = '/var/tmp/vps-provision-lab'

/**
 * What the lab's own tests need on top of minbase: the tool's runtime (nodejs) and TLS roots.
 * Nothing for signed third-party repositories: apt 3.0 on trixie depends on `sqv`, which minbase
 * already has, and sqv reads both binary (.gpg) and ASCII-armored (.asc) keyrings. minbase has
 * no `gpg`, no `curl` and no systemd: a tool that needs them must install them itself.
 */
export const LAB_INCLUDE: readonly string[] = ['nodejs', 'ca-certificates']

/** Stamp file at the top of every lab root (pristine and clones). */
export const STAMP_FILE = '.vps-provision-lab.json'

/** Bump to invalidate every cached root when the way roots are built changes. */
const FORMAT = 1

export interface LabStamp {
  format: number
  kind: 'pristine' | 'clone'
  key: string
  suite: string
  variant: 'minbase'
  include: string[]
  mirror: string
  arch: string
  builtAt: string
  debootstrapMs: number
  clonedFrom?: string
  clonedAt?: string
}

export interface EnsureTrixieRootOptions {
  /** Where pristine roots, build logs and clones live. Default /var/tmp/vps-provision-lab. */
  cacheDir?: string
  /** Extra packages for `debootstrap --include`; part of the cache key (order does not matter). */
  include: readonly string[]
  /** Default: the Debian mirror of the host's apt sources (see hostDebianMirror). */
  mirror?: string
  /** Default 'trixie'. */
  suite?: string
  /** Progress lines (build start, reuse, log path). */
  log?: (line: string) => void
  /** Limit for one debootstrap run; default 20 minutes. */
  timeoutMs?: number
}

/**
 * The Debian mirror this host's apt uses (the first `deb` source for the main archive, not the
 * security or updates suites), e.g. http://deb.debian.org/debian. VPS_PROVISION_LAB_MIRROR
 * overrides it.
 */
export async function hostDebianMirror(): Promise<string> {
  const override = process.env.VPS_PROVISION_LAB_MIRROR
  if (override) return override.replace(/\/+$/, '')
  const entries: { uri: string; suites: string[] }[] = []
  const dir = '/etc/apt/sources.list.d'
  let names: string[] = []
  try {
    names = (await readdir(dir)).sort()
  } catch {
    // no sources.list.d
  }
  for (const name of names) {
    const file = path.join(dir, name)
    if (name.endsWith('.sources')) entries.push(...parseDeb822Sources(await readText(file)))
    else if (name.endsWith('.list')) entries.push(...parseOneLineSources(await readText(file)))
  }
  entries.push(...parseOneLineSources(await readText('/etc/apt/sources.list')))
  const main = entries.find(
    (e) =>
      !/security/.test(e.uri) &&
      e.suites.some((s) => !/-(security|updates|backports|proposed-updates)$/.test(s)),
  )
  if (!main) {
    throw new Error(
      'no Debian mirror found in /etc/apt/sources.list{,.d}: set VPS_PROVISION_LAB_MIRROR (e.g. http://deb.debian.org/debian)',
    )
  }
  return main.uri.replace(/\/+$/, '')
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch {
    return ''
  }
}

/** `deb` entries of a deb822 .sources file (disabled stanzas and deb-src skipped). */
export function parseDeb822Sources(text: string): { uri: string; suites: string[] }[] {
  const out: { uri: string; suites: string[] }[] = []
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>()
    let last = ''
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`)
        continue
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw)
      if (m?.[1] && m[2] !== undefined) {
        last = m[1].toLowerCase()
        fields.set(last, m[2].trim())
      }
    }
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue
    if (/^(no|false|0)$/i.test(fields.get('enabled') ?? 'yes')) continue
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean)
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites })
  }
  return out
}

/** `deb` lines of a one-line-style sources.list. */
export function parseOneLineSources(text: string): { uri: string; suites: string[] }[] {
  const out: { uri: string; suites: string[] }[] = []
  for (const raw of text.split('\n')) {
    const line = raw
      .replace(/#.*/, '')
      .replace(/\[[^\]]*\]/, ' ')
      .trim()
    const [type, uri, suite] = line.split(/\s+/)
    if (type === 'deb' && uri && suite) out.push({ uri, suites: [suite] })
  }
  return out
}

export async function hostArch(): Promise<string> {
  const r = await run(['dpkg', '--print-architecture'], { allowFailure: true, timeoutMs: 10_000 })
  return r.exitCode === 0 ? r.stdout.trim() : 'amd64'
}

export function rootCacheKey(k: { suite: string; include: readonly string[]; mirror: string; arch: string }) {
  const include = [...new Set(k.include)].sort()
  const text = JSON.stringify({ format: FORMAT, variant: 'minbase', ...k, include })
  return createHash('sha256').update(text).digest('hex').slice(0, 12)
}

export async function readStamp(root: string): Promise<LabStamp | null> {
  try {
    return JSON.parse(await readFile(path.join(root, STAMP_FILE), 'utf8')) as LabStamp
  } catch {
    return null
  }
}

const inProcess = new Map<string, Promise<string>>()

/**
 * Path of a pristine, complete trixie minbase root with `include` installed, building it (about
 * 35-60 s) when the cache has none. Safe to call from parallel test files: one builds, the others
 * wait on a lock file. Never modify the returned directory: clone it.
 */
export async function ensureTrixieRoot(opts: EnsureTrixieRootOptions): Promise<string> {
  const cacheDir = path.resolve(opts.cacheDir ?? DEFAULT_CACHE_DIR)
  const suite = opts.suite ?? 'trixie'
  const include = [...new Set(opts.include)].sort()
  for (const p of include) {
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p))
      throw new Error(`ensureTrixieRoot: bad package name ${JSON.stringify(p)}`)
  }
  const mirror = opts.mirror ?? (await hostDebianMirror())
  const arch = await hostArch()
  const key = rootCacheKey({ suite, include, mirror, arch })
  const name = `${suite}-minbase-${key}`
  const final = path.join(cacheDir, name)
  const pending = inProcess.get(final)
  if (pending) return pending
  const p = (async () => {
    if (await isComplete(final, key)) return final
    await mkdir(cacheDir, { recursive: true })
    const release = await acquireLock(
      path.join(cacheDir, `${name}.lock`),
      (opts.timeoutMs ?? 20 * 60_000) + 60_000,
    )
    try {
      if (await isComplete(final, key)) return final
      await cleanStaleBuilds(cacheDir)
      if (await exists(final)) await removeTree(final) // incomplete or foreign: rebuild
      await build({ cacheDir, name, final, key, suite, include, mirror, arch, opts })
      return final
    } finally {
      await release()
    }
  })()
  inProcess.set(final, p)
  try {
    return await p
  } finally {
    inProcess.delete(final)
  }
}

async function isComplete(root: string, key: string): Promise<boolean> {
  const s = await readStamp(root)
  return s !== null && s.kind === 'pristine' && s.key === key && s.format === FORMAT
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch {
    return false
  }
}

interface BuildArgs {
  cacheDir: string
  name: string
  final: string
  key: string
  suite: string
  include: string[]
  mirror: string
  arch: string
  opts: EnsureTrixieRootOptions
}

async function build(a: BuildArgs): Promise<void> {
  const log = a.opts.log ?? (() => {})
  const tmp = path.join(a.cacheDir, `.build-${a.name}-${process.pid}-${randomBytes(3).toString('hex')}`)
  const logFile = path.join(a.cacheDir, `${a.name}.log`)
  const argv = [
    'debootstrap',
    '--variant=minbase',
    ...(a.include.length > 0 ? [`--include=${a.include.join(',')}`] : []),
    a.suite,
    tmp,
    a.mirror,
  ]
  log(`building ${a.final} (${argv.join(' ')}); log: ${logFile}`)
  const started = Date.now()
  try {
    const r = await run(argv, {
      env: cleanEnv({ HOME: '/root' }),
      timeoutMs: a.opts.timeoutMs ?? 20 * 60_000,
      allowFailure: true,
    })
    await writeFile(logFile, `$ ${argv.join(' ')}\n${r.stdout}\n${r.stderr}\n`)
    if (r.exitCode !== 0 || r.timedOut) {
      const inner = await readText(path.join(tmp, 'debootstrap', 'debootstrap.log'))
      throw new Error(
        `debootstrap ${r.timedOut ? 'timed out' : `exited ${r.exitCode}`} (log: ${logFile}):\n` +
          `${lastLines(`${r.stdout}\n${r.stderr}`, 10)}\n${lastLines(inner, 10)}`,
      )
    }
    const debootstrapMs = Date.now() - started
    // Every package asked for must really be installed.
    if (a.include.length > 0) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} syntax
      const format = '-f=${Package} ${Status}\\n'
      await run(['chroot', tmp, 'dpkg-query', '-W', format, ...a.include], {
        timeoutMs: 60_000,
      }).then((q) => {
        const bad = q.stdout.split('\n').filter((l) => l.trim() && !l.endsWith('install ok installed'))
        if (bad.length > 0) throw new Error(`debootstrap left packages uninstalled: ${bad.join('; ')}`)
      })
    }
    await assertNothingMountedUnder(tmp)
    const stamp: LabStamp = {
      format: FORMAT,
      kind: 'pristine',
      key: a.key,
      suite: a.suite,
      variant: 'minbase',
      include: a.include,
      mirror: a.mirror,
      arch: a.arch,
      builtAt: new Date().toISOString(),
      debootstrapMs,
    }
    await writeFile(path.join(tmp, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`)
    await rename(tmp, a.final)
    log(`built ${a.final} in ${debootstrapMs} ms`)
  } finally {
    // A failed or interrupted debootstrap may leave /proc or /sys mounted in the target.
    if (await exists(tmp)) await removeTree(tmp, log)
  }
}

/**
 * Removes `.build-*` directories left by builders that are no longer alive (killed mid-debootstrap:
 * their target may still have /proc mounted), unmounting first. Live builders' dirs are left alone.
 */
export async function cleanStaleBuilds(cacheDir: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    const m = /^\.build-.*-(\d+)-[0-9a-f]{6}$/.exec(entry)
    if (!m?.[1]) continue
    if (isAlive(Number(m[1]))) continue
    await removeTree(path.join(cacheDir, entry))
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

/** A lock file holding the owner's PID; a lock whose owner died is taken over. Returns release(). */
export async function acquireLock(file: string, timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const fh = await open(file, 'wx')
      await fh.writeFile(`${process.pid}\n`)
      await fh.close()
      return async () => {
        await unlink(file).catch(() => undefined)
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const owner = Number((await readText(file)).trim())
    if (owner > 0 && owner !== process.pid && !isAlive(owner)) {
      await unlink(file).catch(() => undefined)
      continue
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} (held by PID ${owner})`)
    await sleep(500)
  }
}

/**
 * Copies a pristine root to `dest` (which must not exist) with `cp -a --reflink=auto
 * --one-file-system` and marks the copy as a clone. Refuses a source with anything mounted
 * under it, so a host /proc or /dev can never be copied in.
 */
export async function cloneRoot(pristine: string, dest: string): Promise<string> {
  const src = await canonical(pristine)
  const stamp = await readStamp(src)
  if (!stamp) throw new Error(`cloneRoot: ${src} is not a lab root (no ${STAMP_FILE})`)
  await assertNothingMountedUnder(src)
  const target = path.resolve(dest)
  if (await exists(target)) throw new Error(`cloneRoot: ${target} already exists`)
  await mkdir(path.dirname(target), { recursive: true })
  await run(['cp', '-a', '--reflink=auto', '--one-file-system', '--', src, target], {
    timeoutMs: 10 * 60_000,
  })
  const cloneStamp: LabStamp = {
    ...stamp,
    kind: 'clone',
    clonedFrom: src,
    clonedAt: new Date().toISOString(),
  }
  await rm(path.join(target, STAMP_FILE), { force: true })
  await writeFile(path.join(target, STAMP_FILE), `${JSON.stringify(cloneStamp, null, 2)}\n`)
  return target
}

/** Deletes a clone (or any lab root): ends its processes, unmounts, then `rm -rf --one-file-system`. */
export async function removeRoot(root: string): Promise<void> {
  await removeTree(root)
}

export interface ScratchRoot {
  /** The throwaway clone to work in. */
  root: string
  /** The cached pristine root it was copied from. */
  pristine: string
  cloneMs: number
  remove(): Promise<void>
}

/** ensureTrixieRoot + cloneRoot into `<cacheDir>/clones/<random>`: what most tests want. */
export async function scratchRoot(opts: EnsureTrixieRootOptions & { label?: string }): Promise<ScratchRoot> {
  const cacheDir = path.resolve(opts.cacheDir ?? DEFAULT_CACHE_DIR)
  const pristine = await ensureTrixieRoot(opts)
  const label = (opts.label ?? 'root').replace(/[^A-Za-z0-9_.-]/g, '-')
  const dest = path.join(cacheDir, 'clones', `${label}-${process.pid}-${randomBytes(4).toString('hex')}`)
  const started = Date.now()
  const root = await cloneRoot(pristine, dest)
  return { root, pristine, cloneMs: Date.now() - started, remove: () => removeRoot(root) }
}
