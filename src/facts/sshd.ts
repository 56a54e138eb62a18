// sshd's effective configuration, as `sshd -T` prints it.
import type { System } from '../system/port.js'

/** The ports sshd really listens on, from its effective configuration. */
export async function sshdPorts(sys: System): Promise<number[]> {
  const r = await sys.exec(['sshd', '-T'], { allowFailure: true })
  const ports = [...r.stdout.matchAll(/^port (\d+)$/gm)].map((m) => Number(m[1]))
  return ports.length > 0 ? [...new Set(ports)] : [22]
}
