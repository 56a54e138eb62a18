// Facts about the machine, gathered once per invocation through the System port. They decide what
// can run here, so they are measured, never assumed. When in doubt they say "no": a chroot shares
// the host's kernel, firewall and init, and a wrong "yes" would change the host.
import type { System } from '../system/port.js'

/** Facts about the machine gathered once per invocation (preflight fills them). */
export interface Facts {
  /** systemd-detect-virt's answer: "none", "kvm", "systemd-nspawn", ... */
  virtualization: string
  container: boolean
  /** We run inside a chroot: kernel, firewall and services belong to the host. Never touch them. */
  chroot: boolean
  /** systemd is PID 1 of this machine (not of a host around our chroot): units can run for real. */
  systemd: boolean
  architecture: string
}

const CONTAINERS = new Set([
  'openvz',
  'lxc',
  'lxc-libvirt',
  'systemd-nspawn',
  'docker',
  'podman',
  'rkt',
  'wsl',
  'proot',
  'pouch',
  'container-other',
])

export async function gatherFacts(sys: System): Promise<Facts> {
  const [virt, chroot, comm, arch] = await Promise.all([
    sys.exec(['systemd-detect-virt'], { allowFailure: true }).catch(() => null),
    inChroot(sys),
    sys.readFile('/proc/1/comm').catch(() => null),
    sys.exec(['dpkg', '--print-architecture'], { allowFailure: true }).catch(() => null),
  ])
  const virtualization = virt?.stdout.trim() || 'none'
  const pid1 = comm?.toString().trim()
  return {
    virtualization,
    container: CONTAINERS.has(virtualization),
    chroot,
    systemd: !chroot && pid1 === 'systemd',
    architecture: arch?.exitCode === 0 ? arch.stdout.trim() : 'unknown',
  }
}

/** Our / differs from PID 1's /: a chroot. If we cannot tell (no /proc), assume the worst. */
export async function inChroot(sys: System): Promise<boolean> {
  const r = await sys
    .exec(['stat', '-L', '-c', '%d:%i', '/', '/proc/1/root'], { allowFailure: true })
    .catch(() => null)
  if (r?.exitCode !== 0) return true
  const [ours, pid1s] = r.stdout.trim().split('\n')
  return !ours || ours !== pid1s
}
