// Scenario D, VM half: a Debian 13 VM that is too small, 1 GiB of RAM and an 8 GB disk (the
// container half is Debian 12). Preflight must refuse (exit 1) naming what it measured against
// what it requires, for memory and disk, and the machine must be exactly as before.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { MIN_MEMTOTAL_MIB, REQUIRED_FREE_GB } from '../../src/facts/requirements.js'
import { recordCase } from '../support/reliability.js'
import { diffManifests, type Exclusion, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { stages } from './harness/stages.js'
import { installTool, tool } from './harness/tool.js'
import { startVmWorld, type VmWorld, vmSkipReason } from './harness/vm-world.js'
import { buildTool, standInConfig } from './harness/world.js'

/** The only difference allowed, and not the tool's: the harness's own SSH logins. */
const HARNESS_SSH_SESSIONS: Exclusion[] = [
  {
    pattern: /^units:session-\d+\.scope$/,
    why: "logind's transient scope of each SSH login of the harness (exec, file copies): runtime state, no unit file",
  },
]

const skip = await vmSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e scenario D (VM): ${skip} ***\n`)

describe.skipIf(skip !== null)(
  'e2e scenario D (VM): 1 GiB RAM and an 8 GB disk are refused before any change',
  () => {
    let w: VmWorld
    let baseline: Manifest
    const s = stages()

    beforeAll(async () => {
      await buildTool()
      w = await startVmWorld({
        scenario: 'scenario-d-vm',
        machineName: 'e2e-dvm',
        memoryMiB: 1024,
        diskGb: 8,
      })
      await installTool(w.machine)
      await w.machine.writeFile('/etc/vps-provision/config.yaml', standInConfig(w), 0o600)
      baseline = await takeManifest(w.machine)
      await writeFile(path.join(w.dir, 'manifest-baseline.json'), JSON.stringify(baseline, null, 2))
    }, 40 * 60_000)

    afterAll(async () => {
      if (!w) return
      await s.writeTimings(w.dir, { accel: w.machine.accel })
      await w.close()
    }, 10 * 60_000)

    s.stage('the VM really is too small: MemTotal and free space on / measured inside', async () => {
      const mem = Number(
        /^MemTotal:\s+(\d+) kB/m.exec((await w.machine.readFile('/proc/meminfo')) ?? '')?.[1],
      )
      const df = await w.machine.exec(['df', '--output=avail', '-B1', '/'])
      const availGb = Number(df.stdout.trim().split('\n').at(-1)) / 1e9
      w.log(`MemTotal ${Math.round(mem / 1024)} MiB, ${availGb.toFixed(1)} GB free on /`)
      expect(mem / 1024).toBeLessThan(MIN_MEMTOTAL_MIB)
      expect(availGb).toBeLessThan(REQUIRED_FREE_GB)
      const os = (await w.machine.readFile('/etc/os-release')) ?? ''
      expect(os).toMatch(/^VERSION_ID="13"$/m)
    })

    s.stage('run exits 1 naming measured and required memory and disk, and changes nothing', async () => {
      const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run', timeoutMs: 20 * 60_000 })
      const out = `${r.stdout}\n${r.stderr}`
      const after = await takeManifest(w.machine)
      await writeFile(path.join(w.dir, 'manifest-after.json'), JSON.stringify(after, null, 2))
      const diff = formatDiff(diffManifests(baseline, after, HARNESS_SSH_SESSIONS))
      const memory = new RegExp(
        `\\b\\d+ MiB RAM \\(required: 2048 MB, i\\.e\\. MemTotal >= ${MIN_MEMTOTAL_MIB} MiB\\)`,
      )
      const disk = new RegExp(`\\b\\d+\\.\\d GB free on / \\(required: ${REQUIRED_FREE_GB} GB\\)`)
      recordCase(
        {
          id: 'vm.preflight-small-vm',
          area: 'input',
          case: 'a VM with 1 GiB of RAM and an 8 GB disk (too little memory and free disk on /)',
          injection: 'qemu VM: -m 1024 and an 8 GB qcow2 image; `vps-provision run --yes --plain`',
          expected: 'exit 1 naming measured and required memory and disk; manifest unchanged',
          observed: `exit ${r.exitCode}: ${/^Failed: preflight: .*$/m.exec(out)?.[0] ?? '(no "Failed: preflight" line)'}; manifest ${diff === '' ? 'equal to the baseline' : 'CHANGED'}`,
          backend: 'vm',
          passed: r.exitCode === 1 && diff === '' && memory.test(out) && disk.test(out),
        },
        { file: 'test/e2e/scenario-d-vm.test.ts', durationMs: r.durationMs },
      )
      expect(r.exitCode, out.slice(-3000)).toBe(1) // docs/exit-codes.md: preflight failed
      expect(out).toMatch(memory)
      expect(out).toMatch(disk)
      expect(out).not.toMatch(/\[system-prep\] phase started/)
      expect(diff).toBe('')
    })
  },
)
