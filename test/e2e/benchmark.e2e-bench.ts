// `npm run bench`: how long a provisioning takes on the container backend, against the floor that
// apt alone needs. Writes docs/benchmarks.md. Numbers depend on the host's load and the proxy's
// .deb cache (both are written down with them).
import { readFile, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { run } from '../lab/proc.js'
import { installTool, journalActions, readSession, tool } from './harness/tool.js'
import {
  buildTool,
  e2eSkipReason,
  REPO_ROOT,
  standInConfig,
  startWorld,
  type World,
} from './harness/world.js'

const skip = await e2eSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e benchmark: ${skip} ***\n`)

/** Same options as the tool's own apt calls (src/steps/apt.ts). */
const APT = [
  'apt-get',
  '-o',
  'DPkg::Lock::Timeout=600',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
  '-y',
  '-q',
]
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_SUSPEND: '1' }

const START = '<!-- e2e-bench:start (written by npm run bench; edits inside are overwritten) -->'
const END = '<!-- e2e-bench:end -->'

interface Measured {
  label: string
  ms: number
  note?: string
}

describe.skipIf(skip !== null)('benchmark: full run, re-run, plan, rollback, and the apt floor', () => {
  const rows: Measured[] = []
  const phases: { phase: string; seconds: number; actions: number }[] = []
  const worlds: World[] = []
  let installed: string[] = []
  let proxyNote = ''
  const loadBefore = loadavg()

  afterAll(async () => {
    for (const w of worlds) await w.close().catch(() => undefined)
    if (rows.length > 0) await writeReport(rows, phases, installed.length, proxyNote, loadBefore)
  }, 10 * 60_000)

  it(
    'the tool on a fresh container',
    async () => {
      await buildTool()
      const w = await startWorld({ scenario: 'bench-tool', machineName: 'e2e-bt' })
      worlds.push(w)
      await installTool(w.machine)
      await w.machine.writeFile('/etc/vps-provision/config.yaml', standInConfig(w), 0o600)
      const timed = async (label: string, args: string[], artifact: string) => {
        const t0 = Date.now()
        const r = await tool(w, args, { artifact })
        rows.push({ label, ms: Date.now() - t0 })
        expect(r.exitCode, r.stdout.slice(-2000)).toBe(0)
        return r
      }
      await timed('plan on the fresh machine (changes nothing)', ['plan'], 'plan')
      const first = await timed('full run (all eight phases)', ['run', '--yes', '--plain'], 'run-1')
      const session = await readSession(w.machine, first.sessionId as string)
      for (const p of session.phases) {
        phases.push({ phase: p.phase_name, seconds: p.duration_seconds, actions: p.actions.length })
      }
      // Exactly what the run newly installed: the union of its package actions' purge lists.
      installed = [
        ...new Set(
          (await journalActions(w.machine, first.sessionId as string)).flatMap((a) =>
            a.undo.kind === 'purge-packages' ? a.undo.packages : [],
          ),
        ),
      ].sort()
      await timed('re-run (everything done)', ['run', '--yes', '--plain'], 'run-2')
      await timed('plan on the provisioned machine', ['plan'], 'plan-2')
      await timed(
        'rollback of the full run',
        ['rollback', first.sessionId as string, '--yes', '--plain'],
        'rollback',
      )
      const reqs = w.proxy.requests
      proxyNote = `${reqs.filter((r) => r.cache === 'hit').length} of ${reqs.filter((r) => r.path.includes('/pool/')).length} .deb downloads served from the harness's cache`
    },
    60 * 60_000,
  )

  it(
    'the apt floor: one apt-get install of the same packages on a fresh container',
    async () => {
      expect(installed.length).toBeGreaterThan(0)
      const w = await startWorld({ scenario: 'bench-floor', machineName: 'e2e-bf' })
      worlds.push(w)
      // The IDE packages come from the stand-in repositories, which the floor has no sources for.
      const fromDebian = installed.filter((p) => !['code', 'cursor', 'antigravity'].includes(p))
      const t0 = Date.now()
      await w.machine.exec([...APT, 'update'], { env: APT_ENV })
      const t1 = Date.now()
      const r = await w.machine.exec([...APT, 'install', '--no-install-recommends', ...fromDebian], {
        env: APT_ENV,
        timeoutMs: 45 * 60_000,
        allowFailure: true,
      })
      const t2 = Date.now()
      await writeFile(path.join(w.dir, 'apt-install.out'), `${r.stdout}\n${r.stderr}`)
      expect(r.exitCode, r.stderr.slice(-2000)).toBe(0)
      rows.push({ label: 'apt floor: apt-get update', ms: t1 - t0 })
      rows.push({
        label: `apt floor: one apt-get install of the ${fromDebian.length} Debian packages the run installed`,
        ms: t2 - t1,
        note: 'code, cursor, antigravity (stand-ins, a few KiB) left out',
      })
    },
    60 * 60_000,
  )
})

async function writeReport(
  rows: Measured[],
  phases: { phase: string; seconds: number; actions: number }[],
  packages: number,
  proxyNote: string,
  loadBefore: number[],
): Promise<void> {
  const os = (await readFile('/etc/os-release', 'utf8')).match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? '?'
  const kernel = (await run(['uname', '-r'])).stdout.trim()
  const nspawn = (await run(['systemd-nspawn', '--version'])).stdout.split('\n')[0]
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ')
  const total = (prefix: string) =>
    rows.filter((r) => r.label.startsWith(prefix)).reduce((sum, r) => sum + r.ms, 0) || undefined
  const ratio = (what: string, a: number | undefined, b: number | undefined) =>
    `| ${what} | ${a && b ? (a / b).toFixed(2) : 'not measured'} |`
  const full = total('full run')
  const text = `## Provisioning on the container backend

Written by \`npm run bench\` (\`test/e2e/benchmark.e2e-bench.ts\`) on ${new Date().toISOString().slice(0, 10)}.

- Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${os}, kernel ${kernel}
- Backend: a booted Debian 13 container (${nspawn}, docs/e2e.md); apt through the harness's proxy
  to the host's Debian mirror; ${proxyNote}.
- Load average (1, 5, 15 min) before: ${load(loadBefore)}, after: ${load(loadavg())}. Other work on
  the same 2 cores slows every number here; compare runs of one day only.

### vps-provision

| what | time |
|---|---|
${rows
  .filter((r) => !r.label.startsWith('apt floor'))
  .map((r) => `| ${r.label} | ${s(r.ms)} |`)
  .join('\n')}

Per phase of the full run (from the session file):

| phase | time | actions |
|---|---|---|
${phases.map((p) => `| ${p.phase} | ${p.seconds.toFixed(1)} s | ${p.actions} |`).join('\n')}

### The floor: apt alone

The same ${packages} packages the run newly installed (the union of its journal's purge lists), in
one \`apt-get install --no-install-recommends\` on a fresh container, with the tool's apt options:

| what | time | note |
|---|---|---|
${rows
  .filter((r) => r.label.startsWith('apt floor'))
  .map((r) => `| ${r.label.replace('apt floor: ', '')} | ${s(r.ms)} | ${r.note ?? ''} |`)
  .join('\n')}

The difference between the full run and the floor is the tool's own work: three apt transactions
instead of one, two \`apt-get update\`s (the second after the IDE sources), the xrdp certificate,
the user, the IDE checks and verification.

### Ratios

| ratio | value |
|---|---|
${[
  ratio('full run ÷ the apt floor (update and install)', full, total('apt floor')),
  ratio('re-run ÷ full run', total('re-run'), full),
  ratio('plan on the provisioned machine ÷ full run', total('plan on the provisioned'), full),
  ratio('rollback ÷ full run', total('rollback'), full),
].join('\n')}
`
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
