// What the summary tells the person at the end, and the session's DeveloperUser and
// IDEInstallation records: read from the machine after the run, so they are true on a re-run too.
import { type Developer, developers } from '../src/config/developers.js'
import type { Config } from '../src/config/schema.js'
import { groupsOf, passwdEntry, shadowEntry } from '../src/facts/accounts.js'
import { type CertificateInfo, readCertificate } from '../src/facts/certificate.js'
import { readText } from '../src/facts/files.js'
import { iniValue } from '../src/facts/ini.js'
import { ideSpec, verifyIde } from '../src/ides.js'
import type { Report } from '../src/model/reports.js'
import type { VPSInstance } from '../src/model/schemas.js'
import { CREDENTIALS_FILE, credentialsFile } from '../src/steps/developer-password.js'
import type { Facts, System } from '../src/steps/types.js'
import { XRDP_INI } from './rdp-config.js'

export async function describeWorkstation(
  sys: System,
  cfg: Config,
  facts: Facts,
  vps: VPSInstance | null,
): Promise<Report> {
  const name = cfg.username
  const pw = await passwdEntry(sys, name)
  const host = vps?.ip_address ?? '<server-ip>'
  const port = cfg.rdp.port
  const notes: string[] = []
  const cert = await xrdpCertificate(sys)
  if (!(await sys.stat(XRDP_INI))) {
    notes.push('RDP:      not set up yet (rdp-config has not completed): vps-provision run')
  } else {
    if (cfg.rdp.firewall === 'open') notes.push(`RDP:      ${host}:${port}`)
    notes.push(
      `Tunnel:   ssh -L ${port}:localhost:${port} root@${host}   then connect your RDP client to localhost:${port}`,
    )
    // What the RDP client must show on the first connection (docs/quickstart.md says where).
    if (cert) notes.push(...certificateLines(cert))
  }
  const credentials = await sys.stat(CREDENTIALS_FILE)
  // A run that stopped before user-creation has no user and no password to point at.
  if (!pw) notes.push(`Username: ${name} (not created yet: user-creation has not completed)`)
  else {
    notes.push(`Username: ${name}`)
    const primary = developers(cfg)[0]
    notes.push(
      primary?.passwordHash
        ? 'Password: the one of passwordHash in the configuration'
        : primary?.passwordFile
          ? `Password: the one in ${primary.passwordFile} (the configuration's passwordFile)`
          : credentials
            ? `Password: in ${CREDENTIALS_FILE} on the server (root only); delete it once stored safely`
            : 'Password: shown once when it was generated; reset it with `passwd` as root if lost',
    )
  }
  for (const dev of developers(cfg).slice(1)) notes.push(await otherDeveloperLine(sys, dev))
  const ides = pw
    ? await Promise.all(cfg.ides.map((id) => verifyIde(sys, ideSpec(id, cfg, facts.architecture), name)))
    : []
  // The IDE lines line up with the other labels ("Password: "), and with each other when a name
  // (ANTIGRAVITY) is longer than those.
  const width = Math.max(9, ...ides.map((ide) => ide.ide_name.length))
  for (const ide of ides)
    notes.push(
      `${ide.ide_name.padEnd(width)} ${ide.verified ? ide.version : `NOT verified: ${ide.verification_errors[0] ?? ''}`}`,
    )
  return {
    notes,
    developerUser: pw
      ? {
          username: name,
          full_name: cfg.fullName,
          uid: pw.uid,
          gid: pw.gid,
          home_directory: pw.home,
          shell: pw.shell,
          groups: await groupsOf(sys, name),
          password_expires: (await shadowEntry(sys, name))?.lastChange === '0',
          ssh_key_auth_enabled: (await sys.stat(`${pw.home}/.ssh/authorized_keys`)) !== null,
          credentials_location: credentials ? CREDENTIALS_FILE : null,
          created_at: new Date().toISOString(),
        }
      : null,
    ideInstallations: ides,
    rdpCertificate: cert
      ? {
          path: cert.path,
          sha256_fingerprint: cert.sha256,
          sha1_fingerprint: cert.sha1,
          subject: cert.subject,
          not_after: cert.notAfter,
        }
      : null,
  }
}

/** One line for each developer after the first: their own RDP login, and where its password is. */
async function otherDeveloperLine(sys: System, dev: Developer): Promise<string> {
  const label = `Also:     ${dev.name}${dev.sudo ? ' (sudo)' : ''}`
  if (!(await passwdEntry(sys, dev.name))) return `${label}: not created yet`
  if (dev.passwordHash || dev.passwordFile) return `${label}: password as the configuration gives it`
  const file = credentialsFile(dev.name, false)
  return (await sys.stat(file))
    ? `${label}: password in ${file}`
    : `${label}: password shown when it was generated, or set with \`passwd ${dev.name}\``
}

/** The certificate xrdp.ini names (ours, or the user's copied in its place), if it parses. */
export async function xrdpCertificate(sys: System): Promise<CertificateInfo | null> {
  const ini = await readText(sys, XRDP_INI)
  const path = ini === null ? null : iniValue(ini, 'Globals', 'certificate')
  return path ? readCertificate(sys, path) : null
}

/** SHA-256 as FreeRDP and most clients show it; SHA-1 for Windows' certificate viewer (mstsc). */
export function certificateLines(cert: CertificateInfo): string[] {
  return [`Cert:     SHA-256 ${cert.sha256}`, `          SHA-1   ${cert.sha1} (Windows shows this one)`]
}
