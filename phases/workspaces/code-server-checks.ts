// code-server's parts of preflight, verify and the summary (the steps are in code-server.ts):
// a port for every developer and a reachable .deb before any change; each developer's instance
// running and answering afterwards; and how each developer reaches theirs.
import { developers } from '../../src/config/developers.js'
import type { Config } from '../../src/config/schema.js'
import { keyPairProblems } from '../../src/facts/certificate.js'
import {
  codeServerAnswers,
  configuredPort,
  credentialsMarker,
  portsAvailable,
} from '../../src/facts/code-server.js'
import { sourceReachable } from '../../src/facts/requirements.js'
import type { AssertResult } from '../../src/facts/verdict.js'
import { assert } from '../../src/steps/assert.js'
import { CREDENTIALS_FILE } from '../../src/steps/developer-password.js'
import type { PreflightCheck } from '../../src/steps/premised-checks.js'
import type { Facts, Step, System } from '../../src/steps/types.js'
import { debSource, isLoopback } from './code-server.js'

const names = (cfg: Config) => developers(cfg).map((d) => d.name)

/** Preflight's part: the .deb's source answers, a port for everyone, a certificate that serves. */
export function codeServerPreflight(cfg: Config, facts: Facts): PreflightCheck[] {
  const cs = cfg.codeServer
  if (!cs.enabled) return []
  const checks: PreflightCheck[] = [
    {
      id: 'code-server-ports',
      title: `A code-server port in ${cs.ports} for each developer`,
      check: (sys) => portsAvailable(sys, names(cfg), cs.ports),
    },
  ]
  if (!cfg.skipProbe && cfg.sources.codeServer.probe)
    checks.push({
      id: 'code-server-source',
      title: 'code-server download reachable',
      needs: ['os'],
      check: async (sys) => {
        const r = await sourceReachable(sys, debSource(cfg, facts.architecture).url)
        return r.ok
          ? r
          : { ...r, hint: 'Check sources.codeServer.url and version, or set sources.codeServer.probe: false' }
      },
    })
  if (cs.certificate && cs.key) {
    const [cert, key] = [cs.certificate, cs.key]
    checks.push({
      id: 'code-server-certificate',
      title: "code-server's certificate and key",
      check: (sys) => keyPair(sys, cert, key),
    })
  }
  return checks
}

async function keyPair(sys: System, certPath: string, keyPath: string): Promise<AssertResult> {
  const hint =
    'Give codeServer.certificate and codeServer.key as a PEM certificate and its unencrypted PEM key'
  const [cert, key] = await Promise.all([sys.readFile(certPath), sys.readFile(keyPath)])
  if (cert === null || key === null)
    return {
      ok: false,
      detail: [certPath, keyPath]
        .filter((_, i) => [cert, key][i] === null)
        .map((p) => `${p} does not exist`)
        .join('; '),
      hint,
    }
  const problems = keyPairProblems(cert, key, Date.now(), { cert: certPath, key: keyPath })
  return problems.length > 0
    ? { ok: false, detail: problems.join('; '), hint }
    : { ok: true, detail: `${certPath} and ${keyPath}` }
}

/** verify's part: each developer's instance runs and answers on its port. */
export function codeServerChecks(cfg: Config): Step[] {
  const cs = cfg.codeServer
  if (!cs.enabled) return []
  const tls = cs.certificate !== null
  return names(cfg).map((user) =>
    assert({
      id: `code-server-${user}`,
      title: `${user}'s code-server runs and answers`,
      check: (sys) => codeServerAnswers(sys, user, cs.bindAddress, tls),
    }),
  )
}

/** The summary's part, read from the machine: how each developer reaches theirs, where the password is. */
export async function codeServerNotes(sys: System, cfg: Config, host: string): Promise<string[]> {
  const cs = cfg.codeServer
  if (!cs.enabled) return []
  const notes: string[] = []
  for (const user of names(cfg)) {
    const port = await configuredPort(sys, user)
    if (port === null) {
      notes.push(`code-server (${user}): not set up yet: vps-provision run`)
      continue
    }
    notes.push(
      isLoopback(cs.bindAddress)
        ? `code-server (${user}): ssh -L ${port}:127.0.0.1:${port} ${user}@${host}   then open http://localhost:${port}`
        : `code-server (${user}): https://${host}:${port}`,
      `  password: in ${CREDENTIALS_FILE} on the server (root only), block ${credentialsMarker(user)}`,
    )
  }
  return notes
}
