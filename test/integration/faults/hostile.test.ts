// Issue 5, hostile and bad input on a real trixie root: each is rejected before any change with a
// one-line reason and no stack trace, and the manifest is unchanged. Usernames, session ids,
// configuration files, IDE names, the host itself (Debian 12, Ubuntu, no os-release, not root, too
// little disk on /var), no terminal at all, and a hostile environment (an evil PATH, LD_PRELOAD, no
// HOME, a Turkish locale).
//
// Debian 12 and Ubuntu are /usr/lib/os-release rewritten in the clone: the tool's only evidence of
// the release is that file, so this is the same code path as a real bookworm root (which would
// cost a second debootstrap). Too little disk: an empty 1 GiB tmpfs on the root's /var inside a
// private mount namespace (`unshare --mount --propagation private`), never on the host.
//
//   sudo npx vitest run --project integration test/integration/faults/hostile.test.ts

import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROOT_BASE_ENV, type Chroot } from '../../lab/chroot.js'
import { CLEAN_PATH, hostHas, run } from '../../lab/proc.js'
import { compareManifests, type Manifest } from '../support/manifest.js'
import {
  ALLOW,
  compareIgnoringPassword,
  describeComparison,
  exitText,
  type FaultRoot,
  hasStackTrace,
  LOG_DIR,
  prepareFaultRoot,
  RUN_USER_CREATION,
  reasonOf,
  regenerateReportAfterAll,
  STATE_DIR,
  skipReason,
  TOOL_IN_ROOT,
  type ToolOptions,
  type ToolResult,
  tail,
  WORK_DIR,
  warnIfSkipped,
} from './fixture.js'

const FILE = 'hostile.test.ts'
warnIfSkipped(FILE)
const AREA = 'hostile input'
const EXISTING = 'alice'

interface Bad {
  id: string
  what: string
  args: string[]
  exit: number
  reason: RegExp
  opts?: ToolOptions
  /** Set up in the root before the attempt; undone after it. */
  before?: (ch: Chroot) => Promise<unknown>
  after?: (ch: Chroot) => Promise<unknown>
}

describe.skipIf(skipReason !== '')('faults: hostile and bad input, rejected before any change', () => {
  let fr: FaultRoot
  let reference: Manifest
  regenerateReportAfterAll()

  beforeAll(async () => {
    fr = await prepareFaultRoot({
      label: 'hostile',
      preinstall: ['sudo'],
      prepare: (ch) => ch.exec(['useradd', '--create-home', '--shell', '/bin/bash', EXISTING]),
    })
  }, 900_000)
  afterAll(async () => {
    await fr?.remove()
  }, 300_000)

  /** No journal with a record in it: nothing was journaled, so nothing was changed. */
  const journaled = async (ch: Chroot) =>
    (await ch.sh(`find ${LOG_DIR} -type f -size +0 2>/dev/null | wc -l`)).stdout.trim()

  /** Each item is its own recorded case; one chroot for the lot, and every item runs even after a failure. */
  const rejectAll = (bads: Bad[]) =>
    fr.inRoot(async (ch) => {
      const failures: unknown[] = []
      for (const b of bads) await rejected(b, ch).catch((e: unknown) => failures.push(e))
      if (failures.length > 0) throw failures[0]
    })

  async function rejected(b: Bad, inside?: Chroot) {
    await fr.case(
      FILE,
      {
        id: `hostile.${b.id}`,
        area: AREA,
        case: b.what,
        injection: `\`vps-provision ${b.args.map((a) => (a.length > 40 ? `${JSON.stringify(a.slice(0, 20))}…(${a.length})` : /[\s;$`'"\n]|^$/.test(a) ? JSON.stringify(a) : a)).join(' ')}\`${b.opts?.wrap ? ` under \`${b.opts.wrap.join(' ')}\`` : ''}`,
        expected: `exit ${b.exit} with a one-line reason, no stack trace; manifest unchanged; nothing journaled`,
      },
      async (seen) => {
        const attempt = async (ch: Chroot) => {
          await b.before?.(ch)
          let r: ToolResult
          try {
            r = await fr.tool(ch, b.args, { timeoutMs: 60_000, ...b.opts })
          } finally {
            await b.after?.(ch)
          }
          seen.push(`${exitText(r)}: ${reasonOf(r).slice(0, 200)}`)
          expect(r.exitCode, tail(r)).toBe(b.exit)
          expect(reasonOf(r)).toMatch(b.reason)
          expect(hasStackTrace(r), tail(r)).toBe(false)
          const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
          const j = await journaled(ch)
          seen.push(`${describeComparison('the baseline', c)}; journals with records: ${j}`)
          expect(c.problems).toEqual([])
          expect(j).toBe('0')
        }
        await (inside ? attempt(inside) : fr.inRoot(attempt))
      },
    )
  }

  // --- usernames ---------------------------------------------------------------------------------
  const syntax = /username: expected a lowercase name: a letter, then up to 31 of a-z 0-9 _ -, got/
  const reserved = /username: expected a name that is not reserved .*, got/
  const usernames: [string, string, number, RegExp][] = [
    ['root', 'root', 5, reserved],
    ['daemon', 'daemon', 5, reserved],
    ['sshd', 'sshd', 5, reserved],
    ['xrdp', 'xrdp', 5, reserved],
    ['existing-user', EXISTING, 1, new RegExp(`${EXISTING} already exists \\(uid \\d+\\)`)],
    ['uppercase', 'Admin', 5, syntax],
    ['leading-digit', '1abc', 5, syntax],
    ['option-like', '-rf', 5, syntax],
    ['shell-metachars', 'a;rm -rf /', 5, syntax],
    ['command-substitution', '$(id)', 5, syntax],
    ['space', 'a b', 5, syntax],
    ['path', '../x', 5, syntax],
    ['33-chars', `a${'b'.repeat(32)}`, 5, syntax],
    ['empty', '', 5, syntax],
    ['newline', 'dev\nuser', 5, syntax],
  ]
  it(`usernames ${usernames.map(([, n]) => JSON.stringify(n)).join(', ')} are refused`, () =>
    rejectAll(
      usernames.map(([id, name, exit, reason]) => ({
        id: `username.${id}`,
        what: `--username ${JSON.stringify(name)}`,
        args: [...RUN_USER_CREATION, '--username', name],
        exit,
        reason,
      })),
    ))
  it('a hostile username from the environment and from the config file is refused the same way', async () => {
    await rejected({
      id: 'username.env',
      what: 'VPS_PROVISION_USERNAME with shell metacharacters',
      args: RUN_USER_CREATION,
      exit: 5,
      reason: /VPS_PROVISION_USERNAME/,
      opts: { env: { VPS_PROVISION_USERNAME: 'x`reboot`' } },
    })
    await rejected({
      id: 'username.config',
      what: 'username: $(id) in the config file',
      args: [...RUN_USER_CREATION, '--config', '/etc/vps-provision/bad-user.yaml'],
      exit: 5,
      reason: /username: expected a lowercase name.*bad-user\.yaml:1:11/,
      before: (ch) =>
        ch.writeFile('/etc/vps-provision/bad-user.yaml', 'username: "$(id)"\n', { mode: 0o600 }),
      after: (ch) => ch.exec(['rm', '-f', '/etc/vps-provision/bad-user.yaml']),
    })
  })

  // --- session ids -------------------------------------------------------------------------------
  const notId = /is not a session id \(expected YYYYMMDD-HHMMSS-xxxxxx or "latest"\)/
  const sessionIds: [string, string][] = [
    ['dotdot-etc', '../../etc'],
    ['dotdot', '..'],
    ['absolute', '/etc/shadow'],
    ['300-chars', `20260101-000000-${'a'.repeat(284)}`],
    ['nul-as-text', '20260101-000000-abc\\0'],
  ]
  it(`session ids ${sessionIds.map(([, x]) => JSON.stringify(x.slice(0, 20))).join(', ')} are refused (rollback; status and log too for two of them)`, () =>
    rejectAll(
      sessionIds.flatMap(([id, sid]) =>
        // rollback for every id; status and log (the same check, read-only) for the first two.
        (id === 'dotdot-etc' || id === 'absolute' ? ['rollback', 'status', 'log'] : ['rollback']).map(
          (cmd) => ({
            id: `session-id.${id}.${cmd}`,
            what: `${cmd} with the session id ${JSON.stringify(sid.length > 30 ? `${sid.slice(0, 30)}…` : sid)}`,
            args: cmd === 'rollback' ? [cmd, sid, '--yes'] : [cmd, sid],
            exit: 5,
            reason: notId,
          }),
        ),
      ),
    ))

  it('a NUL byte cannot reach the tool through argv (execve), and is refused as text', async () => {
    await fr.case(
      FILE,
      {
        id: 'hostile.session-id.nul-byte',
        area: AREA,
        case: 'a session id with a NUL byte',
        injection: 'spawn `rollback "2026\\0x" --yes`',
        expected:
          'the kernel interface cannot carry it: the spawn itself is refused; the tool is never started',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const err = await fr.tool(ch, ['rollback', '2026\u0000x', '--yes']).then(
            () => null,
            (e: Error) => e,
          )
          seen.push(
            `spawn refused: ${String(err?.message ?? 'NOT refused')
              .split('\n')[0]
              ?.slice(0, 120)}`,
          )
          expect(err).not.toBeNull()
          expect(await journaled(ch)).toBe('0')
        })
      },
    )
  })
  it('a session file that is a symlink (to /etc/shadow) is refused by status and rollback, and not shown', async () => {
    const id = '20260101-000000-abcdef'
    const plant = async (ch: Chroot) => {
      await ch.exec(['mkdir', '-p', '-m', '0700', `${STATE_DIR}/sessions`])
      await ch.exec(['ln', '-sf', '/etc/shadow', `${STATE_DIR}/sessions/session-${id}.json`])
    }
    const unplant = (ch: Chroot) => ch.exec(['rm', '-f', `${STATE_DIR}/sessions/session-${id}.json`])
    for (const cmd of ['status', 'rollback']) {
      await rejected({
        id: `session-file-symlink.${cmd}`,
        what: `${cmd} of a session whose file is a symlink to /etc/shadow`,
        args: cmd === 'rollback' ? [cmd, id, '--yes'] : [cmd, id],
        // Only regular files are sessions: the link is not one, so there is no such session.
        exit: 5,
        reason: new RegExp(`Unable to find session ${id}: no such session`),
        before: plant,
        after: unplant,
      })
    }
    await fr.inRoot(async (ch) => {
      await plant(ch)
      try {
        const shadow = await ch.readFile('/etc/shadow')
        for (const args of [['status', id], ['sessions'], ['rollback', id, '--yes'], ['log', id]]) {
          const r = await fr.tool(ch, args)
          const out = `${r.stdout}${r.stderr}`
          const leaked = shadow.split('\n').filter((l) => l.includes(':') && out.includes(l))
          expect(leaked, `${args.join(' ')} printed /etc/shadow`).toEqual([])
        }
      } finally {
        await unplant(ch)
      }
    })
  })

  // --- configuration -----------------------------------------------------------------------------
  const CFG = '/etc/vps-provision/hostile.yaml'
  const withConfig = (
    id: string,
    what: string,
    content: string | null,
    reason: RegExp,
    mode = 0o600,
    setup?: (ch: Chroot) => Promise<unknown>,
  ): Bad => ({
    id: `config.${id}`,
    what,
    args: [...RUN_USER_CREATION, '--config', CFG],
    exit: 5,
    reason,
    before: async (ch) => {
      if (content !== null) {
        await ch.writeFile(CFG, content, { mode })
        await ch.exec(['chmod', mode.toString(8), CFG])
      }
      await setup?.(ch)
    },
    after: (ch) => ch.exec(['rm', '-rf', CFG]),
  })
  const configs: Bad[] = [
    withConfig(
      'malformed-yaml',
      'malformed YAML',
      'username: [devuser\nides: vscode\n',
      /Unable to parse the configuration file \/etc\/vps-provision\/hostile\.yaml:\d+:\d+/,
    ),
    withConfig(
      'malformed-json',
      'malformed JSON',
      '{"username": "dev", "ides": [}\n',
      /Unable to parse the configuration file .*hostile\.yaml:\d+:\d+/,
    ),
    withConfig(
      'wrong-types',
      'wrong types (port as text, upgrade as "yes")',
      'rdp:\n  port: "x"\nupgrade: "yes"\n',
      /Unable to use the configuration \(2 problems\)/,
    ),
    withConfig(
      'unknown-key',
      'an unknown key (userName)',
      'userName: bob\n',
      /unknown key "userName" did you mean "username"\?/,
    ),
    withConfig(
      'duplicate-key',
      'a duplicate key',
      'username: a\nusername: b\n',
      /Unable to parse the configuration file .*hostile\.yaml:2:\d+: Map keys must be unique/,
    ),
    withConfig(
      'huge',
      'a 100 KiB file',
      `# ${'x'.repeat(100 * 1024)}\n`,
      /it is \d+ bytes; the limit is 65536/,
    ),
    withConfig(
      'alias-bomb',
      'a YAML alias bomb',
      `a: &a [x,x,x,x,x,x,x,x,x]\n${Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ).join('\n')}\n`,
      /Unable to parse the configuration file .*(alias|Excessive)/i,
    ),
    withConfig(
      'world-writable',
      'a world-writable file',
      'username: devuser\n',
      /it is writable by every user/,
      0o666,
    ),
    withConfig(
      'symlink-dev-zero',
      'a symlink to /dev/zero',
      null,
      /it is a device or special file, not a regular file/,
      0o600,
      (ch) => ch.exec(['ln', '-s', '/dev/zero', CFG]),
    ),
    withConfig('directory', 'a directory', null, /it is a directory, not a regular file/, 0o600, (ch) =>
      ch.exec(['mkdir', CFG]),
    ),
  ]
  it(`config files: ${configs.map((b) => b.what).join('; ')}: each refused`, () => rejectAll(configs))

  // --- IDE names ---------------------------------------------------------------------------------
  const ides: Bad[] = [
    {
      id: 'ides.unknown',
      what: '--ides emacs',
      args: [...RUN_USER_CREATION, '--ides', 'emacs'],
      exit: 5,
      reason: /unknown IDE "emacs" \(allowed: vscode, cursor, antigravity\)/,
    },
    {
      id: 'ides.duplicate',
      what: '--ides vscode,vscode',
      args: [...RUN_USER_CREATION, '--ides', 'vscode,vscode'],
      exit: 5,
      reason: /IDE "vscode" is listed twice/,
    },
    {
      id: 'ides.metachars',
      what: '--ides "vscode;reboot"',
      args: [...RUN_USER_CREATION, '--ides', 'vscode;reboot'],
      exit: 5,
      reason: /unknown IDE "vscode;reboot"/,
    },
    {
      id: 'ides.env-duplicate',
      what: 'VPS_PROVISION_IDES=cursor,cursor',
      args: RUN_USER_CREATION,
      exit: 5,
      reason: /VPS_PROVISION_IDES: IDE "cursor" is listed twice/,
      opts: { env: { VPS_PROVISION_IDES: 'cursor,cursor' } },
    },
    withConfig(
      'ides-duplicate',
      'ides: [vscode, vscode] in the config file',
      'ides: [vscode, vscode]\n',
      /ides: expected each IDE at most once/,
    ),
  ]
  it(`IDE names: ${ides.map((b) => b.what).join('; ')}: each refused`, () => rejectAll(ides))

  // --- the host ----------------------------------------------------------------------------------
  const osRelease = (fields: Record<string, string>) =>
    `${Object.entries(fields)
      .map(([k, v]) => `${k}="${v}"`)
      .join('\n')}\n`
  let original = ''
  const saveOs = async (ch: Chroot) => {
    original = await ch.readFile('/usr/lib/os-release')
  }
  const restoreOs = async (ch: Chroot) => {
    await ch.writeFile('/usr/lib/os-release', original, { mode: 0o644 })
    await ch.exec(['ln', '-sfn', '../usr/lib/os-release', '/etc/os-release'])
  }
  const hosts: Bad[] = [
    {
      id: 'host.debian-12',
      what: 'Debian 12 (bookworm)',
      args: RUN_USER_CREATION,
      exit: 1,
      reason:
        /Debian GNU\/Linux 12 \(bookworm\) \(ID=debian, VERSION_ID=12\) \(required: ID=debian, VERSION_ID=13\)/,
      before: async (ch) => {
        await saveOs(ch)
        await ch.writeFile(
          '/usr/lib/os-release',
          osRelease({
            PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
            NAME: 'Debian GNU/Linux',
            VERSION_ID: '12',
            VERSION_CODENAME: 'bookworm',
            ID: 'debian',
          }),
        )
      },
      after: restoreOs,
    },
    {
      id: 'host.ubuntu',
      what: 'Ubuntu 24.04',
      args: RUN_USER_CREATION,
      exit: 1,
      reason: /Ubuntu 24\.04\.1 LTS \(ID=ubuntu, VERSION_ID=24\.04\)/,
      before: async (ch) => {
        await saveOs(ch)
        await ch.writeFile(
          '/usr/lib/os-release',
          osRelease({
            PRETTY_NAME: 'Ubuntu 24.04.1 LTS',
            NAME: 'Ubuntu',
            VERSION_ID: '24.04',
            ID: 'ubuntu',
            ID_LIKE: 'debian',
          }),
        )
      },
      after: restoreOs,
    },
    {
      id: 'host.no-os-release',
      what: 'neither /etc/os-release nor /usr/lib/os-release',
      args: RUN_USER_CREATION,
      exit: 1,
      reason: /neither \/etc\/os-release nor \/usr\/lib\/os-release \(required: Debian 13\)/,
      before: async (ch) => {
        await saveOs(ch)
        await ch.exec(['rm', '-f', '/etc/os-release', '/usr/lib/os-release'])
      },
      after: restoreOs,
    },
    {
      id: 'host.not-root.run',
      what: 'run as nobody',
      args: RUN_USER_CREATION,
      exit: 6,
      reason: /Unable to provision this machine: this needs root \(uid 0\)/,
      opts: { wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] },
    },
    {
      id: 'host.not-root.rollback',
      what: 'rollback as nobody',
      args: ['rollback', 'latest', '--yes'],
      exit: 6,
      reason: /Unable to roll back: this needs root \(uid 0\)/,
      opts: { wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] },
    },
    {
      id: 'no-tty.rollback',
      what: 'rollback without --yes, no terminal at all (setsid, stdin /dev/null)',
      args: ['rollback', 'latest'],
      exit: 5,
      reason: /Unable to roll back without confirmation: there is no terminal to ask on/,
      opts: { wrap: ['setsid', '--wait'], timeoutMs: 20_000 },
    },
  ]
  it(`hosts: ${hosts.map((b) => b.what).join('; ')}: each refused`, () => rejectAll(hosts))

  it('host: /etc/os-release missing but /usr/lib/os-release present is Debian 13 (os-release(5) fallback)', async () => {
    await fr.case(
      FILE,
      {
        id: 'hostile.host.etc-os-release-missing',
        area: AREA,
        case: '/etc/os-release deleted, /usr/lib/os-release intact',
        injection: 'rm /etc/os-release; `run --only preflight`',
        expected: 'preflight reads /usr/lib/os-release (os-release(5)) and passes; nothing changed',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          await saveOs(ch)
          await ch.exec(['rm', '-f', '/etc/os-release'])
          let r: ToolResult
          try {
            r = await fr.tool(ch, ['run', '--yes', '--plain', '--only', 'preflight'])
          } finally {
            await restoreOs(ch)
          }
          const os =
            r.stdout.split('\n').find((l) => l.includes('preflight.os:') && !l.includes('started')) ?? ''
          seen.push(`${exitText(r)}; ${os.replace(/^\S+ /, '').slice(0, 140)}`)
          expect(r.exitCode, tail(r)).toBe(0)
          expect(os).toMatch(/Debian GNU\/Linux 13 \(trixie\)/)
          expect(compareManifests(fr.baseline, await fr.manifest(ch), ALLOW).problems).toEqual([])
        })
      },
    )
  })

  it('host: too little free disk on /var (private-namespace tmpfs) is refused in preflight', async () => {
    await fr.case(
      FILE,
      {
        id: 'hostile.host.small-var',
        area: AREA,
        case: 'only ~1 GB free on /var',
        injection:
          "an empty 1 GiB tmpfs on the root's /var in a private mount namespace (`unshare --mount --propagation private`)",
        expected:
          'exit 1 naming the free space against the 10 GB required; the real /var untouched; manifest unchanged',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const env = Object.entries(CHROOT_BASE_ENV).map(([k, v]) => `${k}=${v}`)
          const script =
            'mount -t tmpfs -o size=1g,mode=0755 vps-small-var "$1/var" || exit 90; root=$1; shift; chroot "$root" "$@"'
          const r = await run(
            [
              'unshare',
              '--mount',
              '--propagation',
              'private',
              '--',
              'sh',
              '-c',
              script,
              'sh',
              fr.root,
              'env',
              '-i',
              ...env,
              'node',
              TOOL_IN_ROOT,
              ...RUN_USER_CREATION,
            ],
            { allowFailure: true, timeoutMs: 120_000 },
          )
          const failed = r.stderr.split('\n').find((l) => l.startsWith('Failed:')) ?? reasonOf(r)
          seen.push(`exit ${r.exitCode}: ${failed.slice(0, 160)}`)
          expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1)
          expect(failed).toMatch(/GB free on \/var \(required: 10 GB\)/)
          const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
          seen.push(describeComparison('the baseline', c))
          expect(c.problems).toEqual([])
        })
      },
    )
  })

  // --- environment -------------------------------------------------------------------------------
  it('reference run (for the environment cases), then rollback', async () => {
    await fr.inRoot(async (ch) => {
      const r = await fr.tool(ch, RUN_USER_CREATION)
      expect(r.exitCode, tail(r)).toBe(0)
      reference = await fr.manifest(ch)
      const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
      expect(rb.exitCode, tail(rb)).toBe(0)
    })
  })

  it('a hostile environment (evil PATH first, LD_PRELOAD, no HOME, tr_TR locale) changes nothing the tool runs', async () => {
    const evil = path.join(WORK_DIR, `evil-${process.pid}`)
    await mkdir(evil, { recursive: true })
    const tools = [
      'apt-get',
      'dpkg',
      'dpkg-query',
      'useradd',
      'usermod',
      'groupadd',
      'gpasswd',
      'chpasswd',
      'visudo',
      'flock',
      'id',
      'stat',
      'df',
      'find',
      'getent',
      'runuser',
      'sudo',
      'systemd-detect-virt',
      'install',
      'chown',
      'chmod',
    ]
    for (const t of tools)
      await writeFile(path.join(evil, t), `#!/bin/sh\necho "${t} $*" >> /srv/evil-ran\nexit 0\n`, {
        mode: 0o755,
      })
    const cc = await hostHas('cc')
    if (cc) {
      const src = path.join(evil, 'preload.c')
      await writeFile(
        src,
        '#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void mark(void) {\n  char b[64]; int n = 0; int f = open("/proc/self/comm", O_RDONLY);\n  if (f >= 0) { n = read(f, b, sizeof b); close(f); }\n  int o = open("/srv/evil-preload.log", O_WRONLY | O_APPEND | O_CREAT, 0644);\n  if (o >= 0 && n > 0) { write(o, b, n); close(o); }\n}\n',
      )
      await run(['cc', '-shared', '-fPIC', '-o', path.join(evil, 'preload.so'), src], { timeoutMs: 60_000 })
    }
    await fr.case(
      FILE,
      {
        id: 'hostile.environment',
        area: AREA,
        case: 'PATH with an evil directory first, LD_PRELOAD set, no HOME, LANG/LC_ALL=tr_TR.UTF-8',
        injection: `env -u HOME PATH=/srv/evil:$PATH LD_PRELOAD=/srv/evil/preload.so LANG=tr_TR.UTF-8 LC_ALL=tr_TR.UTF-8 vps-provision run (fake ${tools.length} tools in /srv/evil log when run)`,
        expected:
          'exit 0; no fake tool ever ran; the preload only in the tool process itself, in none of its children; manifest = a normal run; rollback = baseline',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          await ch.copyIn(evil, '/srv/evil')
          try {
            const wrap = [
              'env',
              '-u',
              'HOME',
              `PATH=/srv/evil:${CLEAN_PATH}`,
              ...(cc ? ['LD_PRELOAD=/srv/evil/preload.so'] : []),
              'LANG=tr_TR.UTF-8',
              'LC_ALL=tr_TR.UTF-8',
            ]
            const r = await fr.tool(ch, RUN_USER_CREATION, { wrap })
            seen.push(`run ${exitText(r)}`)
            expect(r.exitCode, tail(r, 60)).toBe(0)
            const ran = (await ch.sh('cat /srv/evil-ran 2>/dev/null || true')).stdout.trim()
            seen.push(`fake tools run: ${ran === '' ? 'none' : ran.replace(/\n/g, '; ').slice(0, 160)}`)
            expect(ran).toBe('')
            if (cc) {
              const loaded = [
                ...new Set(
                  (await ch.sh('cat /srv/evil-preload.log 2>/dev/null || true')).stdout
                    .split('\n')
                    .filter(Boolean),
                ),
              ]
              seen.push(`LD_PRELOAD ran in: ${loaded.join(', ') || 'nothing'}`)
              expect(loaded).toEqual(['node'])
            } else seen.push('no C compiler on the host: LD_PRELOAD pointed at a missing file')
            const c = compareIgnoringPassword(reference, await fr.manifest(ch))
            seen.push(describeComparison('a normal run', c))
            expect(c.problems).toEqual([])
            const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'])
            expect(rb.exitCode, tail(rb)).toBe(0)
          } finally {
            await ch.exec(['rm', '-rf', '/srv/evil', '/srv/evil-ran', '/srv/evil-preload.log'])
            await rm(evil, { recursive: true, force: true })
          }
          const c = compareManifests(fr.baseline, await fr.manifest(ch), ALLOW)
          seen.push(`after rollback: ${describeComparison('the baseline', c)}`)
          expect(c.problems).toEqual([])
        })
      },
    )
  })

  it('no terminal at all (setsid, stdin /dev/null): run never blocks and completes', async () => {
    await fr.case(
      FILE,
      {
        id: 'hostile.no-tty.run',
        area: AREA,
        case: 'run with no controlling terminal and stdin at /dev/null',
        injection: '`setsid --wait vps-provision run` with stdin /dev/null and a 120 s limit',
        expected:
          'exit 0 without waiting on input; the password filed in the 0600 credentials file, not printed',
      },
      async (seen) => {
        await fr.inRoot(async (ch) => {
          const r = await fr.tool(ch, RUN_USER_CREATION, { wrap: ['setsid', '--wait'], timeoutMs: 120_000 })
          seen.push(`${exitText(r)} in ${(r.durationMs / 1000).toFixed(1)} s`)
          expect(r.exitCode, tail(r)).toBe(0)
          expect(r.stdout).toMatch(/Password: in \/root\/vps-provision-credentials/)
          const rb = await fr.tool(ch, ['rollback', 'latest', '--yes', '--plain'], {
            wrap: ['setsid', '--wait'],
          })
          seen.push(`rollback --yes ${exitText(rb)}`)
          expect(rb.exitCode, tail(rb)).toBe(0)
          expect(compareManifests(fr.baseline, await fr.manifest(ch), ALLOW).problems).toEqual([])
        })
      },
    )
  })
})
