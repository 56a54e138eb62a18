// verification: read-only proof that the workstation works: xrdp and sesman active, the RDP port
// listening, xrdp's certificate and key in place (key for root and xrdp only), the user with its groups and passwordless sudo, and
// every IDE verified as the developer user. A failure exits 4 naming the check and what to do.

import { groupsOf, passwdEntry } from '../src/facts/accounts.js'
import { tcpListeners } from '../src/facts/machine.js'
import { ideSpec, verifyIde } from '../src/ides.js'
import { assert } from '../src/steps/index.js'
import { definePhase } from '../src/steps/phase.js'
import type { System } from '../src/steps/types.js'
import { XRDP_CERT, XRDP_INI, XRDP_KEY } from './rdp-config.js'
import { DEV_GROUPS } from './user-creation.js'

async function unitActive(sys: System, unit: string) {
  const r = await sys.exec(['systemctl', 'is-active', unit], { allowFailure: true })
  const state = r.stdout.trim() || 'unknown'
  return {
    ok: state === 'active',
    detail: `${unit} is ${state}`,
    hint: `systemctl status ${unit}; journalctl -u ${unit}`,
  }
}

/** The key pair xrdp.ini names. (Debian 13's xrdp 0.10 has no xrdp-chkpriv any more.) */
async function xrdpTls(sys: System) {
  const ini = (await sys.readFile(XRDP_INI))?.toString('utf8') ?? ''
  const globals = /^\[Globals\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(ini)?.[1] ?? ''
  const value = (k: string) => new RegExp(`^\\s*${k}\\s*=\\s*(\\S.*?)\\s*$`, 'im').exec(globals)?.[1] ?? ''
  const cert = value('certificate')
  const key = value('key_file')
  const hint = `ls -l ${XRDP_CERT} ${XRDP_KEY}; vps-provision run --only rdp-config`
  if (!cert || !key) return { ok: false, detail: `${XRDP_INI} names no certificate/key_file`, hint }
  const certText = (await sys.readFile(cert))?.toString('utf8') ?? ''
  const keyStat = await sys.stat(key)
  const keyText = (await sys.readFile(key))?.toString('utf8') ?? ''
  const problems: string[] = []
  if (!certText.includes('-----BEGIN CERTIFICATE-----')) problems.push(`${cert} is no PEM certificate`)
  if (keyStat?.kind !== 'file' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText))
    problems.push(`${key} is no PEM private key`)
  else if (keyStat.uid !== 0 || (keyStat.mode & 0o007) !== 0)
    problems.push(
      `${key} is ${keyStat.mode.toString(8)} owned by uid ${keyStat.uid} (want root-owned, no access for others)`,
    )
  return {
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `${cert}, ${key} (${keyStat?.mode.toString(8)})`,
    hint,
  }
}

export const verification = definePhase({
  name: 'verification',
  title: 'Verification',
  weight: 1,
  readOnly: true,
  needsSystemd: true,
  steps: ({ cfg }) => {
    const name = cfg.username
    return [
      assert({ id: 'xrdp-active', title: 'xrdp is running', check: (sys) => unitActive(sys, 'xrdp') }),
      assert({
        id: 'sesman-active',
        title: 'xrdp-sesman is running',
        check: (sys) => unitActive(sys, 'xrdp-sesman'),
      }),
      assert({
        id: 'rdp-listening',
        title: `RDP port ${cfg.rdp.port} is listening`,
        check: async (sys) => {
          const l = (await tcpListeners(sys)).find((x) => x.port === cfg.rdp.port)
          return {
            ok: !!l,
            detail: l ? `${l.process} on ${l.address}:${l.port}` : 'not listening',
            hint: 'journalctl -u xrdp',
          }
        },
      }),
      assert({
        id: 'xrdp-tls',
        title: "xrdp's certificate and key are in place, the key readable by root and xrdp only",
        check: xrdpTls,
      }),
      assert({
        id: 'user',
        title: `User ${name} with groups ${DEV_GROUPS.join(', ')}`,
        check: async (sys) => {
          if (!(await passwdEntry(sys, name)))
            return {
              ok: false,
              detail: `${name} does not exist`,
              hint: 'vps-provision run --only user-creation',
            }
          const groups = new Set(await groupsOf(sys, name))
          const lacking = DEV_GROUPS.filter((g) => !groups.has(g))
          return {
            ok: lacking.length === 0,
            detail: lacking.length ? `missing groups: ${lacking.join(', ')}` : 'all groups',
            hint: 'vps-provision run --only user-creation',
          }
        },
      }),
      assert({
        id: 'sudo',
        title: `Passwordless sudo for ${name}`,
        check: async (sys) => {
          const r = await sys.exec(['runuser', '-u', name, '--', 'sudo', '-n', 'true'], {
            allowFailure: true,
          })
          return {
            ok: r.exitCode === 0,
            detail: r.exitCode === 0 ? 'sudo -n true ok' : r.stderr.trim(),
            hint: `Check /etc/sudoers.d/vps-provision-${name}`,
          }
        },
      }),
      ...cfg.ides.map((id) =>
        assert({
          id: `ide-${id}`,
          title: `${id} works for ${name}`,
          check: async (sys) => {
            const ide = await verifyIde(sys, ideSpec(id, cfg), name)
            return {
              ok: ide.verified,
              detail: ide.verified
                ? `${ide.command_name} ${ide.version}`
                : ide.verification_errors.join('; '),
              hint: `vps-provision run --only ide-installations --ides ${id}`,
            }
          },
        }),
      ),
    ]
  },
})
