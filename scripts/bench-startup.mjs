// Startup time of the bundle against an empty node: `--help`, and `status` of one real session
// (made by the engine against the fake Debian in a temp state root). Runs are interleaved so a
// busy machine slows every command alike; prints a Markdown table for docs/benchmarks.md.
//   npm run build && npm run bench:startup [-- RUNS]
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tsImport } from 'tsx/esm/api'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.argv[2] ?? 40)
const bundle = join(root, 'dist/vps-provision.mjs')
const work = mkdtempSync(join(tmpdir(), 'vps-bench-'))

try {
  const { FakeSystem } = await tsImport('../test/support/fake/index.ts', import.meta.url)
  const state = join(work, 'fake.json')
  writeFileSync(state, JSON.stringify(FakeSystem.debian13().toJSON()))
  const tsx = join(root, 'node_modules/.bin/tsx')
  execFileSync(tsx, [join(root, 'test/fixtures/engine-child.ts'), 'run', state, join(work, 'root')], {
    stdio: 'ignore',
  })

  const commands = [
    ['node -e 0', ['-e', '0']],
    ['--help', [bundle, '--help']],
    ['status', [bundle, 'status']],
  ]
  const env = { ...process.env, VPS_PROVISION_ROOT: join(work, 'root'), NO_COLOR: '1' }
  const results = commands.map(() => ({ wall: [], cpu: [] }))
  const load = [loadavg()[0]]
  for (let i = 0; i < runs + 3; i++) {
    commands.forEach(([, args], k) => {
      const start = process.hrtime.bigint()
      const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], {
        env,
        encoding: 'utf8',
      })
      const wall = Number(process.hrtime.bigint() - start) / 1e6
      const [user, sys] = (r.stderr.trim().split('\n').at(-1) ?? '0 0').split(' ').map(Number)
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`)
      if (i >= 3) {
        results[k].wall.push(wall)
        results[k].cpu.push((user + sys) * 1000)
      }
    })
  }
  load.push(loadavg()[0])

  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
  const base = results[0]
  console.log('| command | wall, median | wall, fastest | CPU, median | vs node -e 0 (wall / CPU) |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  commands.forEach(([name], k) => {
    const r = results[k]
    const ratio = (f) => (f(r) / f(base)).toFixed(2)
    console.log(
      `| ${name} | ${median(r.wall).toFixed(0)} ms | ${Math.min(...r.wall).toFixed(0)} ms | ${median(r.cpu).toFixed(0)} ms | ${ratio((x) => median(x.wall))} / ${ratio((x) => median(x.cpu))} |`,
    )
  })
  console.log(
    `\n${runs} runs each, interleaved. ${cpus().length} x ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GB, ` +
      `node ${process.version}, load average ${load.map((l) => l.toFixed(1)).join(' -> ')}`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
