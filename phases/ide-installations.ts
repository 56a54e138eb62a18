// ide-installations: VS Code and Antigravity from their apt repositories (deb822 sources with a
// keyring of their own, exactly the layout their packages write themselves), Cursor from its .deb,
// Antigravity from an AppImage when so configured. All apt work is one update and one transaction.
import type { Config } from '../src/config/schema.js'
import { APPIMAGE_DIR, ideSpec } from '../src/ides.js'
import { homeFiles } from '../src/steps/home-files.js'
import {
  aptSource,
  aptUpdate,
  debconf,
  debInstall,
  directory,
  download,
  file,
  packages,
} from '../src/steps/index.js'
import { allOf, concurrently } from '../src/steps/lazy.js'
import { definePhase } from '../src/steps/phase.js'
import type { Step } from '../src/steps/types.js'
import { template } from '../src/templates.js'

export const VSCODE_KEYRING = '/usr/share/keyrings/microsoft.gpg'
export const VSCODE_SOURCES = '/etc/apt/sources.list.d/vscode.sources'
export const ANTIGRAVITY_KEYRING = '/etc/apt/keyrings/antigravity-repo-key.gpg'
export const ANTIGRAVITY_SOURCES = '/etc/apt/sources.list.d/antigravity.sources'
const APPIMAGE = `${APPIMAGE_DIR}/Antigravity.AppImage`

export const ideInstallations = definePhase({
  name: 'ide-installations',
  title: 'IDEs',
  weight: 4,
  steps: ({ cfg }) => {
    if (cfg.ides.length === 0) return []
    const want = new Set(cfg.ides)
    const viaApt = cfg.ides.filter((id) => ideSpec(id, cfg).method === 'APT_REPOSITORY')
    const aptWork = [
      ...(want.has('vscode') ? vscodeSource(cfg) : []),
      ...(want.has('antigravity') && cfg.sources.antigravity.method === 'apt' ? antigravitySource(cfg) : []),
      ...(viaApt.length > 0 ? [aptUpdate({ id: 'apt-update' })] : []),
      ...(viaApt.length > 0
        ? [
            packages(
              viaApt.map((id) => ideSpec(id, cfg).packageName as string),
              { id: 'packages' },
            ),
          ]
        : []),
    ]
    const appImage = want.has('antigravity') && cfg.sources.antigravity.method === 'appimage'
    const downloads = [
      ...(want.has('cursor') ? [cursorDownload(cfg)] : []),
      ...(appImage ? antigravityDownload(cfg) : []),
    ]
    return [
      // The downloads run while apt works: on a fresh VPS both take minutes.
      ...(aptWork.length > 0 && downloads.length > 0
        ? [
            concurrently('fetch', 'IDE apt repositories and packages, and downloads, at the same time', [
              allOf('apt', 'IDE apt repositories and packages', aptWork),
              allOf('downloads', 'IDE downloads', downloads),
            ]),
          ]
        : [...aptWork, ...downloads]),
      ...(want.has('cursor') ? [cursorInstall()] : []),
      ...(appImage ? antigravityAppImage() : []),
      ...homeFiles(
        'argv',
        cfg.username,
        cfg.ides.map((id) => ({
          path: `${ideSpec(id, cfg).argvDir}/argv.json`,
          content: template('argv.json'),
          mode: 0o644,
          // The editors add their own keys (a crash-reporter id) at the first start: a seed.
          seed: true,
        })),
      ),
    ]
  },
})

function vscodeSource(cfg: Config): Step[] {
  const s = cfg.sources.vscode
  return [
    // The code package would otherwise (re)write vscode.sources itself on install and upgrade.
    debconf({
      id: 'vscode-debconf',
      package: 'code',
      selections: [['code/add-microsoft-repo', 'boolean', 'false']],
    }),
    aptSource({
      id: 'vscode-source',
      name: 'vscode',
      uri: s.uri,
      suite: s.suite,
      components: s.components,
      keyUrl: s.key,
      keyringPath: VSCODE_KEYRING,
      sourcePath: VSCODE_SOURCES,
      architectures: ['amd64', 'arm64', 'armhf'],
    }),
  ]
}

function antigravitySource(cfg: Config): Step[] {
  const s = cfg.sources.antigravity.apt
  return [
    directory({ id: 'apt-keyrings-dir', path: '/etc/apt/keyrings', mode: 0o755 }),
    aptSource({
      id: 'antigravity-source',
      name: 'antigravity',
      uri: s.uri,
      suite: s.suite,
      components: s.components,
      keyUrl: s.key,
      keyringPath: ANTIGRAVITY_KEYRING,
      sourcePath: ANTIGRAVITY_SOURCES,
    }),
  ]
}

function cursorDownload(cfg: Config): Step {
  const s = cfg.sources.cursor
  return download({ id: 'cursor-download', url: s.url, dest: 'cursor.deb', sha256: s.sha256 })
}

function cursorInstall(): Step {
  return debInstall({
    id: 'cursor-install',
    path: '/var/cache/vps-provision/downloads/cursor.deb',
    packageName: 'cursor',
  })
}

function antigravityDownload(cfg: Config): Step[] {
  const s = cfg.sources.antigravity
  if (!s.appimageUrl) {
    throw new Error('Unable to plan the Antigravity AppImage: sources.antigravity.appimageUrl is not set')
  }
  return [
    directory({ id: 'appimage-dir', path: APPIMAGE_DIR, mode: 0o755 }),
    download({
      id: 'antigravity-download',
      url: s.appimageUrl,
      dest: APPIMAGE,
      sha256: s.sha256,
      mode: 0o755,
    }),
  ]
}

/** What the AppImage needs besides the file itself: FUSE 2, a launcher with --no-sandbox, a menu entry. */
function antigravityAppImage(): Step[] {
  return [
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
  ]
}
