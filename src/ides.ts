// The three IDEs: where each comes from (configurable; the vendors' own sources are the defaults,
// docs/ides.md says where each is documented), where it lands, and what installing it takes. Each
// IDE is a part of its phase (Step.part): its source, update, install and checks fail alone, and
// what it changed is undone while the others go on.
//   VS Code      its signed apt repository (deb822 .sources, keyring where its package expects it)
//   Cursor       its .deb, per architecture; or its apt repository (method: apt)
//   Antigravity  the Antigravity IDE tarball, unpacked under /opt; or the older apt repository, or
//                an AppImage
import type { Architecture, Config, IdeId } from './config/schema.js'
import type { IdeLayout } from './facts/ide-install.js'
import { EXIT, ProvisionError } from './model/errors.js'
import type { IdeName } from './model/schemas.js'
import { aptSource } from './steps/apt-source.js'
import { sourceUpdate } from './steps/apt-update.js'
import { debInstall } from './steps/deb-install.js'
import { debconf } from './steps/debconf.js'
import { directory } from './steps/directory.js'
import { download, downloadPath } from './steps/download.js'
import { file } from './steps/file.js'
import { inBackground } from './steps/lazy.js'
import { packages } from './steps/packages.js'
import { pinnedPackage } from './steps/pinned-package.js'
import { tarball } from './steps/tarball.js'
import type { Step } from './steps/types.js'
import { template } from './templates.js'

export { ideWorks, verifyIde } from './facts/ide-install.js'

export interface IdeSpec extends IdeLayout {
  id: IdeId
  /** Directory in the user's home holding argv.json. */
  argvDir: string
  /** What installing it takes, every step marked as this IDE's part. Throws on a config it cannot use. */
  install(): IdeInstall
}

export interface IdeInstall {
  /** Source, update and install from apt, in order: the phase's foreground, first. */
  apt: Step[]
  /** Fetches into the cache that need nothing else: the runner overlaps them with apt. */
  downloads: Step[]
  /** What turns the downloads into an installed IDE. */
  setup: Step[]
}

/** A URL the run will fetch from, which preflight probes before any change. */
export interface IdeSource {
  ide: IdeId
  what: string
  url: string
}

export const APPIMAGE_DIR = '/opt/vps-provision/antigravity'
export const TARBALL_DIR = '/opt/antigravity'
export const VSCODE_KEYRING = '/usr/share/keyrings/microsoft.gpg'
export const VSCODE_SOURCES = '/etc/apt/sources.list.d/vscode.sources'
/** The paths Cursor's own package writes: ours and its would otherwise be two Signed-By values. */
export const CURSOR_KEYRING = '/usr/share/keyrings/anysphere.gpg'
export const CURSOR_SOURCES = '/etc/apt/sources.list.d/cursor.sources'
export const ANTIGRAVITY_KEYRING = '/etc/apt/keyrings/antigravity-repo-key.gpg'
export const ANTIGRAVITY_SOURCES = '/etc/apt/sources.list.d/antigravity.sources'
const APPIMAGE = `${APPIMAGE_DIR}/Antigravity.AppImage`
const LAUNCHER = '/usr/local/bin/antigravity'
const NOTHING: IdeInstall = { apt: [], downloads: [], setup: [] }

/** The command that installs one IDE again, alone (the summary's retry line). */
export const retryIde = (id: string): string => `vps-provision run --only ide-installations --ides ${id}`

export function ideSpec(id: IdeId, cfg: Config, arch: string): IdeSpec {
  const part = (install: () => IdeInstall) => () => markPart(id, install())
  switch (id) {
    case 'vscode':
      return { ...packaged(id, 'VSCODE', 'code', 'APT_REPOSITORY'), install: part(() => vscode(cfg, arch)) }
    case 'cursor':
      return cfg.sources.cursor.method === 'apt'
        ? { ...packaged(id, 'CURSOR', 'cursor', 'APT_REPOSITORY'), install: part(() => cursorApt(cfg, arch)) }
        : { ...packaged(id, 'CURSOR', 'cursor', 'DEB_PACKAGE'), install: part(() => cursorDeb(cfg, arch)) }
    case 'antigravity':
      switch (cfg.sources.antigravity.method) {
        case 'apt':
          return {
            ...packaged(id, 'ANTIGRAVITY', 'antigravity', 'APT_REPOSITORY'),
            install: part(() => antigravityApt(cfg)),
          }
        case 'tarball':
          return {
            ...packaged(id, 'ANTIGRAVITY', 'antigravity', 'TARBALL'),
            executable: LAUNCHER,
            installPath: TARBALL_DIR,
            elf: `${TARBALL_DIR}/${cfg.sources.antigravity.tarball.binary}`,
            packageName: null,
            install: part(() => antigravityTarball(cfg, arch)),
          }
        case 'appimage':
          return {
            ...packaged(id, 'ANTIGRAVITY', 'antigravity', 'APPIMAGE'),
            executable: LAUNCHER,
            installPath: APPIMAGE_DIR,
            packageName: null,
            install: part(() => antigravityAppImage(cfg)),
          }
      }
  }
}

function markPart(id: IdeId, install: IdeInstall): IdeInstall {
  const mark = (steps: Step[]) => steps.map((s) => ({ ...s, part: id }))
  return { apt: mark(install.apt), downloads: mark(install.downloads), setup: mark(install.setup) }
}

/** The layout a Debian package of the IDE's command gives it. */
function packaged(id: IdeId, name: IdeName, command: string, method: IdeLayout['method']) {
  return {
    id,
    name,
    command,
    method,
    executable: `/usr/bin/${command}`,
    installPath: `/usr/share/${command}`,
    launcher: `/usr/share/applications/${command}.desktop`,
    packageName: command,
    argvDir: `.${id}`,
  }
}

function vscode(cfg: Config, arch: string): IdeInstall {
  const s = cfg.sources.vscode
  return {
    ...NOTHING,
    apt: [
      // The code package would otherwise (re)write vscode.sources itself on install and upgrade.
      debconf({
        id: 'vscode-debconf',
        package: 'code',
        selections: [['code/add-microsoft-repo', 'boolean', 'false']],
      }),
      aptSource({
        id: 'vscode-source',
        name: 'vscode',
        ...repository(s),
        keyringPath: VSCODE_KEYRING,
        sourcePath: VSCODE_SOURCES,
        architectures: [arch],
      }),
      sourceUpdate({ id: 'vscode-update', name: 'vscode', sourcePath: VSCODE_SOURCES }),
      pinnedPackage({ id: 'vscode-package', name: 'code', version: s.version }),
    ],
  }
}

/** Cursor's own .deb for this machine's architecture; its package is asked not to add a source. */
function cursorDeb(cfg: Config, arch: string): IdeInstall {
  const s = cfg.sources.cursor
  const url = downloadUrl('cursor', s.url, arch, s.version, LATEST.cursor ?? null)
  const dest = `cursor-${arch}-${s.version ?? 'latest'}.deb`
  return {
    apt: [cursorDebconf()],
    downloads: inBackground([
      download({ id: 'cursor-download', url, dest, sha256: forArch(s.sha256, arch) }),
    ]),
    setup: [debInstall({ id: 'cursor-install', path: downloadPath(dest), packageName: 'cursor' })],
  }
}

function cursorApt(cfg: Config, arch: string): IdeInstall {
  const s = cfg.sources.cursor
  return {
    ...NOTHING,
    apt: [
      cursorDebconf(),
      aptSource({
        id: 'cursor-source',
        name: 'cursor',
        ...repository(s.apt),
        keyringPath: CURSOR_KEYRING,
        sourcePath: CURSOR_SOURCES,
        architectures: [arch],
      }),
      sourceUpdate({ id: 'cursor-update', name: 'cursor', sourcePath: CURSOR_SOURCES }),
      pinnedPackage({ id: 'cursor-package', name: 'cursor', version: s.version }),
    ],
  }
}

/** Like VS Code's, Cursor's package adds its apt source unless debconf says no: we own sources. */
const cursorDebconf = () =>
  debconf({
    id: 'cursor-debconf',
    package: 'cursor',
    selections: [['cursor/add-cursor-repo', 'boolean', 'false']],
  })

function antigravityApt(cfg: Config): IdeInstall {
  const s = cfg.sources.antigravity
  return {
    ...NOTHING,
    apt: [
      directory({ id: 'antigravity-keyrings-dir', path: '/etc/apt/keyrings', mode: 0o755 }),
      aptSource({
        id: 'antigravity-source',
        name: 'antigravity',
        ...repository(s.apt),
        keyringPath: ANTIGRAVITY_KEYRING,
        sourcePath: ANTIGRAVITY_SOURCES,
      }),
      sourceUpdate({ id: 'antigravity-update', name: 'antigravity', sourcePath: ANTIGRAVITY_SOURCES }),
      pinnedPackage({ id: 'antigravity-package', name: 'antigravity', version: s.version }),
    ],
  }
}

/** The Antigravity IDE's tarball for this architecture, under /opt, with a launcher and a menu entry. */
function antigravityTarball(cfg: Config, arch: string): IdeInstall {
  const s = cfg.sources.antigravity
  const url = downloadUrl('antigravity', s.tarball.url, arch, s.version, null)
  const dest = `antigravity-${arch}-${s.version ?? 'latest'}.tar.gz`
  const binary = `${TARBALL_DIR}/${s.tarball.binary}`
  return {
    ...NOTHING,
    downloads: inBackground([
      download({ id: 'antigravity-download', url, dest, sha256: forArch(s.tarball.sha256, arch) }),
    ]),
    setup: [
      tarball({
        id: 'antigravity-unpack',
        archive: downloadPath(dest),
        dir: TARBALL_DIR,
        binary: s.tarball.binary,
        identity: `${url} ${s.version ?? 'latest'}`,
      }),
      file({
        id: 'antigravity-launcher',
        path: LAUNCHER,
        content: template('antigravity-tarball-launcher', { binary }),
        mode: 0o755,
      }),
      ...desktopEntry(),
    ],
  }
}

/** The config's `{ uri, suite, components, key }` as aptSource() takes them. */
function repository(s: { uri: string; suite: string; components: string[]; key: string }) {
  return { uri: s.uri, suite: s.suite, components: s.components, keyUrl: s.key }
}

/** The AppImage, and what it needs besides: FUSE 2, a launcher with --no-sandbox, a menu entry. */
function antigravityAppImage(cfg: Config): IdeInstall {
  const s = cfg.sources.antigravity
  if (!s.appimageUrl) {
    throw new ProvisionError(
      'Unable to plan the Antigravity AppImage: sources.antigravity.appimageUrl is not set',
      EXIT.usage,
      'Set sources.antigravity.appimageUrl, or use method: tarball',
    )
  }
  const url = s.appimageUrl
  return {
    ...NOTHING,
    downloads: inBackground([
      directory({ id: 'appimage-dir', path: APPIMAGE_DIR, mode: 0o755 }),
      download({ id: 'antigravity-download', url, dest: APPIMAGE, sha256: s.sha256, mode: 0o755 }),
    ]),
    setup: [
      packages(['libfuse2t64'], { id: 'fuse' }),
      file({
        id: 'antigravity-launcher',
        path: LAUNCHER,
        content: template('antigravity-launcher', { appimage: APPIMAGE }),
        mode: 0o755,
      }),
      ...desktopEntry(),
    ],
  }
}

/** The menu entry; its directory may not be there yet on a machine without a desktop. */
const desktopEntry = (): Step[] => [
  directory({ id: 'applications-dir', path: '/usr/share/applications', mode: 0o755 }),
  file({
    id: 'antigravity-desktop',
    path: '/usr/share/applications/antigravity.desktop',
    content: template('antigravity.desktop'),
    mode: 0o644,
  }),
]

type ArchValue<T> = T | { amd64: T; arm64: T }

/** This architecture's value of a per-architecture setting (url, sha256), or the one for all. */
export const forArch = <T>(value: ArchValue<T>, arch: string): T | null =>
  typeof value === 'object' && value !== null && 'amd64' in value
    ? ((value as Record<string, T>)[arch] ?? null)
    : (value as T)

/**
 * This architecture's URL with {version} filled in: the pinned version, else `latest` where the
 * vendor has such a URL (Cursor) and an error where it has none (the Antigravity tarballs).
 */
export function downloadUrl(
  id: IdeId | 'codeServer',
  urls: ArchValue<string | null>,
  arch: string,
  version: string | null,
  latest: string | null,
): string {
  const url = forArch(urls, arch)
  if (!url) throw noBuild(id, arch)
  const word = version ?? latest
  if (url.includes('{version}') && word === null)
    throw new ProvisionError(
      `Unable to plan ${id}: its download URL names a version and sources.${id}.version is null`,
      EXIT.usage,
      `Set sources.${id}.version (docs/ides.md says where the vendor lists them)`,
    )
  return url.replaceAll('{version}', word ?? '')
}

function noBuild(id: IdeId | 'codeServer', arch: string): ProvisionError {
  return new ProvisionError(
    `Unable to install ${id} on ${arch}: its source has no ${arch} build`,
    EXIT.preflight,
    `Leave ${id} out (--ides without it), or set sources.${id} to a source that has one`,
  )
}

interface Repo {
  uri: string
  suite: string
  key: string
}

/** What an IDE is fetched from under its configured method: one per architecture for downloads. */
function fetchedFrom(id: IdeId, cfg: Config): { repo: Repo } | { urls: ArchValue<string | null> } {
  const { vscode, cursor, antigravity } = cfg.sources
  if (id === 'vscode') return { repo: vscode }
  if (id === 'cursor') return cursor.method === 'apt' ? { repo: cursor.apt } : { urls: cursor.url }
  if (antigravity.method === 'apt') return { repo: antigravity.apt }
  return { urls: antigravity.method === 'tarball' ? antigravity.tarball.url : antigravity.appimageUrl }
}

const KNOWN_ARCHES: readonly string[] = ['amd64', 'arm64'] satisfies Architecture[]

/** The IDEs of the run whose configured source has no build for this architecture. */
export function withoutBuildFor(cfg: Config, arch: string): string[] {
  if (!KNOWN_ARCHES.includes(arch)) return [...cfg.ides]
  return cfg.ides.filter((id) => {
    const from = fetchedFrom(id, cfg)
    // An AppImage without a URL is a configuration error of its own, not a missing build.
    return 'urls' in from && from.urls !== null && forArch(from.urls, arch) === null
  })
}

/** Every URL the run will fetch for its IDEs: what preflight probes (sources.<ide>.probe: false skips one). */
export function ideSources(cfg: Config, arch: string): IdeSource[] {
  if (cfg.skipProbe) return []
  return cfg.ides.flatMap((ide): IdeSource[] => {
    const s = cfg.sources[ide]
    if (!s.probe) return []
    const from = fetchedFrom(ide, cfg)
    if ('repo' in from) {
      const release = `${from.repo.uri.replace(/\/+$/, '')}/dists/${from.repo.suite}/InRelease`
      return [
        { ide, what: 'apt repository', url: release },
        { ide, what: 'signing key', url: from.repo.key },
      ]
    }
    const url = from.urls === null ? null : forArch(from.urls, arch)
    // No build for this architecture: preflight's arch check names it.
    if (!url) return []
    return [{ ide, what: 'download', url: url.replaceAll('{version}', s.version ?? LATEST[ide] ?? '') }]
  })
}

/** The word a vendor's download URL takes for its newest release, where it has one. */
const LATEST: Partial<Record<IdeId, string>> = { cursor: 'latest' }
