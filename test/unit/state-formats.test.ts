// Sessions from an older version: every release leaves its state in test/fixtures/state/<version>/
// (written by test/fixtures/state/write-fixture.ts, a run stopped after user-creation), and today's
// code must resume that run and roll both sessions back to the machine it started from. A file in a
// format newer than this build knows is refused by name, never misread.
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { CheckpointStore } from '../../src/engine/checkpoints.js'
import { deriveActions, readJournal } from '../../src/engine/journal.js'
import { type StatePaths, statePaths } from '../../src/engine/paths.js'
import { SessionStore } from '../../src/engine/session-store.js'
import type { RunEvent } from '../../src/model/events.js'
import { FORMAT, FutureFormatError, formatReader, TOOL_VERSION } from '../../src/model/format.js'
import { ProvisioningSession } from '../../src/model/schemas.js'
import { sha256 } from '../../src/util/hash.js'
import { engine } from '../helpers/engine.js'
import { type FakeJSON, FakeSystem } from '../support/fake/index.js'
import { workstationConfig, workstationWorld } from '../support/workstation-run.js'

const FIXTURES = join(import.meta.dirname, '../fixtures/state')
const VERSIONS = readdirSync(FIXTURES).filter((d) => statSync(join(FIXTURES, d)).isDirectory())

interface FixtureInfo {
  version: string
  session: string
  config: object
  stoppedAfter: string
}

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

/** Engine deps for `sys`; the temp root workstationWorld makes goes with the test. */
function world(sys: FakeSystem, events: RunEvent[] = []) {
  const w = workstationWorld(sys, events)
  roots.push(w.root)
  return w.deps
}

const machine = (dir: string, name: string) =>
  FakeSystem.fromJSON(JSON.parse(gunzipSync(readFileSync(join(dir, name))).toString('utf8')) as FakeJSON)

/** The fixture's state tree copied under a fresh root, owner-only as the tool keeps it. */
function installState(dir: string): { root: string; paths: StatePaths; info: FixtureInfo } {
  const root = mkdtempSync(join(tmpdir(), 'vps-formats-'))
  roots.push(root)
  cpSync(join(dir, 'var'), join(root, 'var'), { recursive: true })
  const tighten = (p: string) => {
    const st = statSync(p)
    chmodSync(p, st.isDirectory() ? 0o700 : 0o600)
    if (st.isDirectory()) for (const e of readdirSync(p)) tighten(join(p, e))
  }
  tighten(join(root, 'var'))
  const info = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as FixtureInfo
  return { root, paths: statePaths(root), info }
}

it('keeps the state of the current release as a fixture', () => {
  // A release that changes nothing about its files still adds its directory (write-fixture.ts).
  expect(VERSIONS).toContain(TOOL_VERSION)
})

describe.each(VERSIONS)('state written by vps-provision %s', (version) => {
  const dir = join(FIXTURES, version)

  it('is resumed by this version, and both sessions roll back to the machine it started from', async () => {
    const { paths, info } = installState(dir)
    expect(info.version).toBe(version)
    const sys = machine(dir, 'machine-after.json.gz')
    const events: RunEvent[] = []
    const deps = { ...world(sys, events), paths }

    const old = await engine.status(paths, info.session)
    expect(old.status).toBe('FAILED')
    expect(old.written_by ?? 'vps-provision 0.1.0').toBe(`vps-provision ${version}`)

    // Resume: the checkpointed phases are read and, their checks holding, skipped.
    const resumed = await engine.run(deps, workstationConfig(info.config), { force: false })
    expect(resumed.exitCode).toBe(0)
    const skipped = events.flatMap((e) => (e.type === 'phase-skip' ? [e.phase] : []))
    expect(skipped).toEqual(['system-prep', 'desktop-install', 'rdp-config', 'user-creation'])
    expect(skipped.at(-1)).toBe(info.stoppedAfter)

    // Undo the resumed session, then the old one: this version writes undone records into the
    // old journal, which must go on verifying as one chain.
    const sessions = await engine.sessions(paths)
    expect(sessions.map((s) => s.session_id)).toContain(info.session)
    const newer = sessions.find((s) => s.session_id !== info.session)?.session_id ?? ''
    const rb = (session: string) => engine.rollback(deps, { session, to: null, force: false })
    expect((await rb(newer)).exitCode).toBe(0)
    expect((await rb(info.session)).exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(machine(dir, 'machine-before.json.gz').snapshot())
    const journal = readJournal(paths.transactionLog(info.session))
    expect(journal.damage).toBeNull()
    expect(deriveActions(journal.records).filter((a) => a.undone === null)).toEqual([])
    expect((await engine.status(paths, info.session)).status).toBe('ROLLED_BACK')
    expect((await engine.status(paths, info.session)).written_by).toBe(`vps-provision ${TOOL_VERSION}`)
  })
})

describe('a file in a format newer than this version knows', () => {
  const dir = join(FIXTURES, TOOL_VERSION)
  const future = FORMAT.session + 1
  const refusal = (what: string, kind: string, n: number) =>
    `Unable to read ${what}: it was written by vps-provision 9.0.0 in ${kind} format ${n}; ` +
    `this is vps-provision ${TOOL_VERSION}, which reads ${kind} formats 1..${n - 1}`

  it('refuses a session by name, in rollback, status and in every listing run and rollback use', async () => {
    const { paths, info } = installState(dir)
    const file = paths.sessionFile(info.session)
    const raw = JSON.parse(readFileSync(file, 'utf8'))
    writeFileSync(file, JSON.stringify({ ...raw, format: future, written_by: 'vps-provision 9.0.0' }))
    const expected = refusal(`session ${info.session} (${file})`, 'session', future)
    await expect(engine.status(paths, info.session)).rejects.toThrow(expected)
    await expect(new SessionStore(paths).list()).rejects.toThrow(FutureFormatError)
    const deps = { ...world(machine(dir, 'machine-after.json.gz')), paths }
    const err = await engine.rollback(deps, { session: info.session, to: null, force: false }).catch((e) => e)
    expect(err).toBeInstanceOf(FutureFormatError)
    expect((err as FutureFormatError).message).toBe(expected)
    expect((err as FutureFormatError).hint).toContain('Upgrade vps-provision')
    // run refuses too, before it changes anything: a newer session's changes are on this machine.
    const sys = deps.sys as FakeSystem
    const before = sys.snapshot()
    await expect(engine.run(deps, workstationConfig(info.config), { force: false })).rejects.toThrow(expected)
    expect(sys.snapshot()).toEqual(before)
  })

  it('refuses a journal whose records a newer version wrote, naming the file, and reports no damage', () => {
    const { paths, info } = installState(dir)
    const log = paths.transactionLog(info.session)
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean)
    // A newer writer's record: its own format number, correctly chained and checksummed.
    const last = JSON.parse(lines.at(-1) ?? '{}')
    const { sum: _drop, ...unsigned } = {
      ...last,
      v: FORMAT.journal + 1,
      seq: last.seq + 1,
      type: 'failed',
      error: 'x',
      prev: last.sum,
    }
    delete (unsigned as Record<string, unknown>).result
    writeFileSync(
      log,
      `${[...lines, JSON.stringify({ ...unsigned, sum: sha256(JSON.stringify(unsigned)) })].join('\n')}\n`,
    )
    expect(() => readJournal(log)).toThrow(
      `Unable to read journal ${log}: it was written by a vps-provision other than this one in journal format ${FORMAT.journal + 1}; ` +
        `this is vps-provision ${TOOL_VERSION}, which reads journal formats 1..${FORMAT.journal}`,
    )
  })

  it('ignores a checkpoint a newer version wrote (a checkpoint decides nothing: the phase runs its checks)', async () => {
    const { paths } = installState(dir)
    const store = new CheckpointStore(paths)
    expect(await store.read('system-prep')).not.toBeNull()
    const file = join(paths.checkpointsDir, 'system-prep.done')
    const raw = JSON.parse(readFileSync(file, 'utf8'))
    writeFileSync(file, JSON.stringify({ ...raw, format: FORMAT.checkpoint + 1 }))
    expect(await store.read('system-prep')).toBeNull()
  })

  it('reads a file with no format at all as format 1 (releases up to 0.1.0 wrote none)', async () => {
    const { paths, info } = installState(dir)
    const file = paths.sessionFile(info.session)
    const { format: _f, written_by: _w, ...legacy } = JSON.parse(readFileSync(file, 'utf8'))
    writeFileSync(file, JSON.stringify(legacy))
    const loaded = await new SessionStore(paths).load(info.session)
    expect(loaded.format).toBe(1)
    expect(loaded.written_by).toBeUndefined()
  })
})

describe('the next format', () => {
  // What raising FORMAT.session to 2 will look like: a build whose reader knows 1..2, with the
  // migration 1 -> 2 (here: the writer's name split into tool and version).
  const next = formatReader(
    { ...FORMAT, session: 2 },
    {
      session: {
        1: ({ written_by, ...rest }) => ({
          ...rest,
          writer: {
            tool: 'vps-provision',
            version: String(written_by ?? 'unknown').split(' ')[1] ?? 'unknown',
          },
        }),
      },
      checkpoint: {},
      journal: {},
    },
  )

  it("lifts every release's session file through the migrations, in memory", () => {
    for (const version of VERSIONS) {
      const { paths, info } = installState(join(FIXTURES, version))
      const file = paths.sessionFile(info.session)
      const bytes = readFileSync(file, 'utf8')
      const lifted = next('session', info.session, JSON.parse(bytes))
      expect(lifted.format).toBe(2)
      expect(lifted.writer).toEqual({ tool: 'vps-provision', version })
      // Everything else is the file's, and still a valid session; the file itself is untouched.
      expect(ProvisioningSession.safeParse(lifted).success).toBe(true)
      expect(readFileSync(file, 'utf8')).toBe(bytes)
    }
  })

  it('refuses the format after it, naming the formats it reads', () => {
    expect(() => next('session', 'session x', { format: 3, written_by: 'vps-provision 9.0.0' })).toThrow(
      `Unable to read session x: it was written by vps-provision 9.0.0 in session format 3; this is vps-provision ${TOOL_VERSION}, which reads session formats 1..2`,
    )
    expect(() => next('session', 'session x', { format: 'two' })).toThrow(FutureFormatError)
  })
})
