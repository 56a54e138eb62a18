// Without `ss` (no iproute2: a minimal container, or the lab's trixie chroot) the RDP port check
// must still measure, from /proc/net/tcp{,6}, instead of reading "nothing listens".
import { describe, expect, it } from 'vitest'
import { tcpListeners } from '../../src/facts/machine.js'
import { rdpPortAvailable } from '../../src/facts/port-holder.js'
import { FakeSystem } from '../support/fake/index.js'

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0D3D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:9C40 0100007F:0016 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
`
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:0D3D 00000000000000000000000000000000:0000 0A 00000000:00000000
`

function withoutSs(): FakeSystem {
  const sys = FakeSystem.debian13()
  sys.failOn((argv) =>
    argv[0] === 'ss' ? { exitCode: 127, stdout: '', stderr: 'command not found: ss' } : null,
  )
  return sys
}

describe('tcpListeners without ss', () => {
  it('reads LISTEN sockets from /proc/net/tcp and tcp6, owner unknown', async () => {
    const sys = withoutSs()
    sys.writeText('/proc/net/tcp', TCP)
    sys.writeText('/proc/net/tcp6', TCP6)
    expect(await tcpListeners(sys)).toEqual([
      { port: 3389, address: '127.0.0.1', process: 'unknown process' },
      { port: 22, address: '0.0.0.0', process: 'unknown process' },
      { port: 3389, address: '[0:0:0:0:0:0:0:1]', process: 'unknown process' },
    ])
  })

  it('fails the RDP port check for a listener it cannot name, and says how to find it', async () => {
    const sys = withoutSs()
    sys.writeText('/proc/net/tcp', TCP)
    const r = await rdpPortAvailable(sys, 3389)
    expect(r).toMatchObject({ ok: false, detail: 'port 3389 is used by unknown process' })
    expect(r.hint).toMatch(/iproute2/)
    expect(await rdpPortAvailable(sys, 3390)).toMatchObject({
      ok: true,
      detail: 'port 3390 is free or held by xrdp',
    })
  })
})
