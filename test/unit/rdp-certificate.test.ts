// The xrdp certificate's fingerprint in the summary, the session record (status --json) and
// verify; a certificate the user supplies (rdp.certificate, rdp.key): judged in preflight before
// any change, installed in place of a generated one, undone by rollback; and the sound packages.
// The PEM files are test/fixtures/tls and the fake's own pair (test/support/fake/tls-pair.ts):
// test-only pairs made once with openssl, valid until 2126.
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { SOUND_PACKAGES, XRDP_CERT, XRDP_KEY } from '../../phases/rdp-config.js'
import { parseConfigText, validateConfig } from '../../src/config/load.js'
import { SessionStore } from '../../src/engine/session-store.js'
import { keyPairProblems } from '../../src/facts/certificate.js'
import { engine } from '../helpers/engine.js'
import { FAKE_TLS } from '../support/fake/tls-pair.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8')
const { cert: CERT, key: KEY } = FAKE_TLS
const USER_CERT = fixture('user-cert.pem')
const USER_KEY = fixture('user-key.pem')
const OTHER_KEY = fixture('other-key.pem')
// `openssl x509 -noout -fingerprint -sha256` of FAKE_TLS.cert, computed once with openssl.
const CERT_SHA256 =
  '42:C6:32:02:E4:AA:B8:D2:13:96:C4:C2:AA:6C:E6:85:B3:DC:39:20:04:13:73:0E:C7:98:6D:C2:1E:A0:83:86'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function world(sys = workstationMachine()) {
  const w = workstationWorld(sys)
  roots.push(w.root)
  return w
}

describe('keyPairProblems', () => {
  const now = Date.parse('2030-01-01T00:00:00Z')
  it('accepts a pair whose key belongs to the certificate, in date', () => {
    expect(keyPairProblems(USER_CERT, USER_KEY, now)).toEqual([])
  })
  it('names a key of another certificate', () => {
    expect(keyPairProblems(USER_CERT, OTHER_KEY, now)).toEqual(['the key does not belong to the certificate'])
  })
  it('names an expired certificate and one not valid yet', () => {
    expect(keyPairProblems(USER_CERT, USER_KEY, Date.parse('2200-01-01T00:00:00Z'))[0]).toMatch(
      /^the certificate expired on 2126-/,
    )
    expect(keyPairProblems(USER_CERT, USER_KEY, Date.parse('2001-01-01T00:00:00Z'))[0]).toMatch(
      /^the certificate is valid only from 2026-/,
    )
  })
  it('names what is no PEM, and an encrypted key xrdp could not open', () => {
    expect(keyPairProblems('hello', USER_KEY, now)).toEqual(['the certificate is no PEM X.509 certificate'])
    expect(keyPairProblems(USER_CERT, 'hello', now)).toEqual(['the key is no PEM private key'])
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    })
    expect(keyPairProblems(USER_CERT, privateKey, now)).toEqual([
      'the key is encrypted (xrdp cannot ask for a passphrase)',
    ])
  })
})

describe('the xrdp certificate fingerprint', () => {
  it('is in the summary, the session record (status --json) and verify, as openssl prints it', async () => {
    const w = world()
    const summary = await engine.run(w.deps, workstationConfig(), { force: false })
    expect(summary.exitCode).toBe(0)
    // The fake's openssl writes the fixture pair.
    expect(w.sys.readText(XRDP_CERT)).toBe(CERT)
    expect(summary.lines).toContain(`Cert:     SHA-256 ${CERT_SHA256}`)
    const session = await new SessionStore(w.deps.paths).load(summary.sessionId)
    expect(session.rdp_certificate).toMatchObject({
      path: XRDP_CERT,
      sha256_fingerprint: CERT_SHA256,
      subject: 'CN=vps-provision-xrdp',
    })
    expect(session.rdp_certificate?.sha1_fingerprint).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/)
    const verify = await engine.verify(w.deps, workstationConfig())
    expect(verify.exitCode).toBe(0)
    expect(verify.lines.find((l) => l.includes("xrdp's certificate"))).toContain(`SHA-256 ${CERT_SHA256}`)
  })
})

describe('a certificate the user supplies (rdp.certificate, rdp.key)', () => {
  const mine = { rdp: { certificate: '/root/rdp/cert.pem', key: '/root/rdp/key.pem' } }

  it('is installed instead of a generated one, re-runs with no action, and rollback removes it', async () => {
    const sys = workstationMachine()
    sys.writeText('/root/rdp/cert.pem', USER_CERT)
    sys.writeText('/root/rdp/key.pem', USER_KEY, { mode: 0o600 })
    const initial = sys.snapshot()
    const w = world(sys)
    const cfg = workstationConfig(mine)
    const first = await engine.run(w.deps, cfg, { force: false })
    expect(first.exitCode, first.lines.join('\n')).toBe(0)
    expect(sys.readText(XRDP_CERT)).toBe(USER_CERT)
    expect(sys.readText(XRDP_KEY)).toBe(USER_KEY)
    const key = await sys.stat(XRDP_KEY)
    const xrdpGid = Number(/^xrdp:x:(\d+):/m.exec(sys.readText('/etc/group') ?? '')?.[1])
    expect([key?.mode, key?.uid, key?.gid]).toEqual([0o640, 0, xrdpGid])
    // No openssl key generation when the user gave a pair.
    expect(sys.execLog.some((e) => e.argv[0] === 'openssl')).toBe(false)
    const userSha256 = new (await import('node:crypto')).X509Certificate(USER_CERT).fingerprint256
    expect(first.lines).toContain(`Cert:     SHA-256 ${userSha256}`)

    const second = await engine.run(w.deps, cfg, { force: false })
    expect(second.phases.reduce((n, p) => n + p.actions, 0)).toBe(0)
    const back = await engine.rollback(w.deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
  })

  it('replaces a generated pair of an earlier run, and its rollback puts that pair back', async () => {
    const sys = workstationMachine()
    const w = world(sys)
    expect((await engine.run(w.deps, workstationConfig(), { force: false })).exitCode).toBe(0)
    sys.writeText('/root/rdp/cert.pem', USER_CERT)
    sys.writeText('/root/rdp/key.pem', USER_KEY, { mode: 0o600 })
    const before = sys.snapshot()
    const second = await engine.run(w.deps, workstationConfig(mine), { force: false })
    expect(second.exitCode, second.lines.join('\n')).toBe(0)
    expect(sys.readText(XRDP_CERT)).toBe(USER_CERT)
    // xrdp is restarted to present the new certificate.
    expect(sys.execLog.some((e) => e.argv.join(' ') === 'systemctl restart xrdp')).toBe(true)
    const back = await engine.rollback(w.deps, { session: second.sessionId, to: null, force: false })
    expect(back.exitCode).toBe(0)
    expect(sys.readText(XRDP_CERT)).toBe(CERT)
    expect(sys.readText(XRDP_KEY)).toBe(KEY)
    expect(sys.snapshot()).toEqual(before)
  })

  it('is refused by preflight, before any change, when the key is not its own or a file is missing', async () => {
    const sys = workstationMachine()
    sys.writeText('/root/rdp/cert.pem', USER_CERT)
    sys.writeText('/root/rdp/key.pem', OTHER_KEY, { mode: 0o600 })
    const initial = sys.snapshot()
    const w = world(sys)
    const bad = await engine.run(w.deps, workstationConfig(mine), { force: false })
    expect(bad.exitCode).toBe(1)
    expect(bad.lines.join('\n')).toContain('/root/rdp/key.pem does not belong to /root/rdp/cert.pem')
    const missing = await engine.run(
      w.deps,
      workstationConfig({ rdp: { certificate: '/root/rdp/cert.pem', key: '/root/rdp/nothing.pem' } }),
      { force: false },
    )
    expect(missing.exitCode).toBe(1)
    expect(missing.lines.join('\n')).toContain('/root/rdp/nothing.pem does not exist')
    expect(sys.snapshot()).toEqual(initial)
  })

  it('needs both paths, absolute', () => {
    const load = (text: string) => () => validateConfig([parseConfigText(text, 'test.yaml')])
    expect(load('rdp:\n  certificate: /root/cert.pem\n')).toThrow(/rdp.certificate and rdp.key together/)
    expect(load('rdp:\n  certificate: cert.pem\n  key: /root/key.pem\n')).toThrow(/absolute path/)
    expect(load('rdp:\n  certificate: /root/cert.pem\n  key: /root/key.pem\n')).not.toThrow()
  })
})

describe('sound over RDP', () => {
  it('installs PipeWire and the xrdp module by default, and nothing of it with sound: false', async () => {
    const on = world()
    expect((await engine.run(on.deps, workstationConfig(), { force: false })).exitCode).toBe(0)
    for (const p of SOUND_PACKAGES) expect(on.sys.packageVersion(p), p).not.toBeNull()
    expect(on.sys.readText('/etc/xdg/autostart/pipewire-xrdp.desktop')).toContain('load_pw_modules.sh')
    const off = world()
    expect((await engine.run(off.deps, workstationConfig({ sound: false }), { force: false })).exitCode).toBe(
      0,
    )
    for (const p of SOUND_PACKAGES) expect(off.sys.packageVersion(p), p).toBeNull()
  })
})
