// The key pair xrdp.ini names, judged: a PEM certificate (parsed, its fingerprint told), and a PEM private key owned by root that
// others cannot read. (Debian 13's xrdp 0.10 has no xrdp-chkpriv any more.)
import type { System } from '../system/port.js'
import { readCertificate } from './certificate.js'
import { iniValue } from './ini.js'
import type { AssertResult } from './verdict.js'

export async function xrdpTlsInPlace(sys: System, xrdpIni: string, hint: string): Promise<AssertResult> {
  const ini = (await sys.readFile(xrdpIni))?.toString('utf8') ?? ''
  const cert = iniValue(ini, 'Globals', 'certificate')
  const key = iniValue(ini, 'Globals', 'key_file')
  if (!cert || !key) return { ok: false, detail: `${xrdpIni} names no certificate/key_file`, hint }
  const info = await readCertificate(sys, cert)
  const keyStat = await sys.stat(key)
  const keyText = (await sys.readFile(key))?.toString('utf8') ?? ''
  const problems: string[] = []
  if (!info) problems.push(`${cert} is no PEM certificate`)
  if (keyStat?.kind !== 'file' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText))
    problems.push(`${key} is no PEM private key`)
  else if (keyStat.uid !== 0 || (keyStat.mode & 0o007) !== 0)
    problems.push(
      `${key} is ${keyStat.mode.toString(8)} owned by uid ${keyStat.uid} (want root-owned, no access for others)`,
    )
  return {
    ok: problems.length === 0,
    // The fingerprint is what `verify` shows, to compare with the RDP client's (docs/quickstart.md).
    detail: problems.length
      ? problems.join('; ')
      : `${cert}, ${key} (${keyStat?.mode.toString(8)}); SHA-256 ${info?.sha256}`,
    hint,
  }
}
