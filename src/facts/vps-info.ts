// The session's VPSInstance. Facts that gate decisions (OS, RAM, disk) come through the System port;
// descriptive ones (cores, kernel, addresses) come from systeminformation on the real machine, which
// is the machine we run on. Against the fake system those are read from the fake too.

import type { VPSInstance } from '../model/schemas.js'
import type { System } from '../system/port.js'
import type { Facts } from './environment.js'
import { diskSpace, memTotalMiB, osRelease } from './machine.js'

export async function describeMachine(sys: System, facts: Facts): Promise<VPSInstance> {
  const [os, ram, root, local, etcHostname] = await Promise.all([
    osRelease(sys),
    memTotalMiB(sys),
    diskSpace(sys, '/'),
    sys.name === 'real' ? fromSystemInformation() : null,
    sys.readFile('/etc/hostname'),
  ])
  const hostname = etcHostname?.toString('utf8').trim() || 'localhost'
  return {
    hostname: local?.hostname ?? hostname,
    ip_address: local?.ip ?? '127.0.0.1',
    os_name: os?.NAME ?? 'unknown',
    os_version: os?.VERSION_ID ?? 'unknown',
    kernel_version: local?.kernel ?? 'unknown',
    architecture: facts.architecture,
    virtualization: facts.chroot ? 'chroot' : facts.virtualization,
    cpu_cores: local?.cores ?? 0,
    ram_mb: ram ?? 0,
    disk_space_gb: root ? Math.round(root.sizeBytes / 1e9) : 0,
    disk_available_gb: root ? Math.round(root.availBytes / 1e8) / 10 : 0,
    validated: false,
  }
}

async function fromSystemInformation() {
  // Loaded lazily: systeminformation is large and only `run` needs it.
  const si = (await import('systeminformation')).default
  const [os, cpu, ifaces] = await Promise.all([si.osInfo(), si.cpu(), si.networkInterfaces()])
  const list = Array.isArray(ifaces) ? ifaces : [ifaces]
  const primary =
    list.find((i) => !i.internal && i.ip4 && i.default) ?? list.find((i) => !i.internal && i.ip4)
  return { hostname: os.hostname, kernel: os.kernel, cores: cpu.cores, ip: primary?.ip4 ?? null }
}
