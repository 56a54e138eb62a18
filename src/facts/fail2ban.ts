// Which jails fail2ban runs, as its own client says. The server opens its socket a moment after
// systemd reports the unit started (Type=simple), so right after a restart the client may find no
// socket yet: while the unit is active, that answer is waited out for a few seconds.
import type { System } from '../system/port.js'
import { isActive, unitState } from './systemd.js'
import type { AssertResult } from './verdict.js'

const NO_SOCKET = /Failed to access socket/
const WAIT_MS = 20_000
const POLL_MS = 500

/** The jail names of `fail2ban-client status` ("`- Jail list:\tsshd, xrdp"), or null if it did not answer. */
export function parseJailList(stdout: string): string[] | null {
  const line = /Jail list:[ \t]*(.*)$/m.exec(stdout)
  if (!line) return null
  return (line[1] ?? '')
    .split(',')
    .map((j) => j.trim())
    .filter((j) => j !== '')
}

export async function fail2banJails(
  sys: System,
  want: readonly string[],
  opts: { waitMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<AssertResult> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const hint =
    'fail2ban-client -t checks the configuration; systemctl status fail2ban; journalctl -u fail2ban'
  const deadline = Date.now() + (opts.waitMs ?? WAIT_MS)
  for (;;) {
    const r = await sys.exec(['fail2ban-client', 'status'], { allowFailure: true })
    const jails = r.exitCode === 0 ? parseJailList(r.stdout) : null
    if (jails) {
      const missing = want.filter((j) => !jails.includes(j))
      return {
        ok: missing.length === 0,
        detail:
          missing.length === 0
            ? `fail2ban jails: ${jails.join(', ')}`
            : `fail2ban runs ${jails.length > 0 ? jails.join(', ') : 'no jail'}; missing: ${missing.join(', ')}`,
        hint,
      }
    }
    const text = `${r.stderr}\n${r.stdout}`
    const starting = NO_SOCKET.test(text) && isActive((await unitState(sys, 'fail2ban')).active)
    if (!starting || Date.now() >= deadline) {
      const why = text.trim().split('\n').pop() ?? ''
      return { ok: false, detail: `fail2ban-client status failed (exit ${r.exitCode}): ${why}`, hint }
    }
    await sleep(POLL_MS)
  }
}
