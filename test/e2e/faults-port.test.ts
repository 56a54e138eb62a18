// Issue 5, case 13 on a booted trixie (container backend): TCP 3389 held by another service.
// (a) Taken before the run: preflight refuses (exit 1) naming the process, its pid and its unit,
//     before any change; the manifest is the baseline without any exclusion.
// (b) Taken while the run installs (after preflight, before rdp-config): rdp-config refuses (exit 2)
//     before installing xrdp, naming the holder; no rdp-config checkpoint; `rollback latest` leaves
//     the other service running and returns the machine to the baseline; `dpkg --audit` is empty.
//
//   sudo npx vitest run --project e2e test/e2e/faults-port.test.ts
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { sleep } from '../lab/mounts.js'
import { recordCase } from '../support/reliability.js'
import {
  failedLine,
  mainPid,
  regenerateReportAfterAll,
  type Squatter,
  startSquatter,
} from './faults-support.js'
import { ROLLBACK_EXCLUSIONS } from './harness/exclusions.js'
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
import { e2eSkipReason, type World } from './harness/world.js'

const skip = await e2eSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e faults-port (case 13): ${skip} ***\n`)

const FILE = 'test/e2e/faults-port.test.ts'
const PORT = 3389
const AREA = '13 port 3389 taken'

describe.skipIf(skip !== null)('e2e faults: port 3389 taken by another service (case 13)', () => {
  let w: World
  let baseline: Manifest
  const s = stages()
  regenerateReportAfterAll()

  beforeAll(async () => {
    w = await startWorldWithTool({ scenario: 'faults-port', machineName: 'e2e-fp' })
    baseline = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-baseline.json'), JSON.stringify(baseline, null, 2))
  }, 30 * 60_000)

  afterAll(async () => {
    if (!w) return
    await collectToolState(w).catch(() => undefined)
    await s.writeTimings(w.dir)
    await w.close()
  }, 10 * 60_000)

  const stopSquatter = (q: Squatter) => w.machine.exec(['systemctl', 'stop', q.unit], { allowFailure: true })
  const audit = async () => {
    const r = await w.machine.exec(['dpkg', '--audit'], { allowFailure: true })
    return `${r.stdout}${r.stderr}`.trim()
  }

  s.stage('taken before the run: preflight refuses with exit 1 naming node, its pid and unit', async () => {
    const started = Date.now()
    const seen: string[] = []
    let passed = false
    try {
      const q = await startSquatter(w.machine, PORT)
      const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run-preflight' })
      const line = failedLine(r)
      seen.push(`exit ${r.exitCode}: ${line}`)
      expect(r.exitCode, r.stdout.slice(-3000)).toBe(1)
      expect(line).toContain(`port ${PORT} is used by node (pid ${q.pid}, ${q.unit})`)
      expect(line).toMatch(/^Failed: preflight: /)
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/) // no stack trace
      const session = await readSession(w.machine, r.sessionId as string)
      const ran = session.phases
        .filter((p) => p.status !== 'PENDING')
        .map((p) => `${p.phase_name} ${p.status}`)
      seen.push(`phases: ${ran.join(', ')}`)
      expect(ran).toEqual(['preflight FAILED'])
      expect(await journalActions(w.machine, r.sessionId as string)).toEqual([])
      expect(await mainPid(w.machine, q.unit)).toBe(q.pid)
      const rb = await tool(w, ['rollback', 'latest', '--yes', '--plain'], { artifact: 'rollback-preflight' })
      const nothing =
        rb.stdout.split('\n').find((l) => l.startsWith('Nothing to do')) ?? '(no "Nothing to do" line)'
      seen.push(`rollback latest: exit ${rb.exitCode}: ${nothing}`)
      expect(rb.exitCode, rb.stdout.slice(-2000)).toBe(0)
      expect(nothing).toContain(`session ${r.sessionId} changed nothing`)
      await stopSquatter(q)
      const diff = diffManifests(baseline, await takeManifest(w.machine))
      seen.push(`manifest: ${diff.length} difference(s) from the baseline, no exclusion`)
      expect(formatDiff(diff)).toBe('')
      passed = true
    } catch (e) {
      seen.push(`FAILED: ${String((e as Error).message).split('\n')[0]}`)
      throw e
    } finally {
      recordCase(
        {
          id: 'container.rdp-port-taken.preflight',
          area: AREA,
          case: 'another service listens on 3389 before the run',
          injection:
            'systemd-run --unit=squatter -- node -e "require(\'net\').createServer().listen(3389)" in the booted container, then `run --yes --plain`',
          expected:
            'exit 1 in preflight before any change, naming the process, its pid and unit; the other service untouched; `rollback latest` exit 0; manifest = baseline with no exclusion',
          observed: seen.join('; '),
          backend: 'container',
          passed,
        },
        { file: FILE, durationMs: Date.now() - started },
      )
    }
  })

  s.stage(
    'taken during the installs: rdp-config refuses with exit 2 before xrdp, rollback reaches the baseline',
    async () => {
      const started = Date.now()
      const seen: string[] = []
      let passed = false
      try {
        const sessions = async () =>
          [
            ...(
              await w.machine.exec(['ls', '/var/vps-provision/sessions'], { allowFailure: true })
            ).stdout.matchAll(/session-(\S+)\.json/g),
          ].map((m) => m[1] as string)
        const before = new Set(await sessions())
        const running: Promise<ToolRun> = tool(w, ['run', '--yes', '--plain'], { artifact: 'run-rdp-config' })
        // Once preflight has passed (the port was free then), the other service takes the port.
        let q: Squatter | null = null
        for (let i = 0; i < 600 && !q; i++) {
          await sleep(500)
          const id = (await sessions()).find((x) => !before.has(x))
          if (!id) continue
          const pre = (await readSession(w.machine, id).catch(() => null))?.phases.find(
            (p) => p.phase_name === 'preflight',
          )
          if (pre?.status === 'COMPLETED') q = await startSquatter(w.machine, PORT)
        }
        expect(q, 'preflight of the second run never completed').not.toBeNull()
        const squatter = q as Squatter
        const r = await running
        const id = r.sessionId as string
        const line = failedLine(r)
        seen.push(`exit ${r.exitCode}: ${line}`)
        expect(r.exitCode, r.stdout.slice(-3000)).toBe(2)
        expect(line).toMatch(/^Failed: rdp-config: /)
        expect(line).toContain(`port ${PORT} is used by node (pid ${squatter.pid}, ${squatter.unit})`)
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/)
        // The summary must not point at a user or a password that user-creation never made.
        expect(r.stdout).toMatch(/^Username: devuser \(not created yet/m)
        expect(r.stdout).not.toMatch(/^Password:/m)
        const session = await readSession(w.machine, id)
        const phase = (n: string) => session.phases.find((p) => p.phase_name === n)
        seen.push(
          `phases: ${session.phases
            .filter((p) => p.status !== 'PENDING')
            .map((p) => `${p.phase_name} ${p.status}${p.checkpoint_exists ? ' (checkpoint)' : ''}`)
            .join(', ')}`,
        )
        expect(phase('rdp-config')?.status).toBe('FAILED')
        expect(phase('rdp-config')?.checkpoint_exists).toBe(false)
        expect(await w.machine.exists('/var/vps-provision/checkpoints/rdp-config.done')).toBe(false)
        expect(phase('desktop-install')?.checkpoint_exists).toBe(true)
        expect(await w.machine.exists('/var/vps-provision/checkpoints/desktop-install.done')).toBe(true)
        const actions = await journalActions(w.machine, id)
        const inRdp = actions.filter((a) => a.phase === 'rdp-config')
        seen.push(`journal: ${actions.length} actions, ${inRdp.length} in rdp-config`)
        expect(inRdp).toEqual([])
        // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} syntax
        const xrdp = await w.machine.exec(['dpkg-query', '-W', '-f=${db:Status-Abbrev}', 'xrdp'], {
          allowFailure: true,
        })
        seen.push(`xrdp ${/^ii/.test(xrdp.stdout) ? 'INSTALLED' : 'not installed'}`)
        expect(xrdp.stdout).not.toMatch(/^ii/)

        const rb = await tool(w, ['rollback', 'latest', '--yes', '--plain'], {
          artifact: 'rollback-rdp-config',
          timeoutMs: 20 * 60_000,
        })
        seen.push(`rollback latest: exit ${rb.exitCode}`)
        expect(rb.exitCode, rb.stdout.slice(-3000)).toBe(0)
        expect((await journalActions(w.machine, id)).filter((a) => a.state !== 'undone')).toEqual([])
        const still = await mainPid(w.machine, squatter.unit)
        seen.push(`the other service ${still === squatter.pid ? 'still runs' : 'was STOPPED'}`)
        expect(still).toBe(squatter.pid)
        await stopSquatter(squatter)
        const after = await takeManifest(w.machine)
        await writeFile(path.join(w.dir, 'manifest-after-rollback.json'), JSON.stringify(after, null, 2))
        const diff = diffManifests(baseline, after, ROLLBACK_EXCLUSIONS)
        const all = diffManifests(baseline, after)
        await writeFile(
          path.join(w.dir, 'manifest-diff.txt'),
          `# left after the exclusions (must be none):\n${formatDiff(diff)}\n\n# all:\n${formatDiff(all)}\n`,
        )
        seen.push(
          `manifest after rollback: ${diff.length} difference(s) beyond the ${all.length - diff.length} known exclusions (docs/e2e.md)`,
        )
        expect(formatDiff(diff)).toBe('')
        const dpkg = await audit()
        seen.push(`dpkg --audit ${dpkg === '' ? 'empty' : `NOT empty: ${dpkg.split('\n')[0]}`}`)
        expect(dpkg).toBe('')
        passed = true
      } catch (e) {
        seen.push(`FAILED: ${String((e as Error).message).split('\n')[0]}`)
        throw e
      } finally {
        recordCase(
          {
            id: 'container.rdp-port-taken.before-rdp-config',
            area: AREA,
            case: 'another service takes 3389 after preflight, before rdp-config',
            injection:
              "the same squatter unit started once the run's preflight phase is COMPLETED (system-prep and desktop-install still to come)",
            expected:
              'exit 2 in rdp-config before xrdp is installed, naming the process, its pid and unit; no rdp-config checkpoint or action; `rollback latest` exit 0 leaves the other service running; manifest = baseline (known exclusions); dpkg --audit empty',
            observed: seen.join('; '),
            backend: 'container',
            passed,
          },
          { file: FILE, durationMs: Date.now() - started },
        )
      }
    },
  )
})
