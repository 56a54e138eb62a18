// code-server (codeServer.enabled): the vendor's .deb, installed like Cursor's (download in the
// background, then one apt-get transaction), and per developer: a port from codeServer.ports
// (kept on re-runs), a password filed in the root-only credentials file, a 0600 config in their
// home, the package's own `code-server@USER` unit enabled and running, and, off loopback, the
// certificate copied where they can read it and the port opened in ufw. Preflight, verify and
// the summary get their parts from code-server-checks.ts (docs/workspaces.md, code-server).

import { developers } from '../../src/config/developers.js'
import type { Config } from '../../src/config/schema.js'
import { passwdEntry } from '../../src/facts/accounts.js'
import {
  allocatePorts,
  CONFIG_DIR,
  CONFIG_FILE,
  parseRange,
  TLS_CERT,
  TLS_KEY,
  unitFor,
} from '../../src/facts/code-server.js'
import { downloadUrl, forArch } from '../../src/ides.js'
import { EXIT, ProvisionError } from '../../src/model/errors.js'
import { codeServerConfig } from '../../src/steps/code-server.js'
import { debInstall } from '../../src/steps/deb-install.js'
import { CREDENTIALS_FILE } from '../../src/steps/developer-password.js'
import { directory } from '../../src/steps/directory.js'
import { download, downloadPath } from '../../src/steps/download.js'
import { file } from '../../src/steps/file.js'
import { ufwAllow } from '../../src/steps/firewall.js'
import { inBackground, lazy } from '../../src/steps/lazy.js'
import { ownedBy } from '../../src/steps/phase.js'
import { restartOnChange } from '../../src/steps/restart-on-change.js'
import { service } from '../../src/steps/service.js'
import type { Facts, PhaseInput, Step, System } from '../../src/steps/types.js'

export const CODE_SERVER_PACKAGE = 'code-server'

export const isLoopback = (address: string) => address === '::1' || address.startsWith('127.')
const names = (cfg: Config) => developers(cfg).map((d) => d.name)

/** The .deb's URL for this machine (the version fills {version}; the default source names one). */
export function debSource(cfg: Config, arch: string): { url: string; dest: string; sha256: string | null } {
  const s = cfg.sources.codeServer
  const url = downloadUrl('codeServer', s.url, arch, s.version, null)
  return { url, dest: `code-server-${arch}-${s.version ?? 'latest'}.deb`, sha256: forArch(s.sha256, arch) }
}

/** This developer's port, as the allocation of all developers gives it; none left is an error. */
const portOf = (cfg: Config, user: string) => async (sys: System) => {
  const a = await allocatePorts(sys, names(cfg), parseRange(cfg.codeServer.ports))
  const port = a.ports.get(user)
  if (port === undefined)
    throw new ProvisionError(
      `Unable to give ${user} a code-server port: no free port in codeServer.ports ${cfg.codeServer.ports} (taken: ${a.taken.join(', ')})`,
      EXIT.provisioning,
      'Widen codeServer.ports, or stop what listens in the range, then run again',
    )
  return port
}

export function codeServerSteps({ cfg, facts }: PhaseInput): Step[] {
  const cs = cfg.codeServer
  if (!cs.enabled) return []
  const deb = debSource(cfg, facts.architecture)
  const tls = cs.certificate !== null && cs.key !== null
  return [
    ...inBackground([
      download({ id: 'code-server-download', url: deb.url, dest: deb.dest, sha256: deb.sha256 }),
    ]),
    debInstall({ id: 'code-server-install', path: downloadPath(deb.dest), packageName: CODE_SERVER_PACKAGE }),
    // Made for each developer: what `user remove` undoes for them.
    ...names(cfg).flatMap((user) => ownedBy(user, developerSteps(cfg, facts, user, tls))),
  ]
}

type Home = { home: string; uid: number; gid: number }

/** A step built from the developer's passwd entry at run time (their home, uid and gid). */
const asUser =
  (user: string, build: (u: Home, sys: System) => Step | Promise<Step>) =>
  async (sys: System): Promise<Step | { waitingFor: string }> => {
    const u = await passwdEntry(sys, user)
    return u ? build(u, sys) : { waitingFor: `user ${user} does not exist yet` }
  }

const homeDir = (user: string, rel: string, mode: number): Step =>
  lazy(
    `code-server.dir.${user}.${rel.replace(/^\./, '')}`,
    `Directory ~${user}/${rel}`,
    asUser(user, (u) => directory({ path: `${u.home}/${rel}`, mode, uid: u.uid, gid: u.gid })),
  )

/** code-server runs as the developer: it reads the pair from their config directory, not root's. */
const tlsCopy = (user: string, from: string, rel: string, what: string): Step =>
  lazy(
    `code-server.tls.${user}.${rel.split('/').at(-1)}`,
    `${what} for ${user}'s code-server`,
    asUser(user, async (u, sys) => {
      const data = await sys.readFile(from)
      if (data === null)
        throw new ProvisionError(
          `Unable to copy ${from} for ${user}'s code-server: it does not exist`,
          EXIT.provisioning,
        )
      const content = data.toString('utf8')
      return file({ path: `${u.home}/${rel}`, content, mode: 0o600, uid: u.uid, gid: u.gid, sensitive: true })
    }),
  )

function developerSteps(cfg: Config, facts: Facts, user: string, tls: boolean): Step[] {
  const cs = cfg.codeServer
  const unit = unitFor(user)
  return [
    homeDir(user, '.config', 0o755),
    homeDir(user, CONFIG_DIR, 0o700),
    ...(tls
      ? [
          tlsCopy(user, cs.certificate as string, TLS_CERT, 'The certificate'),
          tlsCopy(user, cs.key as string, TLS_KEY, 'The key'),
        ]
      : []),
    codeServerConfig({
      user,
      address: cs.bindAddress,
      tls,
      credentials: CREDENTIALS_FILE,
      port: portOf(cfg, user),
    }),
    lazy(
      `code-server.restart.${user}`,
      `Restart ${unit} when its configuration changed`,
      asUser(user, (u) =>
        restartOnChange({
          unit,
          how: 'restart',
          watch: [
            `${u.home}/${CONFIG_FILE}`,
            ...(tls ? [`${u.home}/${TLS_CERT}`, `${u.home}/${TLS_KEY}`] : []),
          ],
        }),
      ),
    ),
    ...(isLoopback(cs.bindAddress) || !cfg.firewall || facts.chroot
      ? []
      : [
          lazy(
            `code-server.firewall.${user}`,
            `Allow ${user}'s code-server through the firewall`,
            async (sys) => ufwAllow(await portOf(cfg, user)(sys), `${user}'s code-server`),
          ),
        ]),
    service(unit, { id: `code-server.service.${user}`, enabled: true, running: true }),
  ]
}
