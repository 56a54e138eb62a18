// What a PEM certificate says, read through the System port and parsed by Node's own X.509 code
// (no openssl argv): its fingerprints as RDP clients show them, and whether a key pair the user
// supplies can serve xrdp (parses, the key is unencrypted and belongs to the certificate, in date).
import { createPrivateKey, X509Certificate } from 'node:crypto'
import type { System } from '../system/port.js'
import type { AssertResult } from './verdict.js'

export interface CertificateInfo {
  path: string
  /** Colon-separated uppercase hex, as `openssl x509 -fingerprint -sha256` and FreeRDP show it. */
  sha256: string
  /** What Windows' certificate viewer (mstsc's "View certificate", Details) calls the Thumbprint. */
  sha1: string
  subject: string
  /** ISO 8601. */
  notAfter: string
}

/** The certificate at `path`, or null when there is none or it is no PEM certificate. */
export async function readCertificate(sys: System, path: string): Promise<CertificateInfo | null> {
  const pem = await sys.readFile(path)
  if (!pem) return null
  const x = parseCertificate(pem)
  return x ? infoOf(path, x) : null
}

function parseCertificate(pem: Buffer | string): X509Certificate | null {
  try {
    return new X509Certificate(pem)
  } catch {
    return null
  }
}

function infoOf(path: string, x: X509Certificate): CertificateInfo {
  return {
    path,
    sha256: x.fingerprint256,
    sha1: x.fingerprint,
    subject: x.subject.replace(/\n/g, ', '),
    notAfter: new Date(x.validTo).toISOString(),
  }
}

/**
 * Why this certificate and key cannot serve xrdp, or [] when they can. Pure: `now` (ms) decides
 * what is expired, so a test can ask about any day.
 */
export function keyPairProblems(
  certPem: Buffer | string,
  keyPem: Buffer | string,
  now: number,
  names = { cert: 'the certificate', key: 'the key' },
): string[] {
  const x = parseCertificate(certPem)
  if (!x) return [`${names.cert} is no PEM X.509 certificate`]
  const problems: string[] = []
  const from = new Date(x.validFrom).getTime()
  const to = new Date(x.validTo).getTime()
  if (to <= now) problems.push(`${names.cert} expired on ${new Date(to).toISOString()}`)
  else if (from > now) problems.push(`${names.cert} is valid only from ${new Date(from).toISOString()}`)
  let key: ReturnType<typeof createPrivateKey>
  try {
    key = createPrivateKey(keyPem)
  } catch {
    // An encrypted key throws here too (OpenSSL's "interrupted or cancelled": no passphrase given),
    // and xrdp has no way to be given one either; its PEM says so.
    const encrypted = /ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(keyPem.toString())
    const why = encrypted ? 'is encrypted (xrdp cannot ask for a passphrase)' : 'is no PEM private key'
    return [...problems, `${names.key} ${why}`]
  }
  if (!x.checkPrivateKey(key)) problems.push(`${names.key} does not belong to ${names.cert}`)
  return problems
}

/** Preflight's judgement of the pair named by rdp.certificate and rdp.key; nothing is changed. */
export async function suppliedKeyPair(sys: System, certPath: string, keyPath: string): Promise<AssertResult> {
  const hint = `Give rdp.certificate and rdp.key as a PEM certificate and its unencrypted PEM private key (check with: openssl x509 -noout -dates -in ${certPath}), or remove both to have one generated`
  const [cert, key] = await Promise.all([sys.readFile(certPath), sys.readFile(keyPath)])
  const missing = [
    ...(cert === null ? [`${certPath} does not exist`] : []),
    ...(key === null ? [`${keyPath} does not exist`] : []),
  ]
  if (cert === null || key === null) return { ok: false, detail: missing.join('; '), hint }
  const problems = keyPairProblems(cert, key, Date.now(), { cert: certPath, key: keyPath })
  if (problems.length) return { ok: false, detail: problems.join('; '), hint }
  const info = infoOf(certPath, new X509Certificate(cert))
  return {
    ok: true,
    detail: `${certPath} (${info.subject}, until ${info.notAfter.slice(0, 10)}) and its key ${keyPath}`,
    hint,
  }
}
