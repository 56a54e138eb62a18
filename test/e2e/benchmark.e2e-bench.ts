// `npm run bench`: how long a provisioning takes on the container backend, against the floor that
// apt alone needs, with a cold apt cache (every .deb from the mirror through the harness's proxy)
// and a warm one (the proxy's .deb cache). Writes docs/benchmarks.md. Numbers depend on the host's
// load and the mirror's speed (both are written down with them).
import { writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type BenchRound, writeBenchReport } from './bench-report.js'
import { installTool, journalActions, readSession, tool } from './harness/tool.js'
import { buildTool, e2eSkipReason, standInConfig, startWorld, type World } from './harness/world.js'

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

/**
 * Each tool command's own wall time (from its process's start, as `time` shows it on the VPS;
 * the harness's nsenter and transient unit add 0.1-0.2 s around it) and Node's peak RSS,
 * appended by a preload when the process exits.
 */
const RSS_PRELOAD = '/usr/local/lib/vps-provision-bench/rss.mjs'
const RSS_FILE = '/run/vps-provision-bench.rss'
const RSS_SOURCE = `import { appendFileSync } from 'node:fs'
process.on('exit', () =>
  appendFileSync('${RSS_FILE}', process.resourceUsage().maxRSS + ' ' + Math.round(performance.now()) + '\\n'),
)
`

describe.skipIf(skip !== null)('benchmark: the tool and the apt floor, cold and warm apt cache', () => {
  const rounds: BenchRound[] = []
  const worlds: World[] = []
  let installed: string[] = []

  afterAll(async () => {
    for (const w of worlds) await w.close().catch(() => undefined)
    if (rounds.length > 0) await writeBenchReport(rounds, installed.length)
  }, 10 * 60_000)

  const round = (cache: 'cold' | 'warm'): BenchRound => {
    const found = rounds.find((r) => r.cache === cache)
    if (found) return found
    const r: BenchRound = { cache, rows: [], rss: [], phases: [], proxy: [], load: [] }
    rounds.push(r)
    return r
  }

  const toolWorld = async (cache: 'cold' | 'warm') => {
    await buildTool()
    const w = await startWorld({
      scenario: `bench-tool-${cache}`,
      machineName: `e2e-bt${cache[0]}`,
      poolCache: cache === 'warm',
    })
    worlds.push(w)
    await installTool(w.machine)
    await w.machine.writeFile('/etc/vps-provision/config.yaml', standInConfig(w), 0o600)
    await w.machine.writeFile(RSS_PRELOAD, RSS_SOURCE, 0o644)
    return w
  }

  /** One timed tool command, with its peak RSS. */
  const timed = async (w: World, r: BenchRound, label: string, args: string[], artifact: string) => {
    await w.machine.exec(['rm', '-f', RSS_FILE])
    const t0 = Date.now()
    const res = await tool(w, args, { artifact, env: { NODE_OPTIONS: `--import=${RSS_PRELOAD}` } })
    const harnessMs = Date.now() - t0
    expect(res.exitCode, res.stdout.slice(-2000)).toBe(0)
    // /run is the container's own tmpfs: read it from inside. One line per node process.
    const lines = (await w.machine.exec(['cat', RSS_FILE], { allowFailure: true })).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number))
    const kib = lines.map(([k]) => k ?? 0)
    const ownMs = lines[0]?.[1] ?? 0
    expect(kib.every((k) => k > 0) && ownMs > 0, `peak RSS and wall time from ${RSS_FILE}`).toBe(true)
    r.rows.push({ label, ms: ownMs, harnessMs })
    r.rss.push({ label, mib: Math.max(...kib) / 1024 })
    return res
  }

  const fullRun = async (w: World, r: BenchRound) => {
    r.load.push(loadavg())
    const first = await timed(w, r, 'full run (all eight phases)', ['run', '--yes', '--plain'], 'run-1')
    r.load.push(loadavg())
    const id = first.sessionId as string
    for (const p of (await readSession(w.machine, id)).phases) {
      r.phases.push({ phase: p.phase_name, seconds: p.duration_seconds, actions: p.actions.length })
    }
    // Exactly what the run newly installed: the union of its package actions' purge lists.
    const purged = (await journalActions(w.machine, id)).flatMap((a) =>
      a.undo.kind === 'purge-packages' ? a.undo.packages : [],
    )
    installed = [...new Set(purged)].sort()
    r.proxy.push(proxyNote('tool', w))
    return id
  }

  const floor = async (cache: 'cold' | 'warm') => {
    expect(installed.length).toBeGreaterThan(0)
    const r = round(cache)
    const w = await startWorld({
      scenario: `bench-floor-${cache}`,
      machineName: `e2e-bf${cache[0]}`,
      poolCache: cache === 'warm',
    })
    worlds.push(w)
    // The IDE packages come from the stand-in repositories, which the floor has no sources for.
    const fromDebian = installed.filter((p) => !['code', 'cursor', 'antigravity'].includes(p))
    r.load.push(loadavg())
    const t0 = Date.now()
    await w.machine.exec([...APT, 'update'], { env: APT_ENV })
    const t1 = Date.now()
    const res = await w.machine.exec([...APT, 'install', '--no-install-recommends', ...fromDebian], {
      env: APT_ENV,
      timeoutMs: 45 * 60_000,
      allowFailure: true,
    })
    const t2 = Date.now()
    r.load.push(loadavg())
    await writeFile(path.join(w.dir, 'apt-install.out'), `${res.stdout}\n${res.stderr}`)
    expect(res.exitCode, res.stderr.slice(-2000)).toBe(0)
    r.rows.push({ label: 'apt floor: apt-get update', ms: t1 - t0 })
    r.rows.push({
      label: `apt floor: one apt-get install of the ${fromDebian.length} Debian packages`,
      ms: t2 - t1,
    })
    r.proxy.push(proxyNote('floor', w))
    await w.close()
  }

  it(
    'cold apt cache: the full run',
    async () => {
      const r = round('cold')
      const w = await toolWorld('cold')
      await fullRun(w, r)
      await w.close()
    },
    60 * 60_000,
  )

  it('cold apt cache: the apt floor', () => floor('cold'), 60 * 60_000)

  it(
    'warm apt cache: plan, full run, re-run, plan, rollback',
    async () => {
      const r = round('warm')
      const w = await toolWorld('warm')
      await timed(w, r, 'plan on the fresh machine (changes nothing)', ['plan'], 'plan')
      const id = await fullRun(w, r)
      await timed(w, r, 're-run (everything done)', ['run', '--yes', '--plain'], 'run-2')
      await timed(w, r, 'plan on the provisioned machine', ['plan'], 'plan-2')
      await timed(w, r, 'rollback of the full run', ['rollback', id, '--yes', '--plain'], 'rollback')
      await w.close()
    },
    60 * 60_000,
  )

  it('warm apt cache: the apt floor', () => floor('warm'), 60 * 60_000)
})

function proxyNote(who: string, w: World): string {
  const debs = w.proxy.requests.filter((q) => q.path.includes('/pool/'))
  const hits = debs.filter((q) => q.cache === 'hit').length
  const mib = debs.reduce((sum, q) => sum + q.bytes, 0) / 2 ** 20
  return `${who}: ${debs.length} .deb downloads (${mib.toFixed(0)} MiB), ${hits} from the harness's cache`
}
