// Health and metrics (issue 22 item 5): the text exposition format we write for node-exporter's
// textfile collector, the run's and verify's files on the fake Debian 13 (written only where the
// directory exists, 0644, kept through a failed run's last success), verify's per-check answer, and
// metrics.nodeExporter's package step journaled and rolled back like any other.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigSchema } from '../../src/config/schema.js'
import {
  escapeLabel,
  exposition,
  RUN_FILE,
  runFamilies,
  TEXTFILE_DIR,
  VERIFY_FILE,
  verifyFamilies,
} from '../../src/engine/metrics.js'
import type { Summary } from '../../src/model/events.js'
import { engine } from '../helpers/engine.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

/**
 * The exposition format's grammar, line by line (prometheus/docs exposition_formats.md): comments
 * are `# HELP name text` or `# TYPE name type`, a sample is `name{label="value",...} number`.
 */
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/
function parse(text: string): { help: Set<string>; type: Map<string, string>; samples: string[] } {
  expect(text.endsWith('\n')).toBe(true)
  const help = new Set<string>()
  const type = new Map<string, string>()
  const samples: string[] = []
  for (const line of text.slice(0, -1).split('\n')) {
    const h = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/)
    const t = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|untyped)$/)
    if (h) help.add(h[1] as string)
    else if (t) type.set(t[1] as string, t[2] as string)
    else {
      const s = line.match(SAMPLE)
      expect(s, `not a valid sample line: ${line}`).not.toBeNull()
      // Every sample comes after its family's HELP and TYPE.
      expect(type.has(s?.[1] as string), line).toBe(true)
      samples.push(line)
    }
  }
  return { help, type, samples }
}

const summary = (over: Partial<Summary> = {}): Summary => ({
  sessionId: '20261206-210000-abcd',
  status: 'COMPLETED',
  exitCode: 0,
  durationSeconds: 42,
  phases: [
    { name: 'preflight', status: 'COMPLETED', durationSeconds: 1.2, actions: 0 },
    { name: 'system-prep', status: 'COMPLETED', durationSeconds: 30.5, actions: 3 },
    { name: 'desktop-install', status: 'SKIPPED', durationSeconds: 0, actions: 0 },
  ],
  lines: [],
  credentials: null,
  ...over,
})

describe('the text exposition format', () => {
  it('gives each family one HELP and one TYPE line before its samples, and ends with a newline', () => {
    const text = exposition(runFamilies(summary(), 1_800_000_000, null))
    const { help, type, samples } = parse(text)
    expect([...help].sort()).toEqual([...type.keys()].sort())
    expect(samples).toContain('vps_provision_last_run_success 1')
    expect(samples).toContain('vps_provision_last_run_timestamp_seconds 1800000000')
    expect(samples).toContain('vps_provision_last_success_timestamp_seconds 1800000000')
    expect(samples).toContain('vps_provision_last_run_actions 3')
    expect(samples).toContain('vps_provision_phase_duration_seconds{phase="system-prep"} 30.5')
    expect(samples).toContain('vps_provision_phase_status{phase="desktop-install",status="SKIPPED"} 1')
    expect(samples).toContain('vps_provision_phase_status{phase="desktop-install",status="COMPLETED"} 0')
  })

  it('escapes backslash, double quote and newline in label values, and newlines in HELP', () => {
    expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    const text = exposition([
      {
        name: 'x_total',
        help: 'two\nlines \\ here',
        type: 'counter',
        samples: [{ labels: { l: 'q"\n\\' }, value: 1 }],
      },
    ])
    expect(text).toBe(
      '# HELP x_total two\\nlines \\\\ here\n# TYPE x_total counter\nx_total{l="q\\"\\n\\\\"} 1\n',
    )
    parse(text)
  })

  it('refuses a metric or label name the format does not allow', () => {
    expect(() => exposition([{ name: 'bad-name', help: 'h', type: 'gauge', samples: [] }])).toThrow(
      /metric name/,
    )
    expect(() =>
      exposition([
        { name: 'ok', help: 'h', type: 'gauge', samples: [{ labels: { 'bad-label': 'v' }, value: 1 }] },
      ]),
    ).toThrow(/label name/)
    expect(() =>
      exposition([
        { name: 'ok', help: 'h', type: 'gauge', samples: [{ labels: { __reserved: 'v' }, value: 1 }] },
      ]),
    ).toThrow(/label name/)
  })

  it('keeps the last success time of the file it replaces when the run failed', () => {
    const before = exposition(runFamilies(summary(), 1_700_000_000, null))
    const failed = exposition(runFamilies(summary({ status: 'FAILED', exitCode: 3 }), 1_800_000_000, before))
    expect(failed).toMatch(/^vps_provision_last_run_success 0$/m)
    expect(failed).toMatch(/^vps_provision_last_run_exit_code 3$/m)
    expect(failed).toMatch(/^vps_provision_last_success_timestamp_seconds 1700000000$/m)
    // Never a success before: no series rather than a made-up time.
    const never = exposition(runFamilies(summary({ status: 'FAILED', exitCode: 3 }), 1_800_000_000, null))
    expect(never).not.toContain('vps_provision_last_success_timestamp_seconds ')
  })

  it("gives verify one series per check, by the check's id", () => {
    const text = exposition(
      verifyFamilies(
        [
          { name: 'xrdp-active', title: 'xrdp is running', ok: true, detail: 'active' },
          { name: 'ide-vscode', title: 'vscode works', ok: false, detail: 'exit 1' },
        ],
        1_800_000_000,
      ),
    )
    const { samples } = parse(text)
    expect(samples).toEqual([
      'vps_provision_verify_success 0',
      'vps_provision_verify_timestamp_seconds 1800000000',
      'vps_provision_verify_check_ok{check="xrdp-active"} 1',
      'vps_provision_verify_check_ok{check="ide-vscode"} 0',
    ])
  })
})

describe('metrics.nodeExporter setting', () => {
  it('defaults to off', () => {
    expect(ConfigSchema.parse({}).metrics).toEqual({ nodeExporter: false })
  })
})

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

describe('metrics on the fake Debian 13', () => {
  it('writes nothing when node-exporter is not there', async () => {
    const sys = workstationMachine()
    const world = workstationWorld(sys)
    roots.push(world.root)
    const first = await engine.run(world.deps, workstationConfig(), { force: false })
    expect(first.exitCode).toBe(0)
    expect(await sys.stat(TEXTFILE_DIR)).toBeNull()
    const v = await engine.verify(world.deps, workstationConfig())
    expect(v.exitCode).toBe(0)
    expect(await sys.stat(TEXTFILE_DIR)).toBeNull()
  })

  it('installs node-exporter, writes the run and verify files 0644, re-runs with 0 actions, rolls back to the start', async () => {
    const sys = workstationMachine()
    const initial = sys.snapshot()
    const world = workstationWorld(sys)
    roots.push(world.root)
    const cfg = workstationConfig({ metrics: { nodeExporter: true } })
    const first = await engine.run(world.deps, cfg, { force: false })
    expect(first.exitCode).toBe(0)
    expect(sys.packageVersion('prometheus-node-exporter')).not.toBeNull()

    const runPath = `${TEXTFILE_DIR}/${RUN_FILE}`
    expect(await sys.stat(runPath)).toMatchObject({ kind: 'file', mode: 0o644, uid: 0 })
    const run = parse(sys.readText(runPath) ?? '')
    expect(run.samples).toContain('vps_provision_last_run_success 1')
    const actions = first.phases.reduce((n, p) => n + p.actions, 0)
    expect(actions).toBeGreaterThan(0)
    expect(run.samples).toContain(`vps_provision_last_run_actions ${actions}`)
    expect(run.samples).toContain('vps_provision_phase_status{phase="system-prep",status="COMPLETED"} 1')
    expect(
      run.samples.some((l) => l.startsWith('vps_provision_phase_duration_seconds{phase="verification"} ')),
    ).toBe(true)
    // Only *.prom files are read by the collector: no temp file is left beside ours.
    expect((await sys.readDir(TEXTFILE_DIR)).sort()).toEqual([RUN_FILE])

    const verified = await engine.verify(world.deps, cfg)
    expect(verified.exitCode).toBe(0)
    const verify = parse(sys.readText(`${TEXTFILE_DIR}/${VERIFY_FILE}`) ?? '')
    expect(verify.samples).toContain('vps_provision_verify_success 1')
    expect(verify.samples).toContain('vps_provision_verify_check_ok{check="verification.xrdp-active"} 1')
    // verify's answer names every check with ok and detail (the JSON health check, docs/cli.md).
    expect(verified.checks?.length).toBeGreaterThan(0)
    for (const c of verified.checks ?? []) {
      expect(c).toMatchObject({ ok: true })
      expect(typeof c.name).toBe('string')
      expect(typeof c.detail).toBe('string')
      expect(verify.samples).toContain(`vps_provision_verify_check_ok{check="${c.name}"} 1`)
    }

    const again = await engine.run(world.deps, cfg, { force: false })
    expect(again.exitCode).toBe(0)
    expect(again.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
    const second = sys.readText(runPath) ?? ''
    expect(second).toMatch(/^vps_provision_last_run_actions 0$/m)

    const back = await engine.rollback(world.deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.packageVersion('prometheus-node-exporter')).toBeNull()
    expect(sys.snapshot()).toEqual(initial)
  })

  it('says when a check fails: ok false with its detail, exit 4, and the metric 0', async () => {
    const sys = workstationMachine()
    const world = workstationWorld(sys)
    roots.push(world.root)
    const cfg = workstationConfig({ metrics: { nodeExporter: true } })
    expect((await engine.run(world.deps, cfg, { force: false })).exitCode).toBe(0)
    await sys.exec(['systemctl', 'stop', 'xrdp'])
    const v = await engine.verify(world.deps, cfg)
    expect(v.exitCode).toBe(4)
    const xrdp = v.checks?.find((c) => c.name === 'verification.xrdp-active')
    expect(xrdp?.ok).toBe(false)
    expect(xrdp?.detail).toBeTruthy()
    const text = sys.readText(`${TEXTFILE_DIR}/${VERIFY_FILE}`) ?? ''
    expect(text).toMatch(/^vps_provision_verify_check_ok\{check="verification.xrdp-active"\} 0$/m)
    expect(text).toMatch(/^vps_provision_verify_success 0$/m)
  })

  it("warns and keeps the run's outcome when the metrics cannot be written", async () => {
    const sys = workstationMachine()
    const world = workstationWorld(sys)
    roots.push(world.root)
    // A directory where our file goes: the rename over it fails.
    await sys.mkdir(`${TEXTFILE_DIR}/${RUN_FILE}`, { mode: 0o755 })
    const first = await engine.run(world.deps, workstationConfig(), { force: false })
    expect(first.exitCode).toBe(0)
    const warnings = world.events.filter((e) => e.type === 'message' && e.level === 'warn')
    expect(warnings.map((e) => (e.type === 'message' ? e.text : ''))).toContainEqual(
      expect.stringMatching(/^Unable to write the Prometheus metrics \(vps_provision\.prom\): /),
    )
  })
})
