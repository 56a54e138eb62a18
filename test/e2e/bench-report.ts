// docs/benchmarks.md's provisioning section, from what `npm run bench` measured: the ratios the
// project aims at (issue 19), met or not, for a cold and a warm apt cache.
import { readFile, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import path from 'node:path'
import { run } from '../lab/proc.js'
import { REPO_ROOT } from './harness/world.js'

export interface BenchRound {
  cache: 'cold' | 'warm'
  /** `harnessMs`: the same command timed from the host, through nsenter and a transient unit. */
  rows: { label: string; ms: number; harnessMs?: number }[]
  /** Node's peak RSS per tool command. */
  rss: { label: string; mib: number }[]
  phases: { phase: string; seconds: number; actions: number }[]
  proxy: string[]
  /** Load averages taken before and after each timed part. */
  load: number[][]
}

const START = '<!-- e2e-bench:start (written by npm run bench; edits inside are overwritten) -->'
const END = '<!-- e2e-bench:end -->'

const s = (ms: number | undefined) => (ms === undefined ? 'not measured' : `${(ms / 1000).toFixed(1)} s`)
const sum = (r: BenchRound, prefix: string) =>
  r.rows.filter((x) => x.label.startsWith(prefix)).reduce((t, x) => t + x.ms, 0) || undefined

interface Goal {
  what: string
  target: string
  value: (r: BenchRound) => number | undefined
  met: (v: number, r: BenchRound) => boolean
  format: (v: number) => string
}

const GOALS: Goal[] = [
  {
    what: 'full run ÷ apt floor (update + install)',
    target: '≤ 0.85',
    value: (r) => ratio(sum(r, 'full run'), sum(r, 'apt floor')),
    met: (v) => v <= 0.85,
    format: (v) => v.toFixed(2),
  },
  {
    what: 're-run',
    target: '< 1 s and ≤ 1 % of the full run',
    value: (r) => sum(r, 're-run'),
    met: (v, r) => v < 1000 && v <= 0.01 * (sum(r, 'full run') ?? 0),
    format: (v) => s(v),
  },
  {
    what: 'plan on the provisioned machine',
    target: '< 1 s',
    value: (r) => sum(r, 'plan on the provisioned'),
    met: (v) => v < 1000,
    format: (v) => s(v),
  },
  {
    what: 'peak RSS of the tool (largest of its commands)',
    target: '< 120 MiB',
    value: (r) => (r.rss.length > 0 ? Math.max(...r.rss.map((x) => x.mib)) : undefined),
    met: (v) => v < 120,
    format: (v) => `${v.toFixed(0)} MiB`,
  },
  {
    what: 'rollback ÷ full run',
    target: '≤ 0.30',
    value: (r) => ratio(sum(r, 'rollback'), sum(r, 'full run')),
    met: (v) => v <= 0.3,
    format: (v) => v.toFixed(2),
  },
]

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a && b ? a / b : undefined
}

function goalsTable(rounds: BenchRound[]): string {
  const cell = (g: Goal, r: BenchRound | undefined) => {
    const v = r ? g.value(r) : undefined
    return v === undefined
      ? 'not measured'
      : `${g.format(v)} (${g.met(v, r as BenchRound) ? 'met' : 'NOT met'})`
  }
  const cold = rounds.find((r) => r.cache === 'cold')
  const warm = rounds.find((r) => r.cache === 'warm')
  return [
    '| goal | target | cold apt cache | warm apt cache |',
    '|---|---|---|---|',
    ...GOALS.map((g) => `| ${g.what} | ${g.target} | ${cell(g, cold)} | ${cell(g, warm)} |`),
  ].join('\n')
}

function roundSection(r: BenchRound): string {
  const load = r.load.map((l) => l.map((x) => x.toFixed(2)).join(' ')).join(' → ')
  return `### ${r.cache === 'cold' ? 'Cold' : 'Warm'} apt cache

${r.proxy.map((p) => `- ${p}`).join('\n')}
- Load average (1, 5, 15 min) around each timed part: ${load}

| what | time | from the host | peak RSS |
|---|---|---|---|
${r.rows
  .map((x) => {
    const rss = r.rss.find((y) => y.label === x.label)
    const host = x.harnessMs === undefined ? '' : s(x.harnessMs)
    return `| ${x.label} | ${s(x.ms)} | ${host} | ${rss ? `${rss.mib.toFixed(0)} MiB` : ''} |`
  })
  .join('\n')}
${
  r.phases.length === 0
    ? ''
    : `
Per phase of the full run (from the session file):

| phase | time | actions |
|---|---|---|
${r.phases.map((p) => `| ${p.phase} | ${p.seconds.toFixed(1)} s | ${p.actions} |`).join('\n')}
`
}`
}

export async function writeBenchReport(rounds: BenchRound[], packages: number): Promise<void> {
  const os = (await readFile('/etc/os-release', 'utf8')).match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? '?'
  const kernel = (await run(['uname', '-r'])).stdout.trim()
  const nspawn = (await run(['systemd-nspawn', '--version'])).stdout.split('\n')[0]
  const commit = (
    await run(['git', 'rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, allowFailure: true })
  ).stdout.trim()
  const text = `## Provisioning on the container backend

Written by \`npm run bench\` (\`test/e2e/benchmark.e2e-bench.ts\`) on ${new Date().toISOString().slice(0, 10)}, commit ${commit || '?'}.

- Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${os}, kernel ${kernel}
- Backend: a fresh booted Debian 13 container per part (${nspawn}, docs/e2e.md); apt through the
  harness's proxy to the host's Debian mirror. Cold: the proxy keeps no .deb, so every package
  comes from the mirror; warm: the proxy's .deb cache serves them.
- The floor: the same ${packages} packages the run newly installed (the union of its journal's purge
  lists, less the IDE stand-ins), in one \`apt-get install --no-install-recommends\` after one
  \`apt-get update\`, with the tool's apt options.
- A tool command's time is its own process's wall time, as \`time\` shows it on the VPS ("from the
  host" adds the harness's nsenter and transient unit); the floor's is apt's, from the host.
- Other work on the same cores slows every number here; compare runs of one sitting only.

### Goals

${goalsTable(rounds)}

${rounds.map(roundSection).join('\n')}`
  // Only our section of docs/benchmarks.md: the rest (CLI startup...) belongs to other benchmarks.
  const file = path.join(REPO_ROOT, 'docs/benchmarks.md')
  const section = `${START}\n\n${text.trim()}\n\n${END}\n`
  const current = await readFile(file, 'utf8').catch(() => '# Benchmarks\n')
  const from = current.indexOf(START)
  const to = current.indexOf(END)
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + END.length).replace(/^\n/, '')}`
      : `${current.trimEnd()}\n\n${section}`
  await writeFile(file, next)
  // In the project's markdown style, so `npm run lint` stays clean after a bench.
  await run([path.join(REPO_ROOT, 'node_modules/.bin/biome'), 'format', '--write', file], {
    cwd: REPO_ROOT,
    allowFailure: true,
  })
}
