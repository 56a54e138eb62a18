// A scenario-like machine to poke at by hand (docs/e2e.md): boots a trixie container with the tool
// and the stand-in configuration installed, and keeps it up until STOP_FILE exists.
//   npx tsx test/e2e/up.mts
import { existsSync, rmSync } from 'node:fs'
import { installTool } from './harness/tool.js'
import { buildTool, standInConfig, startWorld } from './harness/world.js'

const STOP_FILE = '/tmp/vps-provision-e2e-up.stop'
rmSync(STOP_FILE, { force: true })
await buildTool()
const w = await startWorld({ scenario: 'up', machineName: 'e2e-up' })
try {
  await installTool(w.machine)
  await w.machine.writeFile('/etc/vps-provision/config.yaml', standInConfig(w), 0o600)
  const pid1 = w.machine.containerPid1
  console.log(`UP: PID 1 ${pid1}, root ${w.machine.root}, address ${w.machine.address}, proxy ${w.proxy.url}`)
  console.log(
    `run: nsenter --target ${pid1} --mount --uts --ipc --net --pid -- systemd-run --wait --pipe --quiet --collect --uid=root -- vps-provision plan`,
  )
  console.log(`stop: touch ${STOP_FILE}`)
  while (!existsSync(STOP_FILE)) await new Promise((r) => setTimeout(r, 1000))
} finally {
  await w.close()
  console.log('DOWN')
}
