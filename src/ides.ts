// The three IDEs: where each comes from (configurable; vendor URLs are the defaults), where it
// lands, and what installing it takes. VS Code and Antigravity come from their apt repositories
// (deb822 sources with a keyring of their own, exactly the layout their packages write
// themselves), Cursor from its .deb, Antigravity from an AppImage when so configured.
import type { Config, IdeId } from './config/schema.js'
import type { IdeLayout } from './facts/ide-install.js'
import type { IdeName } from './model/schemas.js'
import { aptSource } from './steps/apt-source.js'
import { debInstall } from './steps/deb-install.js'
import { debconf } from './steps/debconf.js'
import { directory } from './steps/directory.js'
import { download } from './steps/download.js'
import { file } from './steps/file.js'
import { inBackground } from './steps/lazy.js'
import { packages } from './steps/packages.js'
import type { Step } from './steps/types.js'
import { template } from './templates.js'

export { ideWorks, verifyIde } from './facts/ide-install.js'

export interface IdeSpec extends IdeLayout {
  id: IdeId
  /** Directory in the user's home holding argv.json. */
  argvDir: string
  /** What installing it takes; built on demand (an AppImage without a URL cannot be planned). */
  install(): IdeInstall
}

export interface IdeInstall {
  /** The apt source it comes from, in place before the phase's one `apt-get update`. */
  aptSource: Step[]
  /** Its packages in the phase's one apt transaction. */
  aptPackages: string[]
  /** Fetches into the cache that need nothing else: the runner overlaps them with apt. */
  downloads: Step[]
  /** What turns the downloads into an installed IDE. */
  setup: Step[]
}

export const APPIMAGE_DIR = '/opt/vps-provision/antigravity'
export const VSCODE_KEYRING = '/usr/share/keyrings/microsoft.gpg'
export const VSCODE_SOURCES = '/etc/apt/sources.list.d/vscode.sources'
export const ANTIGRAVITY_KEYRING = '/etc/apt/keyrings/antigravity-repo-key.gpg'
export const ANTIGRAVITY_SOURCES = '/etc/apt/sources.list.d/antigravity.sources'
const APPIMAGE = `${APPIMAGE_DIR}/Antigravity.AppImage`
const NOTHING: IdeInstall = { aptSource: [], aptPackages: [], downloads: [], setup: [] }

export function ideSpec(id: IdeId, cfg: Config): IdeSpec {
  switch (id) {
    case 'vscode':
      return { ...packaged(id, 'VSCODE', 'code', 'APT_REPOSITORY'), install: () => vscode(cfg) }
    case 'cursor':
      return { ...packaged(id, 'CURSOR', 'cursor', 'DEB_PACKAGE'), install: () => cursor(cfg) }
    case 'antigravity':
      return cfg.sources.antigravity.method === 'apt'
        ? { ...packaged(id, 'ANTIGRAVITY', 'antigravity', 'APT_REPOSITORY'), install: () => antigravity(cfg) }
        : {
            ...packaged(id, 'ANTIGRAVITY', 'antigravity', 'APPIMAGE'),
            executable: '/usr/local/bin/antigravity',
            installPath: APPIMAGE_DIR,
            packageName: null,
            install: () => antigravityAppImage(cfg),
          }
  }
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

function vscode(cfg: Config): IdeInstall {
  const s = cfg.sources.vscode
  return {
    ...NOTHING,
    aptSource: [
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
        architectures: ['amd64', 'arm64', 'armhf'],
      }),
    ],
    aptPackages: ['code'],
  }
}

function cursor(cfg: Config): IdeInstall {
  const s = cfg.sources.cursor
  return {
    ...NOTHING,
    downloads: inBackground([
      download({ id: 'cursor-download', url: s.url, dest: 'cursor.deb', sha256: s.sha256 }),
    ]),
    setup: [
      debInstall({
        id: 'cursor-install',
        path: '/var/cache/vps-provision/downloads/cursor.deb',
        packageName: 'cursor',
      }),
    ],
  }
}

function antigravity(cfg: Config): IdeInstall {
  const s = cfg.sources.antigravity.apt
  return {
    ...NOTHING,
    aptSource: [
      directory({ id: 'apt-keyrings-dir', path: '/etc/apt/keyrings', mode: 0o755 }),
      aptSource({
        id: 'antigravity-source',
        name: 'antigravity',
        ...repository(s),
        keyringPath: ANTIGRAVITY_KEYRING,
        sourcePath: ANTIGRAVITY_SOURCES,
      }),
    ],
    aptPackages: ['antigravity'],
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
    throw new Error('Unable to plan the Antigravity AppImage: sources.antigravity.appimageUrl is not set')
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
        path: '/usr/local/bin/antigravity',
        content: template('antigravity-launcher', { appimage: APPIMAGE }),
        mode: 0o755,
      }),
      file({
        id: 'antigravity-desktop',
        path: '/usr/share/applications/antigravity.desktop',
        content: template('antigravity.desktop'),
        mode: 0o644,
      }),
    ],
  }
}
