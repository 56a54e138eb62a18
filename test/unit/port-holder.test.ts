// The RDP port check names who holds the port (name, pid, unit) so the user knows what to stop.
import { describe, expect, it } from 'vitest'
import { portHolders, rdpPortAvailable } from '../../src/facts/port-holder.js'
import { FakeSystem } from '../support/fake/index.js'

const SS = [
  'LISTEN 0      128          0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=612,fd=3))',
  'LISTEN 0      511                *:3389             *:*    users:(("node",pid=812,fd=21))',
  'LISTEN 0      511          0.0.0.0:33890      0.0.0.0:*    users:(("other",pid=900,fd=4))',
  '',
].join('\n')

function withSs(stdout: string): FakeSystem {
  const sys = FakeSystem.debian13()
  sys.failOn((argv) => (argv[0] === 'ss' ? { exitCode: 0, stdout, stderr: '' } : null))
  return sys
}

describe('rdpPortAvailable', () => {
  it('names the process, its pid and its systemd unit', async () => {
    const sys = withSs(SS)
    sys.writeText('/proc/812/cgroup', '0::/system.slice/squatter.service\n')
    expect(await portHolders(sys, 3389)).toEqual([{ process: 'node', pid: 812, unit: 'squatter.service' }])
    const r = await rdpPortAvailable(sys, 3389)
    expect(r).toMatchObject({ ok: false, detail: 'port 3389 is used by node (pid 812, squatter.service)' })
    expect(r.hint).toMatch(/systemctl stop squatter\.service/)
  })

  it('says kill PID when the process is in no unit', async () => {
    const r = await rdpPortAvailable(withSs(SS), 3389)
    expect(r).toMatchObject({ ok: false, detail: 'port 3389 is used by node (pid 812)' })
    expect(r.hint).toMatch(/kill 812/)
  })

  it('accepts a free port and one held by xrdp alone (a re-run), with the same detail', async () => {
    const free = await rdpPortAvailable(withSs(SS), 3390)
    const xrdp = await rdpPortAvailable(
      withSs('LISTEN 0 2 *:3389 *:* users:(("xrdp",pid=771,fd=11),("xrdp",pid=990,fd=11))\n'),
      3389,
    )
    expect(free).toMatchObject({ ok: true, detail: 'port 3390 is free or held by xrdp' })
    expect(xrdp).toMatchObject({ ok: true, detail: 'port 3389 is free or held by xrdp' })
  })
})
