// The three IDEs: where each comes from (configurable; vendor URLs are the defaults), what it
// installs, and how we prove it works. Electron refuses to run as root without --no-sandbox, so
// every check runs as the developer user.
import type { Config, IdeId } from './config/schema.js'
import type { IDEInstallation, IdeName } from './model/schemas.js'
import type { System } from './system/port.js'

export interface IdeSpec {
  id: IdeId
  name: IdeName
  command: string
  executable: string
  installPath: string
  launcher: string
  method: IDEInstallation['installation_method']
  /** The package whose version we report (dpkg), or null for an AppImage. */
  packageName: string | null
  /** Directory in the user's home holding argv.json. */
  argvDir: string
}

export const APPIMAGE_DIR = '/opt/vps-provision/antigravity'

export function ideSpec(id: IdeId, cfg: Config): IdeSpec {
  switch (id) {
    case 'vscode':
      return {
        id,
        name: 'VSCODE',
        command: 'code',
        executable: '/usr/bin/code',
        installPath: '/usr/share/code',
        launcher: '/usr/share/applications/code.desktop',
        method: 'APT_REPOSITORY',
        packageName: 'code',
        argvDir: '.vscode',
      }
    case 'cursor':
      return {
        id,
        name: 'CURSOR',
        command: 'cursor',
        executable: '/usr/bin/cursor',
        installPath: '/usr/share/cursor',
        launcher: '/usr/share/applications/cursor.desktop',
        method: 'DEB_PACKAGE',
        packageName: 'cursor',
        argvDir: '.cursor',
      }
    case 'antigravity':
      return cfg.sources.antigravity.method === 'apt'
        ? {
            id,
            name: 'ANTIGRAVITY',
            command: 'antigravity',
            executable: '/usr/bin/antigravity',
            installPath: '/usr/share/antigravity',
            launcher: '/usr/share/applications/antigravity.desktop',
            method: 'APT_REPOSITORY',
            packageName: 'antigravity',
            argvDir: '.antigravity',
          }
        : {
            id,
            name: 'ANTIGRAVITY',
            command: 'antigravity',
            executable: '/usr/local/bin/antigravity',
            installPath: APPIMAGE_DIR,
            launcher: '/usr/share/applications/antigravity.desktop',
            method: 'APPIMAGE',
            packageName: null,
            argvDir: '.antigravity',
          }
  }
}

/** The data model's verification checks: executable, valid launcher, `--version` as the user, ldd. */
export async function verifyIde(sys: System, spec: IdeSpec, username: string): Promise<IDEInstallation> {
  const errors: string[] = []
  const exe = await sys.stat(spec.executable)
  if (!exe) errors.push(`${spec.executable} does not exist`)
  const launcher = await sys.exec(['desktop-file-validate', spec.launcher], { allowFailure: true })
  if (launcher.exitCode !== 0 || /error:/i.test(launcher.stdout)) {
    errors.push(
      `launcher ${spec.launcher} is not valid: ${(launcher.stdout || launcher.stderr).trim().slice(0, 200)}`,
    )
  }
  const version = await sys.exec(['runuser', '-u', username, '--', spec.command, '--version'], {
    allowFailure: true,
    timeoutMs: 60_000,
  })
  if (version.exitCode !== 0)
    errors.push(`${spec.command} --version failed as ${username}: ${version.stderr.trim().slice(0, 200)}`)
  const binary = await realBinary(sys, spec)
  if (binary) {
    const ldd = await sys.exec(['ldd', binary], { allowFailure: true })
    const missing = ldd.stdout.split('\n').filter((l) => l.includes('not found'))
    if (missing.length > 0)
      errors.push(`missing libraries: ${missing.map((l) => l.trim().split(' ')[0]).join(', ')}`)
  }
  return {
    ide_name: spec.name,
    version: version.stdout.split('\n')[0]?.trim() || (await packageVersion(sys, spec)) || 'unknown',
    installation_method: spec.method,
    installation_path: spec.installPath,
    executable_path: spec.executable,
    desktop_launcher_path: spec.launcher,
    command_name: spec.command,
    installed_at: new Date().toISOString(),
    verified: errors.length === 0,
    verification_errors: errors,
  }
}

/** The ELF behind the launcher script, for ldd: <installPath>/<command> when the package has one. */
async function realBinary(sys: System, spec: IdeSpec): Promise<string | null> {
  const candidate = `${spec.installPath}/${spec.command}`
  const head = (await sys.readFile(candidate))?.subarray(0, 4)
  return head && head.toString('latin1') === '\x7fELF' ? candidate : null
}

async function packageVersion(sys: System, spec: IdeSpec): Promise<string | null> {
  if (!spec.packageName) return null
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format, expanded by dpkg-query
  const r = await sys.exec(['dpkg-query', '-W', '-f=${Version}', '--', spec.packageName], {
    allowFailure: true,
  })
  return r.exitCode === 0 ? r.stdout.trim() : null
}
