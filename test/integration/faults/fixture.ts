// Shared by the fault-injection files (test/integration/faults/*.test.ts): one prepared trixie root
// per file, the built tool inside it, background runs that can be signalled, the manifest check
// that nothing was lost, and the reliability record.
//
// A file calls `prepareFaultRoot()` once: it clones a base root (the cached pristine trixie root,
// plus what cloud images ship anyway, e.g. sudo: built once per machine under
// /var/tmp/vps-provision-faults/base-*) into a TEMPLATE, puts the one-file build and a config in it,
// and takes its manifest, the baseline. Cases work on a clone of the template (`fresh()`, ~2 s with
// reflinks) or go on from the state the previous case proved to be the baseline again; after a
// failed case the next one starts from a fresh clone (`fr.case`).
//
// Nothing here runs the tool on the host: every tool invocation is `chroot <root> node …`, and
// private mount namespaces (`unshare --mount --propagation private`) are the only mounts made
// beyond withChroot's own.

import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll } from 'vitest'
import { stringify } from 'yaml'
import { CHROOT_BASE_ENV, type Chroot, type ChrootExecResult, withChroot } from '../../lab/chroot.js'
import { killProcessesRootedIn, mountsUnder, processesRootedIn, removeTree, sleep } from '../../lab/mounts.js'
import { lastLines, run } from '../../lab/proc.js'
import { type ServedDir, serveDir } from '../../lab/serve.js'
import { labSkipReason, warnSkip } from '../../lab/skip.js'
import { buildStandIns, type StandIns, standInToolsMissing } from '../../lab/stand-ins.js'
import {
  acquireLock,
  cloneRoot,
  DEFAULT_CACHE_DIR,
  ensureTrixieRoot,
  LAB_INCLUDE,
  readStamp,
} from '../../lab/trixie-root.js'
import { type CaseRecord, reliabilityCase } from '../../support/reliability.js'
import { type Allowances, compareManifests, type Manifest, takeManifest } from '../support/manifest.js'

export const REPO = path.resolve(import.meta.dirname, '../../..')
export const TOOL_IN_ROOT = '/usr/local/bin/vps-provision.mjs'
export const CONFIG_IN_ROOT = '/etc/vps-provision/config.yaml'
export const USER = 'devuser'
export const STATE_DIR = '/var/vps-provision'
export const LOG_DIR = '/var/log/vps-provision'
export const WORK_DIR = '/var/tmp/vps-provision-faults'
/** Most cases need only user-creation: seconds, where a whole run takes minutes. */
export const RUN_USER_CREATION = ['run', '--yes', '--plain', '--only', 'user-creation']
/** The session id a run or rollback names in its output, or ''. */
export const sessionOf = (stdout: string) => /session (\d{8}-\d{6}-[0-9a-z]{6})/.exec(stdout)?.[1] ?? ''

// ---------------------------------------------------------------------------------------------
// Skip loudly, never silently.

export const skipReason = await labSkipReason(['unshare'], await standInToolsMissing())

export function warnIfSkipped(file: string): boolean {
  return warnSkip(`${file} (issue 5, faults on a real trixie root)`, skipReason)
}

// ---------------------------------------------------------------------------------------------
// What may differ from an expected manifest without anything being lost (same reasons as in
// chroot-provision.test.ts): shadow-utils' `<file>-` backups.

export const ALLOW: Allowances = {
  mayAppear: Object.fromEntries(
    ['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid'].map((f) => [
      `/etc/${f}-`,
      { type: 'f' as const, why: `shadow-utils backup of the previous /etc/${f}` },
    ]),
  ),
  mayChange: Object.fromEntries(
    ['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid'].map((f) => [
      `/etc/${f}-`,
      `shadow-utils backup of the previous /etc/${f}`,
    ]),
  ),
  mayKeepAccount: () => null,
}

/** After a resumed run vs an uninterrupted one: the generated password differs, nothing else. */
export const ALLOW_OTHER_PASSWORD: Allowances = {
  ...ALLOW,
  mayChange: {
    ...ALLOW.mayChange,
    '/root/vps-provision-credentials': 'holds the generated password, new in every run that sets one',
  },
}

/** Compares the manifest, ignoring the developer's shadow line (its password hash is per run). */
export function compareIgnoringPassword(expected: Manifest, actual: Manifest, allow = ALLOW_OTHER_PASSWORD) {
  const strip = (m: Manifest): Manifest => ({
    ...m,
    accounts: {
      ...m.accounts,
      shadow: m.accounts.shadow.map((l) => (l.name === USER ? { ...l, line: `${USER}:(password)` } : l)),
    },
  })
  return compareManifests(strip(expected), strip(actual), allow)
}

/** One line for the record: "equal to the baseline" or the first differences. */
export function describeComparison(what: string, c: { problems: string[]; kept: string[] }): string {
  if (c.problems.length === 0)
    return `manifest equal to ${what}${c.kept.length ? ` (${c.kept.length} allowed: shadow-utils backups/password)` : ''}`
  return `manifest DIFFERS from ${what}: ${c.problems.slice(0, 3).join(' | ')}${c.problems.length > 3 ? ` (+${c.problems.length - 3})` : ''}`
}

// ---------------------------------------------------------------------------------------------
// The tool, built once per test process into a private path (dist/ is shared with other work).

let built: Promise<string> | null = null
export function buildTool(): Promise<string> {
  built ??= (async () => {
    const out = path.join(WORK_DIR, `build-${process.pid}`, 'vps-provision.mjs')
    await mkdir(path.dirname(out), { recursive: true })
    await run([process.execPath, path.join(REPO, 'scripts/build.mjs'), '--outfile', out], {
      cwd: REPO,
      timeoutMs: 300_000,
    })
    return out
  })()
  return built
}

// ---------------------------------------------------------------------------------------------
// Results of the tool.

export type ToolResult = ChrootExecResult

/** The line a person would read first: a failed run's `Failed:` line, else the first stderr line (both on stderr). */
export function reasonOf(r: Pick<ToolResult, 'stdout' | 'stderr'>): string {
  const failed = r.stderr.split('\n').find((l) => l.startsWith('Failed:'))
  if (failed) return failed.trim()
  const err = r.stderr.split('\n').find((l) => l.trim() !== '' && !l.startsWith('warning:'))
  if (err) return err.trim()
  return (
    r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .at(-1)
      ?.trim() ?? ''
  )
}

export const exitText = (r: Pick<ToolResult, 'exitCode' | 'signal' | 'timedOut'>) =>
  r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`

/** "exit 5: Unable to …" — what a row's observed column starts with. */
export const seenExit = (r: ToolResult) => `${exitText(r)}: ${reasonOf(r).slice(0, 200)}`

export const tail = (r: ToolResult, n = 40) => `${exitText(r)}:\n${lastLines(`${r.stdout}\n${r.stderr}`, n)}`

/** A stack trace looks like "    at fn (file:line:col)". */
export const hasStackTrace = (r: ToolResult) => /^\s+at .+[:(]\d+/m.test(`${r.stdout}\n${r.stderr}`)

// ---------------------------------------------------------------------------------------------
// A run in the background, to signal it or race it.

export interface Spawned {
  pid: number
  child: ChildProcess
  /** Resolves when it exits; stdout/stderr collected. */
  done: Promise<ToolResult>
  output(): string
  /** Waits until `pred(stdout+stderr)` holds (polling), or throws after timeoutMs. */
  waitFor(pred: (text: string) => boolean, timeoutMs: number, what: string): Promise<void>
  kill(sig: NodeJS.Signals, group?: boolean): void
}

export function spawnInRoot(
  root: string,
  argv: readonly string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Spawned {
  const started = Date.now()
  // `chroot` execs the command, so the pid is the tool's own; own process group, so a power cut
  // can be imitated by killing the whole group (node, apt-get, dpkg).
  const child = spawn('chroot', [root, ...argv], {
    env: { ...CHROOT_BASE_ENV, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {}
  }, opts.timeoutMs ?? 300_000)
  const done = new Promise<ToolResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        argv,
        exitCode: code ?? -1,
        ...(signal ? { signal } : {}),
        stdout,
        stderr,
        durationMs: Date.now() - started,
        timedOut,
      })
    })
  })
  return {
    pid: child.pid as number,
    child,
    done,
    output: () => `${stdout}\n${stderr}`,
    async waitFor(pred, timeoutMs, what) {
      const until = Date.now() + timeoutMs
      while (!pred(`${stdout}\n${stderr}`)) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`the tool exited before ${what}:\n${lastLines(`${stdout}\n${stderr}`, 30)}`)
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
        await sleep(50)
      }
    },
    kill(sig, group = false) {
      try {
        process.kill(group ? -(child.pid as number) : (child.pid as number), sig)
      } catch {}
    },
  }
}

/**
 * Waits until a process runs inside `root` whose argv matches `pattern` (polling /proc, e.g.
 * /^dpkg .*--unpack/ for dpkg unpacking); returns its pid and argv.
 */
export async function waitForProcessIn(
  root: string,
  pattern: RegExp,
  timeoutMs: number,
): Promise<{ pid: number; argv: string }> {
  const until = Date.now() + timeoutMs
  for (;;) {
    for (const pid of await processesRootedIn(root)) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ')
      if (pattern.test(argv)) return { pid, argv: argv.trim() }
    }
    if (Date.now() > until)
      throw new Error(`no process matching ${pattern} in ${root} within ${timeoutMs} ms`)
    await sleep(10)
  }
}

/**
 * What `ps e` would have shown: every distinct argv and environment of the processes running in
 * `root`, sampled as fast as /proc can be read until `until` settles.
 */
export async function sampleProcesses(
  root: string,
  until: Promise<unknown>,
): Promise<{ samples: number; seen: Map<string, string> }> {
  let done = false
  void until.finally(() => {
    done = true
  })
  const seen = new Map<string, string>()
  let samples = 0
  while (!done) {
    samples++
    for (const pid of await processesRootedIn(root)) {
      const [cmdline, environ, comm] = await Promise.all(
        ['cmdline', 'environ', 'comm'].map((f) => readFile(`/proc/${pid}/${f}`, 'utf8').catch(() => '')),
      )
      const key = `${cmdline}\n${environ}`
      if (cmdline && !seen.has(key)) seen.set(key, (comm ?? '').trim())
    }
  }
  return { samples, seen }
}

// ---------------------------------------------------------------------------------------------
// The prepared root.

export interface FaultRootOptions {
  label: string
  /** Written to /etc/vps-provision/config.yaml (mode 0600). */
  config?: Record<string, unknown>
  /** Packages installed with apt-get before the baseline (what a cloud image already has). */
  preinstall?: readonly string[]
  /** Serve the stand-in IDEs (apt repository, cursor .deb) on 127.0.0.1 and configure them. */
  standIns?: boolean
  /** More set-up of the template, before its manifest is taken (part of the baseline). */
  prepare?: (ch: Chroot) => Promise<unknown>
  log?: (line: string) => void
}

export interface FaultRoot {
  /** The root cases work in (host path). */
  root: string
  /** The manifest of the template: what every fresh() root starts as. */
  baseline: Manifest
  srv: ServedDir | null
  standIns: StandIns | null
  /** The config written into the root. */
  config: Record<string, unknown>
  inRoot<T>(fn: (ch: Chroot) => Promise<T>, timeoutMs?: number): Promise<T>
  /** Runs the tool in the root, never throwing on a non-zero exit. */
  tool(ch: Chroot, args: readonly string[], opts?: ToolOptions): Promise<ToolResult>
  /** The tool in the background (inside an inRoot callback, so /proc and /dev are mounted). */
  spawn(args: readonly string[], opts?: ToolOptions): Spawned
  manifest(ch: Chroot): Promise<Manifest>
  /** `dpkg --audit` output: empty when dpkg has nothing half-done. */
  audit(ch: Chroot): Promise<string>
  /** Throws away the work root and clones the template again. */
  fresh(): Promise<void>
  /**
   * One recorded case (faultCase) that starts from a root in the template's state: cases chain on
   * one root while each proves it is back at the baseline; after a failure the next one re-clones.
   */
  case(
    file: string,
    meta: Omit<CaseRecord, 'observed' | 'passed' | 'backend'>,
    body: (seen: string[]) => Promise<void>,
  ): Promise<void>
  remove(): Promise<void>
}

export interface ToolOptions {
  env?: Record<string, string>
  timeoutMs?: number
  stdin?: string
  /** Run it as this argv prefix (e.g. setpriv …) before `node TOOL`. */
  wrap?: readonly string[]
}

/**
 * The cached pristine trixie root plus `preinstall` (what a cloud image ships anyway, e.g. sudo),
 * built once and shared by every file and run: `<WORK_DIR>/base-<key>`, renamed into place only when
 * complete. Never modified afterwards; files clone it.
 */
async function baseRoot(preinstall: readonly string[]): Promise<string> {
  const pristine = await ensureTrixieRoot({ include: LAB_INCLUDE })
  if (preinstall.length === 0) return pristine
  const key = createHash('sha256')
    .update(JSON.stringify([pristine, [...preinstall].sort()]))
    .digest('hex')
    .slice(0, 12)
  const final = path.join(WORK_DIR, `base-${key}`)
  if (await readStamp(final)) return final
  await mkdir(WORK_DIR, { recursive: true })
  const release = await acquireLock(`${final}.lock`, 20 * 60_000)
  try {
    if (await readStamp(final)) return final
    const tmp = `${final}.tmp-${process.pid}`
    await removeTree(tmp).catch(() => undefined)
    await cloneRoot(pristine, tmp)
    try {
      await withChroot(tmp, async (ch) => {
        await ch.exec(['apt-get', '-y', '-q', 'install', '--no-install-recommends', ...preinstall], {
          env: { DEBIAN_FRONTEND: 'noninteractive' },
          timeoutMs: 10 * 60_000,
        })
        await ch.exec(['apt-get', 'clean'])
      })
      await rename(tmp, final)
    } catch (e) {
      await removeTree(tmp).catch(() => undefined)
      throw e
    }
    return final
  } finally {
    await release()
  }
}

export async function prepareFaultRoot(opts: FaultRootOptions): Promise<FaultRoot> {
  const log = opts.log ?? ((l: string) => console.log(`[${opts.label}] ${l}`))
  const bundle = await buildTool()
  const base = await baseRoot(opts.preinstall ?? [])
  const template = path.join(DEFAULT_CACHE_DIR, 'clones', `faults-${opts.label}-template-${process.pid}`)
  await cloneRoot(base, template)
  const scratch = { root: template, remove: () => removeTree(template) }
  let srv: ServedDir | null = null
  let standIns: StandIns | null = null
  let srvDir: string | null = null
  const config: Record<string, unknown> = { ...(opts.config ?? {}) }
  const cleanups: (() => Promise<void>)[] = []
  try {
    if (opts.standIns) {
      srvDir = path.join(WORK_DIR, `srv-${opts.label}-${process.pid}`)
      await rm(srvDir, { recursive: true, force: true })
      standIns = await buildStandIns(path.join(srvDir, 'srv'))
      srv = await serveDir(standIns.dir)
      const url = srv.url
      const s = standIns
      config.sources = {
        vscode: {
          uri: `${url}/${s.repo.path}`,
          suite: s.repo.suite,
          components: s.repo.components,
          key: `${url}/${s.urlPaths.keyAsc}`,
        },
        cursor: { url: `${url}/${s.urlPaths.cursorDeb}`, sha256: s.sha256.cursorDeb },
        ...((config.sources as object | undefined) ?? {}),
      }
    }
    await withChroot(template, async (ch) => {
      await ch.copyIn(bundle, TOOL_IN_ROOT, { mode: 0o755 })
      await ch.writeFile(CONFIG_IN_ROOT, `# faults suite (${opts.label})\n${stringify(config)}`, {
        mode: 0o600,
      })
      await opts.prepare?.(ch)
    })
  } catch (e) {
    await srv?.close()
    await scratch.remove()
    throw e
  }
  if (srv) cleanups.push(() => (srv as ServedDir).close())
  if (srvDir) cleanups.push(() => rm(srvDir as string, { recursive: true, force: true }))

  let work = ''
  let n = 0
  let dirty = false
  const fresh = async () => {
    if (work) await removeTree(work)
    work = path.join(DEFAULT_CACHE_DIR, 'clones', `faults-${opts.label}-${process.pid}-${++n}`)
    const t = Date.now()
    await cloneRoot(template, work)
    log(`fresh root ${path.basename(work)} in ${Date.now() - t} ms`)
  }
  await fresh()

  let depth = 0
  const inRoot = async <T>(fn: (ch: Chroot) => Promise<T>, timeoutMs = 10 * 60_000) => {
    depth++
    try {
      return await withChroot(work, fn, { defaultTimeoutMs: timeoutMs, log })
    } finally {
      depth--
    }
  }
  const baseline = await inRoot((ch) => takeManifest(ch))

  const fr: FaultRoot = {
    get root() {
      return work
    },
    baseline,
    srv,
    standIns,
    config,
    inRoot,
    tool: (ch, args, o = {}) =>
      ch.exec([...(o.wrap ?? []), 'node', TOOL_IN_ROOT, ...args], {
        allowFailure: true,
        timeoutMs: o.timeoutMs ?? 5 * 60_000,
        ...(o.env ? { env: o.env } : {}),
        ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
      }),
    spawn: (args, o = {}) =>
      spawnInRoot(work, [...(o.wrap ?? []), 'node', TOOL_IN_ROOT, ...args], {
        ...(o.env ? { env: o.env } : {}),
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      }),
    manifest: (ch) => takeManifest(ch),
    async audit(ch) {
      const r = await ch.exec(['dpkg', '--audit'], { allowFailure: true })
      return `${r.stdout}${r.stderr}`.trim()
    },
    fresh,
    async case(file, meta, body) {
      // Never under a live withChroot (its mounts): a nested case waits for the next outer one.
      if (dirty && depth === 0) {
        await fresh()
        dirty = false
      }
      try {
        await faultCase(file, meta, body)
      } catch (e) {
        dirty = true
        throw e
      }
    },
    async remove() {
      for (const dir of [work, template]) {
        if (!dir) continue
        await killProcessesRootedIn(dir).catch(() => [])
        await removeTree(dir)
        if ((await mountsUnder(dir)).length > 0) throw new Error(`mounts left under ${dir}`)
      }
      for (const c of cleanups) await c()
      // This process's bundle (one per test file): it would pile up under WORK_DIR otherwise.
      await rm(path.dirname(bundle), { recursive: true, force: true })
      built = null
    },
  }
  return fr
}

// ---------------------------------------------------------------------------------------------
// Recording.

/** reliabilityCase for this suite: backend chroot, the file name filled in. */
export function faultCase(
  file: string,
  meta: Omit<CaseRecord, 'observed' | 'passed' | 'backend'>,
  body: (seen: string[]) => Promise<void>,
): Promise<void> {
  return reliabilityCase({ ...meta, backend: 'chroot', file: `test/integration/faults/${file}` }, body)
}

/** Regenerates docs/reliability.md after the file, pass or fail (the generator never throws). */
export function regenerateReportAfterAll(): void {
  afterAll(async () => {
    const { writeReliabilityReport } = await import('../../../scripts/gen-reliability.js')
    try {
      const { file, rows } = writeReliabilityReport()
      console.log(`[faults] ${path.relative(REPO, file)} regenerated (${rows} cases)`)
    } catch (e) {
      console.warn(`[faults] could not regenerate docs/reliability.md: ${String(e)}`)
    }
  })
}
