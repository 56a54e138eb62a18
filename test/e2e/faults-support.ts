// Helpers for the fault cases that need a booted container (faults-*.test.ts): a process sampler
// that reads every container process's argv and environment from the host's /proc, a search of
// the container's whole filesystem view for a string, a squatter on a TCP port, and the report rows.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'
import { sleep } from '../lab/mounts.js'
import { run } from '../lab/proc.js'
import type { NspawnMachine } from './harness/nspawn.js'
import { REPO_ROOT } from './harness/world.js'

/** Processes seen by the sampler: argv and environment as the kernel shows them in /proc. */
export interface SampledProcess {
  pid: number
  comm: string
  cmdline: string
  environ: string
}

export interface SamplerResult {
  samples: number
  /** Milliseconds per sampling round: mean and worst. */
  meanRoundMs: number
  maxRoundMs: number
  /** Distinct (cmdline, environ) pairs. */
  seen: SampledProcess[]
  /** Distinct processes, by pid and start time. */
  processes: number
}

/**
 * Reads /proc/PID/{cmdline,environ,comm} of every process whose pid namespace is the container's
 * (the host sees them all under its own pids), every `intervalMs`, until stop(). What a local user
 * running `ps` in a loop could see, and more: environ is readable only by the owner and root.
 */
export class ContainerProcSampler {
  private stopped = false
  private loop: Promise<void> | null = null
  private readonly seen = new Map<string, SampledProcess>()
  private readonly started = new Set<string>()
  private samples = 0
  private totalMs = 0
  private maxMs = 0

  constructor(
    private readonly pid1: number,
    private readonly intervalMs = 150,
  ) {}

  async start(): Promise<void> {
    const ns = await readlink(`/proc/${this.pid1}/ns/pid`)
    this.loop = (async () => {
      while (!this.stopped) {
        const t0 = Date.now()
        await this.round(ns)
        const ms = Date.now() - t0
        this.samples++
        this.totalMs += ms
        this.maxMs = Math.max(this.maxMs, ms)
        await sleep(Math.max(10, this.intervalMs - ms))
      }
    })()
  }

  private async round(ns: string): Promise<void> {
    const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p))
    await Promise.all(
      pids.map(async (pid) => {
        if ((await readlink(`/proc/${pid}/ns/pid`).catch(() => '')) !== ns) return
        // latin1: bytes as they are, whatever the encoding of an argument.
        const [cmdline, environ, comm, stat] = await Promise.all(
          ['cmdline', 'environ', 'comm', 'stat'].map((f) =>
            readFile(`/proc/${pid}/${f}`, 'latin1').catch(() => ''),
          ),
        )
        // Field 22 of stat is the start time; the comm in parentheses may hold spaces.
        const start = (stat ?? '').slice((stat ?? '').lastIndexOf(')') + 2).split(' ')[19] ?? ''
        this.started.add(`${pid}:${start}`)
        const key = `${cmdline}\n${environ}`
        if (!this.seen.has(key))
          this.seen.set(key, {
            pid: Number(pid),
            comm: (comm ?? '').trim(),
            cmdline: cmdline ?? '',
            environ: environ ?? '',
          })
      }),
    )
  }

  async stop(): Promise<SamplerResult> {
    this.stopped = true
    await this.loop
    return {
      samples: this.samples,
      meanRoundMs: this.samples ? Math.round(this.totalMs / this.samples) : 0,
      maxRoundMs: this.maxMs,
      seen: [...this.seen.values()],
      processes: this.started.size,
    }
  }
}

/** Where a string occurs in sampled processes: "comm (pid N) argv|environ". */
export function processesHolding(r: SamplerResult, needle: string): string[] {
  const out: string[] = []
  for (const p of r.seen) {
    if (p.cmdline.includes(needle)) out.push(`${p.comm} (pid ${p.pid}) argv`)
    if (p.environ.includes(needle)) out.push(`${p.comm} (pid ${p.pid}) environ`)
  }
  return out
}

/**
 * Every file under the container's / (its own mount namespace, through /proc/PID1/root: /run and
 * /tmp are the container's tmpfs, not the root directory's) holding `needle`, as container paths.
 * /proc, /sys and /dev are left out (the kernel's views, not storage) except /dev/shm. The needle
 * goes to grep in a 0600 file, never on a command line.
 */
export async function filesHolding(
  pid1: number,
  needle: string,
): Promise<{ files: string[]; searched: string[]; exitCode: number | null }> {
  const base = `/proc/${pid1}/root`
  const top = (await readdir(base)).filter((d) => !['proc', 'sys', 'dev'].includes(d))
  const searched = [...top.map((d) => `/${d}`), '/dev/shm']
  const dir = await mkdtemp(path.join(tmpdir(), 'e2e-needle-'))
  try {
    const pattern = path.join(dir, 'pattern')
    await writeFile(pattern, `${needle}\n`, { mode: 0o600 })
    const r = await run(
      [
        'grep',
        '-rlF',
        '--devices=skip',
        '--no-messages',
        '-f',
        pattern,
        '--',
        ...searched.map((d) => `${base}${d}`),
      ],
      { allowFailure: true, timeoutMs: 15 * 60_000 },
    )
    const files = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.slice(base.length))
      .sort()
    return { files, searched, exitCode: r.exitCode }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A random string that cannot occur by chance. */
export function canary(label: string): string {
  return `e2e-${label}-${randomBytes(12).toString('hex')}`
}

export interface Squatter {
  unit: string
  pid: number
}

/**
 * Another service listening on TCP `port` inside the container, as its own systemd unit: node
 * (the image's runtime) with a bare server. Returns once `ss` shows it listening.
 */
export async function startSquatter(m: NspawnMachine, port: number, unit = 'squatter'): Promise<Squatter> {
  await m.exec([
    'systemd-run',
    `--unit=${unit}`,
    '--',
    'node',
    '-e',
    `require('net').createServer().listen(${port})`,
  ])
  for (let i = 0; i < 100; i++) {
    const ss = await m.exec(['ss', '-Hltnp'], { allowFailure: true })
    const line = ss.stdout.split('\n').find((l) => l.split(/\s+/)[3]?.endsWith(`:${port}`)) ?? ''
    const pid = /"node",pid=(\d+)/.exec(line)?.[1]
    if (pid) return { unit: `${unit}.service`, pid: Number(pid) }
    await sleep(200)
  }
  throw new Error(`the squatter never listened on ${port}`)
}

/** MainPID of a unit inside, or 0 when it is not running. */
export async function mainPid(m: NspawnMachine, unit: string): Promise<number> {
  const r = await m.exec(['systemctl', 'show', '-p', 'MainPID', '--value', unit], { allowFailure: true })
  return Number(r.stdout.trim()) || 0
}

/** The line a person reads first in --plain output: a failed run's `Failed:` line (on stderr), else stderr's first. */
export function failedLine(r: { stdout: string; stderr: string }): string {
  const failed = r.stderr.split('\n').find((l) => l.startsWith('Failed:'))
  if (failed) return failed.trim()
  return (
    r.stderr
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '(no message)'
  )
}

/** Regenerates docs/reliability.md from the recorded rows once the file's cases have run. */
export function regenerateReportAfterAll(): void {
  afterAll(async () => {
    const { writeReliabilityReport } = await import('../../scripts/gen-reliability.js')
    try {
      const { file, rows } = writeReliabilityReport()
      console.log(`[faults] ${path.relative(REPO_ROOT, file)} regenerated (${rows} cases)`)
    } catch (e) {
      console.warn(`[faults] could not regenerate docs/reliability.md: ${String(e)}`)
    }
  })
}
