// The lab's stand-in of code-server's .deb (the vendor's release download is unreachable from the
// lab). The layout is the vendor's (ci/build/nfpm.yaml of coder/code-server): /usr/bin/code-server
// runs /usr/lib/code-server/bin/code-server, which runs the server as /usr/lib/code-server/lib/node;
// the template unit /usr/lib/systemd/system/code-server@.service (User=%i, ExecStart=/usr/bin/code-server)
// and the user unit /usr/lib/systemd/user/code-server.service, byte for byte the vendor's. Like the
// vendor's package it has no maintainer scripts: nothing is enabled at install.
//
// The server is code-server-stand-in.c compiled with the host's gcc (a real ELF, dynamically linked
// against libc only): it reads ~/.config/code-server/config.yaml as code-server does (bind-addr, auth,
// password or hashed-password as SHA-256, cert), serves /healthz, the login page, POST /login with
// the session cookie, and the app page only with that cookie; a wrong password gets the login page
// again. What it does not mimic is said at the top of the C file (TLS, argon2, the editor).
// Only the host's architecture is built: the e2e container runs it.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cleanEnv, run } from './proc.js'
import { sha256File } from './stand-ins.js'
import { hostArch } from './trixie-root.js'

export const CODE_SERVER_STANDIN_VERSION = '4.138.0'
const CODE_VERSION = '1.138.0'
const SOURCE_DATE_EPOCH = '1735689600'
const C_SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'code-server-stand-in.c')

/** The vendor's units (ci/build/code-server@.service, code-server-user.service). */
export const TEMPLATE_UNIT =
  '[Unit]\nDescription=code-server\nAfter=network.target\n\n[Service]\nType=exec\nExecStart=/usr/bin/code-server\nRestart=always\nUser=%i\n\n[Install]\nWantedBy=default.target\n'
const USER_UNIT =
  '[Unit]\nDescription=code-server\nAfter=network.target\n\n[Service]\nType=exec\nExecStart=/usr/bin/code-server\nRestart=always\n\n[Install]\nWantedBy=default.target\n'

export interface CodeServerStandIn {
  /** The .deb, named as the vendor names its release assets: code-server_<version>_<arch>.deb. */
  deb: string
  /** Its path below `dir`, with '/' separators (the URL path where `dir` is served). */
  urlPath: string
  sha256: string
  version: string
  arch: string
}

/** Builds the .deb into `<dir>/code-server/v<version>/`; `dir` is usually the world's stand-in dir. */
export async function buildCodeServerStandIn(dir: string): Promise<CodeServerStandIn> {
  const arch = await hostArch()
  const version = CODE_SERVER_STANDIN_VERSION
  const work = await mkdtemp(path.join(tmpdir(), 'lab-code-server-'))
  try {
    const stage = path.join(work, 'stage')
    const lib = path.join(stage, 'usr/lib/code-server')
    await mkdir(path.join(lib, 'lib'), { recursive: true })
    await mkdir(path.join(lib, 'bin'), { recursive: true })
    await run(
      [
        'gcc',
        '-std=c11',
        '-O2',
        '-s',
        '-Wall',
        `-DSTANDIN_VERSION="${version}"`,
        `-DSTANDIN_CODE_VERSION="${CODE_VERSION}"`,
        `-ffile-prefix-map=${path.dirname(C_SOURCE)}=.`,
        '-frandom-seed=vps-provision-code-server',
        '-o',
        path.join(lib, 'lib/node'),
        C_SOURCE,
      ],
      { env: cleanEnv({ SOURCE_DATE_EPOCH }), timeoutMs: 120_000 },
    )
    const files: [string, string, number][] = [
      // The vendor's launcher runs its bundled node with the server's directory; ours is the server.
      [
        path.join(lib, 'bin/code-server'),
        '#!/usr/bin/env sh\nexec /usr/lib/code-server/lib/node /usr/lib/code-server "$@"\n',
        0o755,
      ],
      [
        path.join(stage, 'usr/bin/code-server'),
        '#!/usr/bin/env sh\nexec /usr/lib/code-server/bin/code-server "$@"\n',
        0o755,
      ],
      [path.join(stage, 'usr/lib/systemd/system/code-server@.service'), TEMPLATE_UNIT, 0o644],
      [path.join(stage, 'usr/lib/systemd/user/code-server.service'), USER_UNIT, 0o644],
      [
        path.join(stage, 'usr/share/doc/code-server/README.stand-in'),
        "vps-provision's test stand-in of code-server: see test/lab/code-server-stand-in.c\n",
        0o644,
      ],
    ]
    for (const [file, text, mode] of files) {
      await mkdir(path.dirname(file), { recursive: true })
      await writeFile(file, text)
      await chmod(file, mode)
    }
    const size = Math.ceil((await readFile(path.join(lib, 'lib/node'))).length / 1024) + 4
    await mkdir(path.join(stage, 'DEBIAN'), { recursive: true })
    await writeFile(
      path.join(stage, 'DEBIAN/control'),
      [
        'Package: code-server',
        `Version: ${version}`,
        'Section: devel',
        'Priority: optional',
        `Architecture: ${arch}`,
        'Maintainer: vps-provision test lab <lab@vps-provision.invalid>',
        `Installed-Size: ${size}`,
        'Homepage: https://github.com/coder/code-server',
        'Description: Run VS Code in the browser (vps-provision test stand-in).',
        " A small C server that reads code-server's config and serves its login; not the editor.",
        '',
      ].join('\n'),
    )
    await run(['find', stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+'], { timeoutMs: 30_000 })
    const outDir = path.join(dir, 'code-server', `v${version}`)
    await mkdir(outDir, { recursive: true })
    const deb = path.join(outDir, `code-server_${version}_${arch}.deb`)
    await run(['dpkg-deb', '--root-owner-group', '-Zxz', '--build', stage, deb], {
      env: cleanEnv({ SOURCE_DATE_EPOCH }),
      timeoutMs: 120_000,
    })
    return {
      deb,
      urlPath: path.relative(dir, deb).split(path.sep).join('/'),
      sha256: await sha256File(deb),
      version,
      arch,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
