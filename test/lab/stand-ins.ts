// The project's own stand-ins for the three IDEs: the real download hosts are unreachable from the
// lab, so tests install these instead. Everything is generated here, nothing is downloaded:
//
//   <outDir>/apt/                       signed apt repository (dists layout) with `code`, `antigravity`
//     dists/stable/{InRelease,Release,Release.gpg}   Release: `Architectures: amd64 arm64`
//     dists/stable/main/binary-{amd64,arm64}/{Packages,Packages.gz}
//     pool/main/{code,antigravity}_<version>_{amd64,arm64}.deb
//   <outDir>/cursor_0.50.0_{amd64,arm64}.deb   served as a plain download, like Cursor's own .deb
//   <outDir>/antigravity/stable/1.0.0-standin/linux-{x64,arm}/Antigravity.tar.gz
//                                       Antigravity's tarball download: Antigravity/antigravity (ELF),
//                                       bin/antigravity, resources/... (see buildTarball)
//   <outDir>/Antigravity.AppImage       shell-script stand-in of an AppImage (see appImageScript)
//   <outDir>/key.asc, key.gpg           the repository's public key, ASCII-armored and binary
//   <outDir>/apt-unsigned/              the same repository with Release but no InRelease/Release.gpg
//   <outDir>/apt-wrongkey/              the same repository signed by another throwaway key
//
// The signing key is a throwaway ed25519 key made in a temporary GNUPGHOME, with SHA-512 binding
// signatures and a SHA-512 InRelease signature: trixie's apt verifies with sqv (Sequoia), which
// rejects SHA-1 bindings ("SHA1 is not considered secure since 2023-02-01").
//
// Every package exists for amd64 and arm64 (StandIns.byArch); the top-level fields are the host's.
// Each stand-in editor is a real ELF executable, /usr/share/<pkg>/<pkg>. For the host's
// architecture it is a tiny C launcher compiled with the host's gcc (dynamically linked, so `ldd`
// lists libc.so.6) that runs the stand-in script resources/app/standin.sh from its own directory
// with /bin/sh. For the other architecture (no cross compiler here) it is a static three-instruction
// ELF written by exitStubElf() that only exits 0: right for `file`, `dpkg --add-architecture` and
// `apt-get install --simulate`, not for running. The script answers like the real command line:
//   `<cmd> --version` prints "<version>\nstandin\n<x64|arm64>" and exits 0 (for any user);
//   run as root without --no-sandbox it refuses like Electron apps do (exit 1, "super user");
//   --list-extensions / --install-extension ID / --uninstall-extension ID work on
//   ~/.vscode|.cursor|.antigravity/extensions (or --extensions-dir) without any network;
//   anything else prints a line instead of opening a window and exits 0.
//
// Maintainer scripts like the vendors' (maintainerScripts(), VENDOR_REPOS): every package's postinst
// makes /usr/bin/<cmd> a symlink to the CLI wrapper (it is not among the package's files), registers
// /usr/bin/editor at priority 0 (so on a system without another editor, `editor` is now the IDE) and
// runs update-desktop-database / update-mime-database when they are installed; prerm unregisters
// the alternative, postrm removes the symlink. All are `set -e` POSIX sh and exit 0.
//   code (microsoft/vscode resources/linux/debian/*.template, deb822 version): DEBIAN/templates
//     asks `code/add-microsoft-repo` (boolean, default true); there is no DEBIAN/config. Unless the
//     answer is false the postinst writes /etc/apt/sources.list.d/vscode.sources (URIs
//     https://packages.microsoft.com/repos/code, `Architectures:` the package's own, Signed-By
//     /usr/share/keyrings/microsoft.gpg; see vendorSourcesText), also when one exists already (it
//     refreshes it) or vscode.list exists (it migrates and deletes that), and writes the keyring
//     only where there is none. Non-interactively it never asks. Its postrm, on EVERY call (remove,
//     purge, upgrade) unless the answer is false, deletes vscode.sources and microsoft.gpg; on purge
//     it also forgets the debconf answers (db_purge).
//   cursor (no vendor source; third-party reports agree): the same logic with `cursor/add-cursor-repo`,
//     /etc/apt/sources.list.d/cursor.sources (URIs https://downloads.cursor.com/aptrepo,
//     Architectures amd64,arm64) and /usr/share/keyrings/anysphere.gpg. Whether its postrm removes
//     them is unknown: here it removes nothing (purge leaves both behind) and only db_purges.
//   antigravity: no apt source of its own.
// The keyring they install is the stand-in repository's key (key.gpg), so the packages differ
// between builds only by that key. NOT mimicked: the real code postinst gets the keyring by piping
// an embedded ASCII key through `gpg --dearmor` with no `set -e`; where gpg is missing (a minimal
// trixie has none) that leaves an EMPTY microsoft.gpg behind. The stand-ins decode base64 instead.

import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { access, chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { crc32, deflateSync, gzipSync } from 'node:zlib'
import { cleanEnv, hostHas, run } from './proc.js'
import { hostArch } from './trixie-root.js'

/** Fixed timestamps: the .debs, tarballs and the AppImage are byte-for-byte reproducible. */
const SOURCE_DATE_EPOCH = '1735689600' // 2025-01-01T00:00:00Z

export const REPO_SUITE = 'stable'
export const REPO_COMPONENT = 'main'
/** Broken copies of the repository next to `apt` (see writeBrokenRepos), relative to dir. */
export const BROKEN_REPOS = { unsigned: 'apt-unsigned', wrongKey: 'apt-wrongkey' } as const

interface Ide {
  pkg: 'code' | 'cursor' | 'antigravity'
  product: string
  upstream: string
  debVersion: string
  dataDir: string
  icon: string
  wmClass: string
  color: string
}

export const IDES: Readonly<Record<Ide['pkg'], Ide>> = {
  code: {
    pkg: 'code',
    product: 'Visual Studio Code',
    upstream: '1.99.0',
    debVersion: '1.99.0-stand-in',
    dataDir: '.vscode',
    icon: 'vscode',
    wmClass: 'Code',
    color: '#0065a9',
  },
  cursor: {
    pkg: 'cursor',
    product: 'Cursor',
    upstream: '0.50.0',
    debVersion: '0.50.0-stand-in',
    dataDir: '.cursor',
    icon: 'cursor',
    wmClass: 'Cursor',
    color: '#222222',
  },
  antigravity: {
    pkg: 'antigravity',
    product: 'Antigravity',
    upstream: '1.0.0',
    debVersion: '1.0.0-stand-in',
    dataDir: '.antigravity',
    icon: 'antigravity',
    wmClass: 'Antigravity',
    color: '#4285f4',
  },
}

/** The architectures every stand-in is built for; the host's must be one of them. */
export const DEB_ARCHES = ['amd64', 'arm64'] as const
export type DebArch = (typeof DEB_ARCHES)[number]

export interface StandInFiles {
  cursorDeb: string
  appImage: string
  keyAsc: string
  keyGpg: string
  codeDeb: string
  antigravityDeb: string
  inRelease: string
  /** Antigravity.tar.gz (see buildTarball). */
  tarball: string
}

/** The files that exist once per architecture. */
export interface ArchFiles {
  codeDeb: string
  antigravityDeb: string
  cursorDeb: string
  /** Antigravity.tar.gz, below antigravity/stable/<version>/linux-{x64,arm}/ (see buildTarball). */
  tarball: string
}

export interface ArchStandIns {
  arch: DebArch
  /** Electron's name for it, as in `--version` output and download URLs: x64, arm64. */
  electronArch: string
  /**
   * What /usr/share/<pkg>/<pkg> is. 'launcher' (the host's architecture): the gcc-built launcher
   * that runs the stand-in script. 'exit-stub' (any other): a static ELF of three instructions that
   * only exits 0; good for `file`, `dpkg --add-architecture` and `apt-get install --simulate`.
   */
  binary: 'launcher' | 'exit-stub'
  files: ArchFiles
  urlPaths: ArchFiles
  sha256: ArchFiles
}

export interface StandIns {
  /** outDir, canonical: serve it with serveDir(dir). */
  dir: string
  /** The host's architecture: the one `files` (and the other top-level fields) are for. */
  arch: DebArch
  /** Fingerprint of the repository signing key. */
  fingerprint: string
  /**
   * Repository below dir: URIs `<base>/apt`, Suites `stable`, Components `main`, with
   * binary-amd64 and binary-arm64 indices (Release: `Architectures: amd64 arm64`).
   */
  repo: { path: string; suite: string; components: string[]; architectures: DebArch[] }
  /** Absolute paths (host architecture). */
  files: StandInFiles
  /** The same files relative to dir, with '/' separators: the path part of their URLs. */
  urlPaths: StandInFiles
  /** Lower-case hex sha256 of each file. */
  sha256: StandInFiles
  /**
   * Broken copies of the repository, below dir like `repo.path` (same suite and components), for
   * apt's real errors: `unsigned` has Release but no InRelease or Release.gpg; `wrongKey` is signed
   * by another throwaway key (`fingerprint`), not the one in key.asc/key.gpg.
   */
  brokenRepos: { unsigned: { path: string }; wrongKey: { path: string; fingerprint: string } }
  /** The per-architecture files of every architecture in DEB_ARCHES (the host's included). */
  byArch: Record<DebArch, ArchStandIns>
  /** Debian versions of the three packages. */
  versions: Record<Ide['pkg'], string>
  /** What `<cmd> --version` prints (without the final newline), on the host. */
  versionOutput: Record<Ide['pkg'], string>
}

/** Host programs buildStandIns needs; empty when all are there. */
export async function standInToolsMissing(): Promise<string[]> {
  const need = ['dpkg-deb', 'gpg', 'gpgconf', 'apt-ftparchive', 'gcc']
  const missing: string[] = []
  for (const n of need) if (!(await hostHas(n))) missing.push(n)
  // gcc alone cannot link a program: the C library's headers and crt files are in libc6-dev.
  if (!(await exists('/usr/include/stdio.h'))) missing.push('libc6-dev')
  return missing
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file)
    return true
  } catch {
    return false
  }
}

export function versionOutput(ide: Ide, arch = 'x64'): string {
  return `${ide.upstream}\nstandin\n${arch}`
}

export function electronArch(debArch: string): string {
  return debArch === 'amd64' ? 'x64' : debArch
}

/** Builds every stand-in into `outDir` (created; must be empty or missing). */
export async function buildStandIns(outDir: string): Promise<StandIns> {
  const missing = await standInToolsMissing()
  if (missing.length > 0) throw new Error(`buildStandIns: missing host tools: ${missing.join(', ')}`)
  const host = await hostArch()
  if (!isDebArch(host))
    throw new Error(`buildStandIns: host architecture ${host} is not one of ${DEB_ARCHES}`)
  await mkdir(outDir, { recursive: true })
  if ((await readdir(outDir)).length > 0) throw new Error(`buildStandIns: ${outDir} is not empty`)
  const dir = path.resolve(outDir)
  const work = await mkdtemp(path.join(tmpdir(), 'lab-standins-'))
  const gnupgHome = await mkdtemp(path.join(tmpdir(), 'lab-gpg-'))
  const otherGnupgHome = await mkdtemp(path.join(tmpdir(), 'lab-gpg-'))
  try {
    const gpg = new Gpg(gnupgHome)
    const fingerprint = await gpg.generateKey()
    const keyAsc = path.join(dir, 'key.asc')
    const keyGpg = path.join(dir, 'key.gpg')
    await gpg.run(['--armor', '--output', keyAsc, '--export', fingerprint])
    await gpg.run(['--output', keyGpg, '--export', fingerprint])
    await chmod(keyAsc, 0o644)
    await chmod(keyGpg, 0o644)
    // The vendor keyring the code and cursor postinsts install: the stand-in repository's key.
    const key = await readFile(keyGpg)

    const pool = path.join(dir, 'apt', 'pool', REPO_COMPONENT)
    await mkdir(pool, { recursive: true })
    const launcher = await compileLauncher(path.join(work, 'launcher'))
    const byArch = {} as Record<DebArch, ArchStandIns>
    for (const arch of DEB_ARCHES) {
      const elf = arch === host ? launcher : exitStubElf(arch)
      const debName = (ide: Ide) => `${ide.pkg}_${ide.debVersion}_${arch}.deb`
      const files: ArchFiles = {
        codeDeb: path.join(pool, debName(IDES.code)),
        antigravityDeb: path.join(pool, debName(IDES.antigravity)),
        cursorDeb: path.join(dir, `cursor_${IDES.cursor.upstream}_${arch}.deb`),
        tarball: path.join(dir, ...TARBALL_DIR, TARBALL_PLATFORM[arch], 'Antigravity.tar.gz'),
      }
      const stage = (pkg: string) => path.join(work, `${pkg}-${arch}`)
      await buildDeb(IDES.code, arch, elf, key, stage('code'), files.codeDeb)
      await buildDeb(IDES.antigravity, arch, elf, key, stage('antigravity'), files.antigravityDeb)
      await buildDeb(IDES.cursor, arch, elf, key, stage('cursor'), files.cursorDeb)
      await buildTarball(IDES.antigravity, elf, stage('tarball'), files.tarball)
      byArch[arch] = {
        arch,
        electronArch: electronArch(arch),
        binary: arch === host ? 'launcher' : 'exit-stub',
        files,
        ...(await urlPathsAndHashes(dir, files)),
      }
    }

    const appImage = path.join(dir, 'Antigravity.AppImage')
    await writeFile(appImage, appImageScript(IDES.antigravity), { mode: 0o755 })
    await chmod(appImage, 0o755)

    const inRelease = await writeRepoIndices(path.join(dir, 'apt'), DEB_ARCHES, gpg, fingerprint)
    const { wrongKeyFingerprint } = await writeBrokenRepos(dir, new Gpg(otherGnupgHome))

    const { codeDeb, antigravityDeb, cursorDeb, tarball } = byArch[host].files
    const files: StandInFiles = {
      cursorDeb,
      appImage,
      keyAsc,
      keyGpg,
      codeDeb,
      antigravityDeb,
      inRelease,
      tarball,
    }
    const ea = electronArch(host)
    return {
      dir,
      arch: host,
      fingerprint,
      repo: { path: 'apt', suite: REPO_SUITE, components: [REPO_COMPONENT], architectures: [...DEB_ARCHES] },
      files,
      ...(await urlPathsAndHashes(dir, files)),
      brokenRepos: {
        unsigned: { path: BROKEN_REPOS.unsigned },
        wrongKey: { path: BROKEN_REPOS.wrongKey, fingerprint: wrongKeyFingerprint },
      },
      byArch,
      versions: {
        code: IDES.code.debVersion,
        cursor: IDES.cursor.debVersion,
        antigravity: IDES.antigravity.debVersion,
      },
      versionOutput: {
        code: versionOutput(IDES.code, ea),
        cursor: versionOutput(IDES.cursor, ea),
        antigravity: versionOutput(IDES.antigravity, ea),
      },
    }
  } finally {
    // gpg-agent was started by us for each GNUPGHOME: stop it before deleting the directory.
    for (const home of [gnupgHome, otherGnupgHome]) {
      await run(['gpgconf', '--kill', 'all'], {
        env: cleanEnv({ GNUPGHOME: home }),
        allowFailure: true,
        timeoutMs: 30_000,
      })
      await rm(home, { recursive: true, force: true })
    }
    await rm(work, { recursive: true, force: true })
  }
}

function isDebArch(a: string): a is DebArch {
  return (DEB_ARCHES as readonly string[]).includes(a)
}

/** deb822 source for the stand-in repository served at `baseUrl` (serveDir's url). */
export function standInSources(baseUrl: string, signedBy: string, arch = 'amd64', repoPath = 'apt'): string {
  return [
    'Types: deb',
    `URIs: ${baseUrl.replace(/\/+$/, '')}/${repoPath}`,
    `Suites: ${REPO_SUITE}`,
    `Components: ${REPO_COMPONENT}`,
    `Architectures: ${arch}`,
    `Signed-By: ${signedBy}`,
    '',
  ].join('\n')
}

/** The url paths (relative to dir, '/'-separated) and sha256 of each file of `files`. */
async function urlPathsAndHashes<K extends string>(
  dir: string,
  files: Record<K, string>,
): Promise<{ urlPaths: Record<K, string>; sha256: Record<K, string> }> {
  const urlPaths = { ...files }
  const sha256 = { ...files }
  for (const k of Object.keys(files) as K[]) {
    urlPaths[k] = path.relative(dir, files[k]).split(path.sep).join('/')
    sha256[k] = await sha256File(files[k])
  }
  return { urlPaths, sha256 }
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

// ---------------------------------------------------------------------------------------------
// .deb packages

async function buildDeb(
  ide: Ide,
  arch: DebArch,
  elf: Buffer,
  key: Buffer,
  stage: string,
  out: string,
): Promise<void> {
  const share = path.join(stage, 'usr', 'share')
  const files: [string, string | Buffer, number][] = [
    [path.join(share, ide.pkg, ide.pkg), elf, 0o755],
    [path.join(share, ide.pkg, ...STANDIN_SCRIPT), ideScript(ide), 0o644],
    [path.join(share, ide.pkg, 'bin', ide.pkg), wrapperScript(ide), 0o755],
    [
      path.join(share, 'applications', `${ide.pkg}.desktop`),
      desktopEntry(ide, `/usr/share/${ide.pkg}/${ide.pkg}`),
      0o644,
    ],
    [path.join(share, 'pixmaps', `${ide.icon}.svg`), iconSvg(ide), 0o644],
    [path.join(share, 'doc', ide.pkg, 'README.stand-in'), readme(ide), 0o644],
  ]
  for (const [file, content, mode] of files) {
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, content)
    await chmod(file, mode)
  }
  // Like the vendors' packages, /usr/bin/<cmd> is not among the package's files: the postinst makes
  // it an absolute symlink to the CLI wrapper, and the postrm removes it.
  const installedKiB = Math.max(1, Math.ceil(files.reduce((n, [, c]) => n + Buffer.byteLength(c), 0) / 1024))
  const control = [
    `Package: ${ide.pkg}`,
    `Version: ${ide.debVersion}`,
    `Architecture: ${arch}`,
    'Maintainer: vps-provision test lab <lab@vps-provision.invalid>',
    `Installed-Size: ${installedKiB}`,
    ...(ide.pkg === 'code' ? ['Provides: visual-studio-code'] : []),
    'Section: devel',
    'Priority: optional',
    `Description: ${ide.product} (vps-provision test stand-in)`,
    ' A small ELF launcher and a shell script that answer like the real command line',
    " (--version, extensions), built by vps-provision's test lab. Not the real editor.",
    '',
  ].join('\n')
  await mkdir(path.join(stage, 'DEBIAN'), { recursive: true })
  await writeFile(path.join(stage, 'DEBIAN', 'control'), control)
  for (const [name, text] of Object.entries(maintainerScripts(ide, arch, key))) {
    await writeFile(path.join(stage, 'DEBIAN', name), text, { mode: name === 'templates' ? 0o644 : 0o755 })
  }
  await run(['chmod', '-R', 'u=rwX,go=rX', path.join(stage, 'DEBIAN')], { timeoutMs: 30_000 })
  await run(['find', stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+'], { timeoutMs: 30_000 })
  await run(['dpkg-deb', '--root-owner-group', '-Zxz', '--build', stage, out], {
    env: cleanEnv({ SOURCE_DATE_EPOCH }),
    timeoutMs: 120_000,
  })
}

function readme(ide: Ide): string {
  return `${ide.product} ${ide.upstream} STAND-IN\n\nBuilt by vps-provision's test lab (test/lab/stand-ins.ts). Not the real editor.\n`
}

/** bin/<cmd>: like the vendors' CLI wrapper, it finds the app one directory up from itself. */
function wrapperScript(ide: Ide): string {
  return `#!/bin/sh
# ${ide.product} stand-in CLI wrapper (vps-provision test lab)
app=$(dirname "$(dirname "$(readlink -f "$0")")")
exec "$app/${ide.pkg}" "$@"
`
}

// ---------------------------------------------------------------------------------------------
// The editor binary: a real ELF

/** Where the launcher finds the stand-in script, relative to its own directory. */
export const STANDIN_SCRIPT = ['resources', 'app', 'standin.sh'] as const

/**
 * The C source of the native launcher: a real, dynamically linked ELF (so \`file\`, \`ldd\` and the
 * loader treat it like the vendor's Electron binary) that runs resources/app/standin.sh from its own
 * directory with /bin/sh, passing its arguments through. One binary serves all three IDEs.
 */
export const LAUNCHER_C = `/* Stand-in editor launcher, built by vps-provision's test lab (test/lab/stand-ins.ts).
 * Runs ${STANDIN_SCRIPT.join('/')} next to this executable with /bin/sh, arguments passed through. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
  char dir[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
  if (n >= 0) {
    dir[n] = '\\0';
  } else if (realpath(argv[0], dir) == NULL) { /* no /proc: fall back to argv[0] */
    fprintf(stderr, "%s: cannot find myself: %s\\n", argv[0], strerror(errno));
    return 127;
  }
  char *slash = strrchr(dir, '/');
  if (slash != NULL) *slash = '\\0';
  char script[PATH_MAX + 64];
  int m = snprintf(script, sizeof script, "%s/${STANDIN_SCRIPT.join('/')}", dir);
  if (m < 0 || (size_t)m >= sizeof script) {
    fprintf(stderr, "%s: path too long\\n", argv[0]);
    return 127;
  }
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (args == NULL) return 127;
  args[0] = "/bin/sh";
  args[1] = script;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execv("/bin/sh", args);
  fprintf(stderr, "%s: cannot run /bin/sh %s: %s\\n", argv[0], script, strerror(errno));
  return 127;
}
`

/**
 * Compiles LAUNCHER_C with the host's gcc for the host's architecture. Reproducible: a fixed
 * relative source name, no debug info (-s), -ffile-prefix-map and -frandom-seed, SOURCE_DATE_EPOCH.
 */
async function compileLauncher(work: string): Promise<Buffer> {
  await mkdir(work, { recursive: true })
  await writeFile(path.join(work, 'standin-launcher.c'), LAUNCHER_C)
  await run(
    [
      'gcc',
      '-std=c11',
      '-D_DEFAULT_SOURCE',
      '-O2',
      '-s',
      '-Wall',
      `-ffile-prefix-map=${work}=.`,
      '-frandom-seed=vps-provision-standin',
      '-o',
      'standin-launcher',
      'standin-launcher.c',
    ],
    { cwd: work, env: cleanEnv({ SOURCE_DATE_EPOCH }), timeoutMs: 120_000 },
  )
  return readFile(path.join(work, 'standin-launcher'))
}

/**
 * A minimal static ELF64 executable for `arch` that only exits 0, for the architectures the host
 * cannot compile for (there is no cross compiler): the ELF header, one PT_LOAD program header and
 * three instructions (arm64: mov x0, #0; mov x8, #93 (exit); svc #0. amd64: xor edi, edi;
 * mov eax, 60 (exit); syscall). `file` calls the arm64 one "ELF 64-bit LSB executable, ARM aarch64,
 * version 1 (SYSV), statically linked, no section header".
 */
export function exitStubElf(arch: DebArch): Buffer {
  const machine = arch === 'arm64' ? 183 : 62 // EM_AARCH64, EM_X86_64
  const code =
    arch === 'arm64'
      ? Buffer.concat(
          [0xd2800000, 0xd2800ba8, 0xd4000001].map((insn) => {
            const b = Buffer.alloc(4)
            b.writeUInt32LE(insn)
            return b
          }),
        )
      : Buffer.from([0x31, 0xff, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05])
  const base = 0x400000
  const ehsize = 64
  const phentsize = 56
  const size = ehsize + phentsize + code.length
  const elf = Buffer.alloc(size)
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]) // \x7fELF, 64-bit, little-endian, version 1, SYSV
  elf.writeUInt16LE(2, 16) // e_type ET_EXEC
  elf.writeUInt16LE(machine, 18)
  elf.writeUInt32LE(1, 20) // e_version
  elf.writeBigUInt64LE(BigInt(base + ehsize + phentsize), 24) // e_entry: the code
  elf.writeBigUInt64LE(BigInt(ehsize), 32) // e_phoff
  elf.writeBigUInt64LE(0n, 40) // e_shoff: no section headers
  elf.writeUInt32LE(0, 48) // e_flags
  elf.writeUInt16LE(ehsize, 52)
  elf.writeUInt16LE(phentsize, 54)
  elf.writeUInt16LE(1, 56) // e_phnum
  elf.writeUInt16LE(64, 58) // e_shentsize
  elf.writeUInt16LE(0, 60) // e_shnum
  elf.writeUInt16LE(0, 62) // e_shstrndx
  const ph = ehsize
  elf.writeUInt32LE(1, ph) // p_type PT_LOAD
  elf.writeUInt32LE(5, ph + 4) // p_flags R+X
  elf.writeBigUInt64LE(0n, ph + 8) // p_offset: the whole file...
  elf.writeBigUInt64LE(BigInt(base), ph + 16) // p_vaddr ...mapped at base
  elf.writeBigUInt64LE(BigInt(base), ph + 24) // p_paddr
  elf.writeBigUInt64LE(BigInt(size), ph + 32) // p_filesz
  elf.writeBigUInt64LE(BigInt(size), ph + 40) // p_memsz
  elf.writeBigUInt64LE(0x10000n, ph + 48) // p_align: 64 KiB, the largest arm64 page size
  code.copy(elf, ehsize + phentsize)
  return elf
}

/** The stand-in editor: a POSIX sh script, the same in the .debs and inside the AppImage. */
export function ideScript(ide: Ide): string {
  return `#!/bin/sh
# STAND-IN for ${ide.product} ${ide.upstream}, built by vps-provision's test lab
# (test/lab/stand-ins.ts). Not the real editor: it answers the command-line calls a provisioner
# makes, without a window and without any network.
set -eu
NAME='${ide.pkg}'
PRODUCT='${ide.product}'
VERSION='${ide.upstream}'
COMMIT='standin'
case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64) ARCH=arm64 ;;
  *) ARCH=$(uname -m) ;;
esac
case "\${1:-}" in
  --version|-v) printf '%s\\n%s\\n%s\\n' "$VERSION" "$COMMIT" "$ARCH"; exit 0 ;;
  --help|-h) printf '%s %s (vps-provision lab stand-in)\\n\\nUsage: %s [options][paths...]\\n' "$PRODUCT" "$VERSION" "$NAME"; exit 0 ;;
esac
# Electron apps refuse to run as root unless told --no-sandbox.
if [ "$(id -u)" = 0 ]; then
  no_sandbox=no
  for a in "$@"; do
    case "$a" in --no-sandbox) no_sandbox=yes ;; esac
  done
  if [ "$no_sandbox" = no ]; then
    echo "You are trying to start $PRODUCT as a super user which isn't recommended. If this was intended, please add the argument \\\`--no-sandbox\\\` and specify an alternate user data directory using the \\\`--user-data-dir\\\` argument." >&2
    exit 1
  fi
fi
all_args="$*"
ext_dir="\${HOME:-/root}/${ide.dataDir}/extensions"
action=launch
ids=''
while [ $# -gt 0 ]; do
  case "$1" in
    --extensions-dir) ext_dir=\${2:?--extensions-dir needs a value}; shift ;;
    --extensions-dir=*) ext_dir=\${1#*=} ;;
    --list-extensions) action=list ;;
    --install-extension) action=install; ids="$ids \${2:?--install-extension needs an id}"; shift ;;
    --uninstall-extension) action=uninstall; ids="$ids \${2:?--uninstall-extension needs an id}"; shift ;;
  esac
  shift
done
case "$action" in
  list)
    if [ -d "$ext_dir" ]; then ls -1 "$ext_dir"; fi
    ;;
  install)
    for id in $ids; do
      case "$id" in
        *.*) mkdir -p "$ext_dir/$id"; echo "Extension '$id' was successfully installed." ;;
        *) echo "Extension '$id' not found." >&2; exit 1 ;;
      esac
    done
    ;;
  uninstall)
    for id in $ids; do
      if [ -d "$ext_dir/$id" ]; then
        rm -rf "\${ext_dir:?}/$id"; echo "Extension '$id' was successfully uninstalled!"
      else
        echo "Extension '$id' is not installed." >&2; exit 1
      fi
    done
    ;;
  launch)
    echo "$PRODUCT stand-in: no window to open (arguments: $all_args)"
    ;;
esac
exit 0
`
}

export function desktopEntry(ide: Ide, exec: string, extra: string[] = []): string {
  return [
    '[Desktop Entry]',
    `Name=${ide.product}`,
    `Comment=${ide.product} stand-in for vps-provision tests`,
    'GenericName=Text Editor',
    `Exec=${exec} %F`,
    `Icon=${ide.icon}`,
    'Type=Application',
    'StartupNotify=false',
    `StartupWMClass=${ide.wmClass}`,
    'Categories=Development;IDE;',
    'MimeType=text/plain;inode/directory;',
    `Keywords=${ide.pkg};editor;`,
    ...extra,
    '',
  ].join('\n')
}

function iconSvg(ide: Ide): string {
  const letters = ide.product.slice(0, 2).toUpperCase()
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">' +
    `<rect width="64" height="64" rx="12" fill="${ide.color}"/>` +
    `<text x="32" y="42" font-size="26" text-anchor="middle" fill="#ffffff" font-family="sans-serif">${letters}</text>` +
    '</svg>\n'
  )
}

// ---------------------------------------------------------------------------------------------
// Maintainer scripts, after the vendors' (see the header of this file)

/** The apt source (and keyring) a vendor package's postinst writes, and the debconf answer that stops it. */
export interface VendorRepo {
  /** The debconf question (type boolean, default true); `false` keeps the postinst from writing. */
  question: string
  /** The one-line source the postinst migrates from (deletes after writing `sources`). */
  legacyList: string
  sources: string
  keyring: string
  /** A keyring of older versions that the postinst deletes once it has written `keyring`. */
  legacyKeyring?: string
  uri: string
  suite: string
  components: string
  /** What goes into `Architectures:`; a function of the package's own architecture. */
  architectures: (arch: DebArch) => string
  /** Whether postrm deletes `sources` and `keyring` (unless the answer is false). */
  postrmRemoves: boolean
  templateDescription: string[]
}

/**
 * code: microsoft/vscode resources/linux/debian/{postinst,postrm,prerm,templates}.template (the
 * deb822 version). cursor: not published; third-party reports agree on the file names, URI,
 * keyring and question below, whether its postrm removes anything is unknown, so it removes nothing.
 * antigravity: no known source-writing maintainer scripts.
 */
export const VENDOR_REPOS: Readonly<Record<'code' | 'cursor', VendorRepo>> = {
  code: {
    question: 'code/add-microsoft-repo',
    legacyList: '/etc/apt/sources.list.d/vscode.list',
    sources: '/etc/apt/sources.list.d/vscode.sources',
    keyring: '/usr/share/keyrings/microsoft.gpg',
    legacyKeyring: '/etc/apt/trusted.gpg.d/microsoft.gpg',
    uri: 'https://packages.microsoft.com/repos/code',
    suite: 'stable',
    components: 'main',
    architectures: (arch) => arch,
    postrmRemoves: true,
    templateDescription: [
      'Add Microsoft apt repository for Visual Studio Code?',
      ' The installer would like to add the Microsoft repository and signing',
      ' key to update VS Code through apt.',
    ],
  },
  cursor: {
    question: 'cursor/add-cursor-repo',
    legacyList: '/etc/apt/sources.list.d/cursor.list',
    sources: '/etc/apt/sources.list.d/cursor.sources',
    keyring: '/usr/share/keyrings/anysphere.gpg',
    uri: 'https://downloads.cursor.com/aptrepo',
    suite: 'stable',
    components: 'main',
    architectures: () => 'amd64,arm64',
    postrmRemoves: false,
    templateDescription: [
      'Add Cursor apt repository?',
      ' The installer would like to add the Cursor repository and signing',
      ' key to update Cursor through apt.',
    ],
  },
}

/** The exact text the postinst of `pkg` (built for `arch`) writes to its vendor source file. */
export function vendorSourcesText(pkg: keyof typeof VENDOR_REPOS, arch: DebArch): string {
  const r = VENDOR_REPOS[pkg]
  return [
    '### THIS FILE IS AUTOMATICALLY CONFIGURED ###',
    '# You may comment out this entry, but any other modifications may be lost.',
    'Types: deb',
    `URIs: ${r.uri}`,
    `Suites: ${r.suite}`,
    `Components: ${r.components}`,
    `Architectures: ${r.architectures(arch)}`,
    `Signed-By: ${r.keyring}`,
    '',
  ].join('\n')
}

function vendorRepo(pkg: Ide['pkg']): VendorRepo | undefined {
  return pkg === 'antigravity' ? undefined : VENDOR_REPOS[pkg]
}

/** Marks the embedded keyring in a postinst, so tests can compare postinsts of different keys. */
export const KEYRING_HEREDOC = 'LAB_KEYRING'

const SCRIPT_HEAD = (ide: Ide, what: string) => `#!/bin/sh
# ${what} of the ${ide.product} stand-in (vps-provision test lab, test/lab/stand-ins.ts),
# after the vendor's own.
set -e
`

/** DEBIAN/{postinst,prerm,postrm,templates} of the stand-in `ide`; `key` is the binary keyring. */
export function maintainerScripts(ide: Ide, arch: DebArch, key: Buffer): Record<string, string> {
  const p = ide.pkg
  const databases = `command -v update-desktop-database >/dev/null && update-desktop-database
command -v update-mime-database >/dev/null && update-mime-database /usr/share/mime
`
  const r = vendorRepo(p)
  const out: Record<string, string> = {}
  out.postinst = `${SCRIPT_HEAD(ide, 'postinst')}
# Symlink the bin command to /usr/bin (the symlink is not in the package's files)
rm -f /usr/bin/${p}
ln -s /usr/share/${p}/bin/${p} /usr/bin/${p}

# Register in the alternatives system; priority 0 is the default only where nothing else provides it
update-alternatives --install /usr/bin/editor editor /usr/bin/${p} 0

${databases}`
  out.prerm = `${SCRIPT_HEAD(ide, 'prerm')}
update-alternatives --remove editor /usr/bin/${p}
exit 0
`
  out.postrm = `${SCRIPT_HEAD(ide, 'postrm')}
rm -f /usr/bin/${p}

${databases}`
  if (r) {
    out.templates = `Template: ${r.question}\nType: boolean\nDefault: true\nDescription: ${r.templateDescription.join('\n')}\n`
    const keyLines = key.toString('base64').replace(/.{1,76}/g, '$&\n')
    const sourceLines = vendorSourcesText(p as keyof typeof VENDOR_REPOS, arch)
      .replace(`Signed-By: ${r.keyring}`, 'Signed-By: $TRUSTED_PART')
      .replace(/\$(?!TRUSTED_PART)/g, '\\$')
    out.postinst += `
# Register the vendor's apt repository
eval "$(apt-config shell APT_SOURCE_PARTS Dir::Etc::sourceparts/d)"
SOURCE_PART=\${APT_SOURCE_PARTS}${path.basename(r.legacyList)}
SOURCE_PART_DEB822=\${APT_SOURCE_PARTS}${path.basename(r.sources)}
TRUSTED_PART=${r.keyring}

# debconf answers true on a first install unless preseeded
RET='true'
if [ -e /usr/share/debconf/confmodule ]; then
  . /usr/share/debconf/confmodule
  db_get ${r.question} || true
fi

WRITE_SOURCE='no'
if [ "$RET" = 'false' ]; then
  # preseeded not to add the repository
  WRITE_SOURCE='no'
elif [ -f "$SOURCE_PART" ]; then
  # the old one-line format: migrate
  WRITE_SOURCE='yes'
elif [ -f "$SOURCE_PART_DEB822" ]; then
  # already there: refresh its contents
  WRITE_SOURCE='yes'
elif [ -f /etc/rpi-issue ]; then
  # never on Raspberry Pi OS
  WRITE_SOURCE='no'
else
  WRITE_SOURCE='ask'
fi

if [ "$WRITE_SOURCE" = 'ask' ]; then
  if ! [ -t 1 ]; then
    # not interactive (confmodule sends stdout to stderr): write, like the old versions did
    WRITE_SOURCE='yes'
  elif [ -e /usr/share/debconf/confmodule ]; then
    db_input high ${r.question} || true
    db_go || true
    db_get ${r.question}
    if [ "$RET" = false ]; then WRITE_SOURCE='no'; else WRITE_SOURCE='yes'; fi
  else
    WRITE_SOURCE='yes'
  fi
fi

if [ "$WRITE_SOURCE" != 'no' ]; then
  cat > "$SOURCE_PART_DEB822" <<EOF
${sourceLines}EOF
  rm -f "$SOURCE_PART"

  # Only when there is none yet (the vendor dearmors an embedded ASCII key with gpg here)
  if [ ! -f "$TRUSTED_PART" ]; then
    base64 -d > "$TRUSTED_PART" <<'${KEYRING_HEREDOC}'
${keyLines}${KEYRING_HEREDOC}
${r.legacyKeyring ? `    rm -f ${r.legacyKeyring}\n` : ''}  fi
fi
`
    out.postrm += r.postrmRemoves
      ? `
RET=true
if [ -e /usr/share/debconf/confmodule ]; then
  . /usr/share/debconf/confmodule
  db_get ${r.question} || true
fi
if [ "$RET" = true ]; then
  # on every postrm (remove, purge, upgrade...), unless preseeded false
  eval "$(apt-config shell APT_SOURCE_PARTS Dir::Etc::sourceparts/d)"
  rm -f -- "\${APT_SOURCE_PARTS}${path.basename(r.sources)}"
  rm -f -- ${r.keyring}
fi

if [ "$1" = purge ] && [ -e /usr/share/debconf/confmodule ]; then
  db_purge
fi
`
      : `
# ${path.basename(r.sources)} and ${path.basename(r.keyring)} stay: nothing says the vendor's postrm removes them.
if [ "$1" = purge ] && [ -e /usr/share/debconf/confmodule ]; then
  . /usr/share/debconf/confmodule
  db_purge
fi
`
  }
  out.postinst += '\nexit 0\n'
  out.postrm += '\nexit 0\n'
  return out
}

// ---------------------------------------------------------------------------------------------
// Tarball (Antigravity's Linux download)

/** Where the tarballs are below outDir, like the vendor's .../stable/<version>-<build>/<platform>/. */
export const TARBALL_DIR = ['antigravity', 'stable', `${IDES.antigravity.upstream}-standin`] as const
/** The vendor's platform names: arm64 is `linux-arm`, not linux-arm64. */
export const TARBALL_PLATFORM: Readonly<Record<DebArch, string>> = { amd64: 'linux-x64', arm64: 'linux-arm' }
/** The one top-level directory of the tarball, and the executable in it. */
export const TARBALL_TOP = 'Antigravity'

/**
 * Antigravity.tar.gz like the vendor's Linux download of the IDE (1.x layout): one top-level
 * directory Antigravity/ with the ELF `antigravity`, the CLI wrapper bin/antigravity, the stand-in
 * script resources/app/standin.sh and an icon resources/app/resources/linux/code.png (VS Code's
 * tarball layout). Root-owned, fixed mtimes, sorted, gzip without name or time: reproducible.
 */
async function buildTarball(ide: Ide, elf: Buffer, stage: string, out: string): Promise<void> {
  const top = path.join(stage, TARBALL_TOP)
  const files: [string[], string | Buffer, number][] = [
    [[ide.pkg], elf, 0o755],
    [['bin', ide.pkg], wrapperScript(ide), 0o755],
    [[...STANDIN_SCRIPT], ideScript(ide), 0o644],
    [['resources', 'app', 'resources', 'linux', 'code.png'], solidPng(64, ide.color), 0o644],
  ]
  for (const [rel, content, mode] of files) {
    const file = path.join(top, ...rel)
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, content)
    await chmod(file, mode)
  }
  await run(['find', stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+'], { timeoutMs: 30_000 })
  await run(
    [
      'tar',
      '--sort=name',
      `--mtime=@${SOURCE_DATE_EPOCH}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--format=gnu',
      '-cf',
      'Antigravity.tar',
      TARBALL_TOP,
    ],
    { cwd: stage, timeoutMs: 120_000 },
  )
  await mkdir(path.dirname(out), { recursive: true })
  await writeFile(out, gzipSync(await readFile(path.join(stage, 'Antigravity.tar')), { level: 9 }))
  await chmod(out, 0o644)
}

/** A `size`x`size` PNG of one colour ('#rrggbb'). */
export function solidPng(size: number, color: string): Buffer {
  const rgb = [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16))
  const row = Buffer.from([0, ...Array.from({ length: size }, () => rgb).flat()]) // filter 0, pixels
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, deflate, no filter method extras, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: size }, () => row)), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

// ---------------------------------------------------------------------------------------------
// AppImage stand-in

/**
 * A shell script posing as Antigravity.AppImage. It is NOT a real AppImage: no ELF runtime, no
 * squashfs payload, no AppImage magic bytes ("AI\x02" at offset 8), so `file` calls it a shell
 * script. It follows the AppImage runtime's command line instead:
 *   --appimage-extract          creates ./squashfs-root (AppRun, antigravity.desktop, antigravity.svg,
 *                               .DirIcon, usr/bin/antigravity) and lists what it wrote, like the real one;
 *   --appimage-extract-and-run  (or APPIMAGE_EXTRACT_AND_RUN=1) runs the app from a temporary extraction;
 *   --appimage-version          prints a runtime version line;
 *   anything else (including --version): like a real type-2 AppImage it needs FUSE 2 to mount
 *   itself; without libfuse.so.2 (package libfuse2t64 on trixie) it prints the runtime's
 *   "dlopen(): error loading libfuse.so.2 ... AppImages require FUSE to run" and exits 1. With it,
 *   it runs the app (so `Antigravity.AppImage --version` answers only where FUSE 2 is installed,
 *   while `squashfs-root/AppRun --version` always does).
 */
export function appImageScript(ide: Ide): string {
  const desktop = desktopEntry(ide, ide.pkg, [`X-AppImage-Version=${ide.upstream}`])
  return `#!/bin/sh
# ${ide.product}.AppImage: STAND-IN built by vps-provision's test lab (test/lab/stand-ins.ts).
# NOT a real AppImage (no ELF runtime, no squashfs payload, no magic bytes): a POSIX shell script
# that follows the AppImage runtime's command line (--appimage-extract, --appimage-extract-and-run,
# --appimage-version) and, like a real one, needs FUSE 2 (libfuse.so.2) to run without extraction.
set -eu
extract() {
  d=$1
  mkdir -p "$d/usr/bin"
  cat > "$d/AppRun" <<'LAB_EOF_APPRUN'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/bin/${ide.pkg}" "$@"
LAB_EOF_APPRUN
  cat > "$d/usr/bin/${ide.pkg}" <<'LAB_EOF_APP'
${ideScript(ide)}LAB_EOF_APP
  cat > "$d/${ide.pkg}.desktop" <<'LAB_EOF_DESKTOP'
${desktop}LAB_EOF_DESKTOP
  cat > "$d/${ide.icon}.svg" <<'LAB_EOF_ICON'
${iconSvg(ide)}LAB_EOF_ICON
  ln -sf "${ide.icon}.svg" "$d/.DirIcon"
  chmod 0755 "$d" "$d/usr" "$d/usr/bin" "$d/AppRun" "$d/usr/bin/${ide.pkg}"
  chmod 0644 "$d/${ide.pkg}.desktop" "$d/${ide.icon}.svg"
}
run_extracted() {
  tmp=$(mktemp -d "\${TMPDIR:-/tmp}/.mount_standin.XXXXXX")
  extract "$tmp/root"
  set +e
  APPIMAGE="$self" APPDIR="$tmp/root" "$tmp/root/AppRun" "$@"
  rc=$?
  rm -rf "$tmp"
  exit "$rc"
}
self=$(readlink -f "$0")
case "\${1:-}" in
  --appimage-extract)
    extract squashfs-root
    find squashfs-root | sort
    exit 0
    ;;
  --appimage-extract-and-run) shift; run_extracted "$@" ;;
  --appimage-version) echo 'AppImage runtime stand-in (vps-provision test lab)'; exit 0 ;;
  --appimage-help)
    echo 'AppImage options: --appimage-extract --appimage-extract-and-run --appimage-version --appimage-help'
    exit 0
    ;;
  --appimage-*) echo "Unknown AppImage option: $1" >&2; exit 1 ;;
esac
if [ "\${APPIMAGE_EXTRACT_AND_RUN:-}" = 1 ]; then run_extracted "$@"; fi
if ! ls /usr/lib/*/libfuse.so.2 /lib/*/libfuse.so.2 /usr/lib/libfuse.so.2 >/dev/null 2>&1; then
  cat >&2 <<'LAB_EOF_FUSE'
dlopen(): error loading libfuse.so.2

AppImages require FUSE to run.
You might still be able to extract the contents of this AppImage
if you run it with the --appimage-extract option.
LAB_EOF_FUSE
  exit 1
fi
run_extracted "$@"
`
}

// ---------------------------------------------------------------------------------------------
// Signed repository

class Gpg {
  constructor(readonly home: string) {}

  run(args: string[]) {
    return run(
      ['gpg', '--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      {
        env: cleanEnv({ GNUPGHOME: this.home }),
        timeoutMs: 120_000,
      },
    )
  }

  /** A throwaway ed25519 signing key, bound with SHA-512; returns its fingerprint. */
  async generateKey(): Promise<string> {
    await chmod(this.home, 0o700)
    const uid = `vps-provision lab stand-in repository ${randomBytes(3).toString('hex')} <lab@vps-provision.invalid>`
    await this.run(['--cert-digest-algo', 'SHA512', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'])
    const list = await this.run(['--with-colons', '--list-secret-keys'])
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(list.stdout)?.[1]
    if (!fpr) throw new Error(`gpg: no fingerprint in:\n${list.stdout}`)
    return fpr
  }
}

async function writeRepoIndices(
  repo: string,
  arches: readonly DebArch[],
  gpg: Gpg,
  fpr: string,
): Promise<string> {
  const rel = path.join('dists', REPO_SUITE)
  const env = cleanEnv({ SOURCE_DATE_EPOCH })
  for (const arch of arches) {
    const binDir = path.join(repo, rel, REPO_COMPONENT, `binary-${arch}`)
    await mkdir(binDir, { recursive: true })
    // --arch: only pool files named *_<arch>.deb (or *_all.deb) go into binary-<arch>/Packages.
    const packages = await run(['apt-ftparchive', '--arch', arch, 'packages', `pool/${REPO_COMPONENT}`], {
      cwd: repo,
      env,
    })
    const text = `${packages.stdout.trim()}\n`
    await writeFile(path.join(binDir, 'Packages'), text)
    await writeFile(path.join(binDir, 'Packages.gz'), gzipSync(text, { level: 9 }))
  }
  const release = await run(
    [
      'apt-ftparchive',
      '-o',
      'APT::FTPArchive::Release::Origin=vps-provision-lab',
      '-o',
      'APT::FTPArchive::Release::Label=vps-provision-lab stand-ins',
      '-o',
      `APT::FTPArchive::Release::Suite=${REPO_SUITE}`,
      '-o',
      `APT::FTPArchive::Release::Codename=${REPO_SUITE}`,
      '-o',
      `APT::FTPArchive::Release::Architectures=${arches.join(' ')}`,
      '-o',
      `APT::FTPArchive::Release::Components=${REPO_COMPONENT}`,
      '-o',
      'APT::FTPArchive::Release::Description=vps-provision test lab stand-ins (not real editors)',
      'release',
      rel,
    ],
    { cwd: repo, env },
  )
  const releaseFile = path.join(repo, rel, 'Release')
  await writeFile(releaseFile, `${release.stdout.trim()}\n`)
  await chmod(releaseFile, 0o644)
  return signRelease(repo, gpg, fpr)
}

/** Signs dists/<suite>/Release as InRelease and Release.gpg (replacing them); returns InRelease. */
async function signRelease(repo: string, gpg: Gpg, fpr: string): Promise<string> {
  const rel = path.join(repo, 'dists', REPO_SUITE)
  const releaseFile = path.join(rel, 'Release')
  const inRelease = path.join(rel, 'InRelease')
  const sign = ['--digest-algo', 'SHA512', '--local-user', fpr]
  await gpg.run([...sign, '--clearsign', '--output', inRelease, releaseFile])
  await gpg.run([...sign, '--armor', '--detach-sign', '--output', path.join(rel, 'Release.gpg'), releaseFile])
  for (const f of ['InRelease', 'Release.gpg']) await chmod(path.join(rel, f), 0o644)
  await stat(inRelease)
  return inRelease
}

/**
 * Two broken copies of the repository at `<dir>/apt`, for fault tests: `apt-unsigned` has Release
 * but neither InRelease nor Release.gpg; `apt-wrongkey` is signed by `other`, a key apt is not
 * given. Returns the other key's fingerprint.
 */
async function writeBrokenRepos(dir: string, other: Gpg): Promise<{ wrongKeyFingerprint: string }> {
  const good = path.join(dir, 'apt')
  const unsigned = path.join(dir, BROKEN_REPOS.unsigned)
  await cp(good, unsigned, { recursive: true })
  for (const f of ['InRelease', 'Release.gpg']) await rm(path.join(unsigned, 'dists', REPO_SUITE, f))
  const wrong = path.join(dir, BROKEN_REPOS.wrongKey)
  await cp(good, wrong, { recursive: true })
  const fpr = await other.generateKey()
  await signRelease(wrong, other, fpr)
  return { wrongKeyFingerprint: fpr }
}

/** Runs desktop-file-validate on `file`; returns its output (empty when the entry is clean). */
export async function validateDesktopFile(file: string): Promise<string> {
  const r = await run(['desktop-file-validate', file], { allowFailure: true, timeoutMs: 30_000 })
  return `${r.stdout}\n${r.stderr}`.trim() + (r.exitCode !== 0 ? `\n(exit ${r.exitCode})` : '')
}
