// Scenario C, container half: the run is SIGKILLed (its whole unit: node, apt-get and dpkg) in the
// middle of desktop-install's package transaction; a re-run resumes and completes, the machine
// ends like scenario A's provisioned one, and rolling back both sessions reaches the baseline.
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { sleep } from '../lab/mounts.js'
import { PROVISIONED_EXCLUSIONS, ROLLBACK_EXCLUSIONS } from './harness/exclusions.js'
import { diffManifests, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { stages } from './harness/stages.js'
import {
  collectToolState,
  journalActions,
  readSession,
  startWorldWithTool,
  type ToolRun,
  tool,
} from './harness/tool.js'
import { ARTIFACTS, e2eSkipReason, type World } from './harness/world.js'

const skip = await e2eSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e scenario C: ${skip} ***\n`)

const RUN_UNIT = 'e2e-run-killed'

describe.skipIf(skip !== null)('e2e scenario C: SIGKILL in desktop-install, resume, rollback', () => {
  let w: World
  let baseline: Manifest
  let killed = ''
  let resumed = ''
  const s = stages()

  beforeAll(async () => {
    w = await startWorldWithTool({ scenario: 'scenario-c', machineName: 'e2e-c' })
    baseline = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-baseline.json'), JSON.stringify(baseline, null, 2))
  }, 30 * 60_000)

  afterAll(async () => {
    if (!w) return
    await collectToolState(w).catch(() => undefined)
    await s.writeTimings(w.dir)
    await w.close()
  }, 10 * 60_000)

  s.stage('the run is killed with SIGKILL while dpkg works in desktop-install', async () => {
    const running: Promise<ToolRun> = tool(w, ['run', '--yes', '--plain'], {
      artifact: 'run-killed',
      unit: RUN_UNIT,
    })
    let at = ''
    for (let i = 0; i < 900 && !at; i++) {
      await sleep(1000)
      const id = /^session-(\S+)\.json$/.exec(
        (await w.machine.exec(['ls', '/var/vps-provision/sessions'], { allowFailure: true })).stdout.trim(),
      )?.[1]
      if (!id) continue
      const begun = (await journalActions(w.machine, id).catch(() => [])).find(
        (a) => a.phase === 'desktop-install' && a.action_type === 'PACKAGE_INSTALL' && a.state === 'in-doubt',
      )
      const dpkg = (await w.machine.exec(['pgrep', '-x', 'dpkg'], { allowFailure: true })).exitCode === 0
      if (begun && dpkg) at = id
    }
    expect(at, 'desktop-install never reached dpkg').not.toBe('')
    killed = at
    await sleep(2000) // well inside dpkg's unpack/configure, not at its first byte
    const kill = await w.machine.exec(['systemctl', 'kill', '--signal=KILL', `${RUN_UNIT}.service`])
    expect(kill.exitCode).toBe(0)
    const r = await running
    w.log(`killed run: exit ${r.exitCode} ${r.signal ?? ''}`)
    expect(r.exitCode).not.toBe(0)
    expect((await w.machine.exec(['pgrep', '-x', 'dpkg'], { allowFailure: true })).exitCode).not.toBe(0)
    const audit = await w.machine.exec(['dpkg', '--audit'], { allowFailure: true })
    await writeFile(path.join(w.dir, 'dpkg-audit-after-kill.txt'), `${audit.stdout}${audit.stderr}`)
  })

  s.stage('a re-run resumes and completes', async () => {
    const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-resumed' })
    expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
    resumed = r.sessionId as string
    expect((await readSession(w.machine, killed)).status).toBe('FAILED')
    const session = await readSession(w.machine, resumed)
    expect(session.status).toBe('COMPLETED')
    expect(session.phases.find((p) => p.phase_name === 'desktop-install')?.status).toBe('COMPLETED')
    const verify = await tool(w, ['verify', '--plain'], { artifact: 'verify' })
    expect(verify.exitCode, verify.stdout.slice(-2000)).toBe(0)
  })

  s.stage("the machine ends as scenario A's provisioned machine", async (): Promise<void> => {
    const mine = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-provisioned.json'), JSON.stringify(mine, null, 2))
    const fromA = await readFile(
      path.join(ARTIFACTS, 'scenario-a', 'manifest-provisioned.json'),
      'utf8',
    ).catch(() => null)
    // npm run e2e runs the files in name order, so scenario A has written it by now.
    expect(
      fromA,
      'scenario A saves artifacts/scenario-a/manifest-provisioned.json: run it first',
    ).not.toBeNull()
    if (fromA === null) return
    const diff = diffManifests(JSON.parse(fromA) as Manifest, mine, PROVISIONED_EXCLUSIONS)
    const all = diffManifests(JSON.parse(fromA) as Manifest, mine)
    await writeFile(
      path.join(w.dir, 'manifest-diff-vs-a.txt'),
      `# left after the exclusions (must be none):\n${formatDiff(diff)}\n\n# all:\n${formatDiff(all)}\n`,
    )
    expect(formatDiff(diff)).toBe('')
  })

  s.stage('rolling back both sessions, newest first, reaches the baseline', async () => {
    for (const id of [resumed, killed]) {
      const r = await tool(w, ['rollback', id, '--yes', '--plain'], { artifact: `rollback-${id}` })
      expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
      expect((await journalActions(w.machine, id)).filter((a) => a.state !== 'undone')).toEqual([])
    }
    const after = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-after-rollback.json'), JSON.stringify(after, null, 2))
    const diff = diffManifests(baseline, after, ROLLBACK_EXCLUSIONS)
    await writeFile(
      path.join(w.dir, 'manifest-diff.txt'),
      `# left after the exclusions (must be none):\n${formatDiff(diff)}\n\n# all:\n${formatDiff(diffManifests(baseline, after))}\n`,
    )
    expect(formatDiff(diff)).toBe('')
  })
})
