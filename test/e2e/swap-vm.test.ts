// Issue 21, item 3 on the VM backend (a container cannot have swap of its own: see
// test/e2e/hardening.test.ts for its refusal): a trixie VM with 2 GiB of RAM (MemTotal about 1950
// MiB) and no swap. `run --only system-prep` must make /swapfile (2 GiB, mode 0600, active in
// /proc/swaps), its /etc/fstab line, the sysctl.d drop-in and vm.swappiness=10 in the running
// kernel; a re-run does nothing; rollback turns the swap off and removes the file, the fstab line
// and the drop-in, and the manifest is the baseline's (the standard rollback exclusions).
// updates.enabled is false here only to spare the TCG guest a Python install that proves nothing
// about swap.
//
//   sudo E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/swap-vm.test.ts
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { recordCase } from '../support/reliability.js'
import { regenerateReportAfterAll } from './faults-support.js'
import { ROLLBACK_EXCLUSIONS } from './harness/exclusions.js'
import { diffManifests, type Exclusion, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { stages } from './harness/stages.js'
import { installTool, readSession, TOOL_CONFIG, tool } from './harness/tool.js'
import { startVmWorld, type VmWorld, vmSkipReason } from './harness/vm-world.js'
import { buildTool, standInConfig } from './harness/world.js'

const skip = await vmSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e swap (VM): ${skip} ***\n`)

/** The harness's own SSH logins: runtime scopes, not the tool's. */
const HARNESS_SSH_SESSIONS: Exclusion[] = [
  {
    pattern: /^units:session-\d+\.scope$/,
    why: "logind's transient scope of each SSH login of the harness (exec, file copies): runtime state, no unit file",
  },
]

describe.skipIf(skip !== null)('e2e (VM): a swap file on a 2 GiB machine, undone by rollback', () => {
  let w: VmWorld
  let baseline: Manifest
  const s = stages()
  regenerateReportAfterAll()

  beforeAll(async () => {
    await buildTool()
    w = await startVmWorld({
      scenario: 'swap-vm',
      machineName: 'e2e-swap',
      memoryMiB: 2048,
      diskGb: 16,
      warmAptCache: true,
    })
    await installTool(w.machine)
    await w.machine.writeFile(TOOL_CONFIG, `${standInConfig(w)}updates:\n  enabled: false\n`, 0o600)
    baseline = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-baseline.json'), JSON.stringify(baseline, null, 2))
  }, 40 * 60_000)

  afterAll(async () => {
    if (!w) return
    await s.writeTimings(w.dir, { accel: w.machine.accel })
    await w.close()
  }, 10 * 60_000)

  s.stage(
    'system-prep makes the swap file, its fstab line and swappiness; rollback removes them',
    async () => {
      const started = Date.now()
      const seen: string[] = []
      let passed = false
      try {
        const mem = Number(
          /^MemTotal:\s+(\d+) kB/m.exec((await w.machine.readFile('/proc/meminfo')) ?? '')?.[1],
        )
        const swapsBefore = (await w.machine.readFile('/proc/swaps')) ?? ''
        seen.push(
          `MemTotal ${Math.round(mem / 1024)} MiB, ${swapsBefore.trim().split('\n').length - 1} swap(s) before`,
        )
        expect(swapsBefore.trim().split('\n')).toHaveLength(1)
        const r = await tool(w, ['run', '--yes', '--plain', '--only', 'system-prep'], {
          artifact: 'run',
          timeoutMs: 60 * 60_000,
        })
        seen.push(`run exit ${r.exitCode}`)
        expect(r.exitCode, `${r.stdout}\n${r.stderr}`.slice(-3000)).toBe(0)
        const swaps = (await w.machine.readFile('/proc/swaps')) ?? ''
        const line =
          swaps.split('\n').find((l) => l.startsWith('/swapfile')) ?? '(no /swapfile in /proc/swaps)'
        const mode = (
          await w.machine.exec(['stat', '-c', '%a %s', '/swapfile'], { allowFailure: true })
        ).stdout.trim()
        const fstab = ((await w.machine.readFile('/etc/fstab')) ?? '')
          .split('\n')
          .find((l) => l.startsWith('/swapfile'))
        const value = ((await w.machine.readFile('/proc/sys/vm/swappiness')) ?? '').trim()
        seen.push(
          `/proc/swaps: ${line.replace(/\s+/g, ' ')}; /swapfile mode+size ${mode}; fstab: ${fstab ?? '(none)'}; vm.swappiness=${value}`,
        )
        expect(line).toMatch(/^\/swapfile\s+file\s+2097148\s/)
        expect(mode).toBe(`600 ${2048 * 1024 * 1024}`)
        expect(fstab).toBe('/swapfile none swap sw 0 0')
        expect(value).toBe('10')
        expect(await w.machine.readFile('/etc/sysctl.d/60-vps-provision-swap.conf')).toContain(
          'vm.swappiness = 10',
        )

        const again = await tool(w, ['run', '--yes', '--plain', '--only', 'system-prep'], {
          artifact: 'rerun',
        })
        const n = (await readSession(w.machine, again.sessionId as string)).phases.reduce(
          (k, p) => k + p.actions.length,
          0,
        )
        seen.push(`re-run exit ${again.exitCode}, ${n} actions`)
        expect(again.exitCode).toBe(0)
        expect(n).toBe(0)

        const rb = await tool(w, ['rollback', r.sessionId as string, '--yes', '--plain'], {
          artifact: 'rollback',
          timeoutMs: 40 * 60_000,
        })
        const swapsAfter = (await w.machine.readFile('/proc/swaps')) ?? ''
        const gone = !(await w.machine.exists('/swapfile'))
        const valueAfter = ((await w.machine.readFile('/proc/sys/vm/swappiness')) ?? '').trim()
        seen.push(
          `rollback exit ${rb.exitCode}; /swapfile ${gone ? 'gone' : 'STILL THERE'}; ${swapsAfter.trim().split('\n').length - 1} swap(s) active; vm.swappiness=${valueAfter}`,
        )
        expect(rb.exitCode, rb.stdout.slice(-3000)).toBe(0)
        expect(gone).toBe(true)
        expect(swapsAfter).not.toContain('/swapfile')
        expect(valueAfter).toBe('60')
        const after = await takeManifest(w.machine)
        const diff = diffManifests(baseline, after, [...ROLLBACK_EXCLUSIONS, ...HARNESS_SSH_SESSIONS])
        await writeFile(path.join(w.dir, 'manifest-diff.txt'), `${formatDiff(diff)}\n`)
        seen.push(`manifest: ${diff.length} difference(s) from the baseline after the exclusions`)
        expect(formatDiff(diff)).toBe('')
        passed = true
      } catch (e) {
        seen.push(`FAILED: ${String((e as Error).message).split('\n')[0]}`)
        throw e
      } finally {
        recordCase(
          {
            id: 'vm.swap.small-memory',
            area: '21 hardening defaults',
            case: 'swap file on a 2 GiB VM without swap, and its rollback',
            injection:
              'qemu VM -m 2048, 16 GB disk; `run --yes --plain --only system-prep`, again, then `rollback <session>`',
            expected:
              '/swapfile 2 GiB, 0600, active; fstab line; vm.swappiness=10; re-run 0 actions; rollback: swap off, file, line and drop-in gone, swappiness 60, manifest = baseline',
            observed: seen.join('; '),
            backend: 'vm',
            passed,
          },
          { file: 'test/e2e/swap-vm.test.ts', durationMs: Date.now() - started },
        )
      }
    },
    120 * 60_000,
  )
})
