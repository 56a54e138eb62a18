// Does an installed IDE work: the data model's verification checks (the executable, a valid
// launcher, `--version` as the developer user, no missing libraries), read from the machine.
import type { IDEInstallation, IdeName } from '../model/schemas.js'
import type { System } from '../system/port.js'
import type { AssertResult } from './verdict.js'

/** Where an IDE lives once installed. */
export interface IdeLayout {
  name: IdeName
  command: string
  executable: string
  installPath: string
  launcher: string
  method: IDEInstallation['installation_method']
  /** The package whose version we report (dpkg), or null for an AppImage or a tarball. */
  packageName: string | null
  /** The editor's ELF, for ldd; default <installPath>/<command>. */
  elf?: string
}

export async function verifyIde(sys: System, ide: IdeLayout, username: string): Promise<IDEInstallation> {
  const errors: string[] = []
  if (!(await sys.stat(ide.executable))) errors.push(`${ide.executable} does not exist`)
  const launcher = await sys.exec(['desktop-file-validate', ide.launcher], { allowFailure: true })
  if (launcher.exitCode !== 0 || /error:/i.test(launcher.stdout)) {
    errors.push(
      `launcher ${ide.launcher} is not valid: ${(launcher.stdout || launcher.stderr).trim().slice(0, 200)}`,
    )
  }
  const version = await sys.exec(['runuser', '-u', username, '--', ide.command, '--version'], {
    allowFailure: true,
    timeoutMs: 60_000,
  })
  if (version.exitCode !== 0)
    errors.push(`${ide.command} --version failed as ${username}: ${version.stderr.trim().slice(0, 200)}`)
  errors.push(...(await missingLibraries(sys, ide)))
  return {
    ide_name: ide.name,
    version: version.stdout.split('\n')[0]?.trim() || (await packageVersion(sys, ide)) || 'unknown',
    installation_method: ide.method,
    installation_path: ide.installPath,
    executable_path: ide.executable,
    desktop_launcher_path: ide.launcher,
    command_name: ide.command,
    installed_at: new Date().toISOString(),
    verified: errors.length === 0,
    verification_errors: errors,
  }
}

export async function ideWorks(
  sys: System,
  ide: IdeLayout,
  username: string,
  hint: string,
): Promise<AssertResult> {
  const found = await verifyIde(sys, ide, username)
  return {
    ok: found.verified,
    detail: found.verified ? `${found.command_name} ${found.version}` : found.verification_errors.join('; '),
    hint,
  }
}

/** ldd of the ELF behind the launcher script: <installPath>/<command> when the package has one. */
async function missingLibraries(sys: System, ide: IdeLayout): Promise<string[]> {
  const binary = ide.elf ?? `${ide.installPath}/${ide.command}`
  const head = (await sys.readFile(binary))?.subarray(0, 4)
  if (head?.toString('latin1') !== '\x7fELF') return []
  const ldd = await sys.exec(['ldd', binary], { allowFailure: true })
  const missing = ldd.stdout.split('\n').filter((l) => l.includes('not found'))
  return missing.length > 0
    ? [`missing libraries: ${missing.map((l) => l.trim().split(' ')[0]).join(', ')}`]
    : []
}

async function packageVersion(sys: System, ide: IdeLayout): Promise<string | null> {
  if (!ide.packageName) return null
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format, expanded by dpkg-query
  const r = await sys.exec(['dpkg-query', '-W', '-f=${Version}', '--', ide.packageName], {
    allowFailure: true,
  })
  return r.exitCode === 0 ? r.stdout.trim() : null
}
