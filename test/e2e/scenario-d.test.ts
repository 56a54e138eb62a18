// Scenario D, container half: a Debian 12 (bookworm) "VPS". Preflight must refuse (exit 1) with
// what it measured against what it requires, and the machine must be exactly as before.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { diffManifests, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { stages } from './harness/stages.js'
import { installTool, tool } from './harness/tool.js'
import { buildTool, e2eSkipReason, standInConfig, startWorld, type World } from './harness/world.js'

const skip = await e2eSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e scenario D: ${skip} ***\n`)

describe.skipIf(skip !== null)('e2e scenario D: Debian 12 is refused before any change', () => {
  let w: World
  let baseline: Manifest
  const s = stages()

  beforeAll(async () => {
    await buildTool()
    w = await startWorld({ scenario: 'scenario-d', machineName: 'e2e-d', suite: 'bookworm' })
    // Debian 12's node 18 reads an extensionless file as CommonJS: keep the .mjs name (tool.ts).
    await installTool(w.machine, { keepExtension: true })
    await w.machine.writeFile('/etc/vps-provision/config.yaml', standInConfig(w), 0o600)
    baseline = await takeManifest(w.machine)
  }, 30 * 60_000)

  afterAll(async () => {
    if (!w) return
    await s.writeTimings(w.dir)
    await w.close()
  }, 10 * 60_000)

  s.stage('the machine is Debian 12 with its own nodejs', async () => {
    const os = (await w.machine.readFile('/etc/os-release')) ?? ''
    expect(os).toMatch(/^VERSION_ID="12"$/m)
    const node = await w.machine.exec(['node', '--version'])
    w.log(`node on bookworm: ${node.stdout.trim()}`)
  })

  s.stage('run exits 1 naming measured and required values, and changes nothing', async () => {
    const r = await tool(w, ['run', '--yes', '--plain'], { artifact: 'run' })
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`.slice(-3000)).toBe(1)
    const out = `${r.stdout}\n${r.stderr}`
    expect(out).toMatch(/VERSION_ID=12\b.*required: ID=debian, VERSION_ID=13/)
    expect(out).not.toMatch(/\[system-prep\] phase started/)
    const after = await takeManifest(w.machine)
    await writeFile(path.join(w.dir, 'manifest-after.json'), JSON.stringify(after, null, 2))
    expect(formatDiff(diffManifests(baseline, after))).toBe('')
  })
})
