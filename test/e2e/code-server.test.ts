// Issue 22 item 1 on the booted trixie container: with codeServer.enabled a run of system-prep,
// user-creation and workspaces installs the code-server stand-in .deb (test/lab/code-server-stand-in.ts,
// served by the harness as the vendor's release download), files the developer's password in the
// root-only credentials file and starts code-server@USER on 127.0.0.1:8001. Through the container's
// loopback, a login with that password gets the app page and a request without it the login page; a
// wrong password is refused. verify names the code-server check ok; a re-run journals nothing; the
// password and its hash are in no journal, state file, log or process argv; rollback stops and
// disables the unit and removes the config, the password's block and the package.
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { sha256 } from '../../src/util/hash.js'
import { buildCodeServerStandIn, type CodeServerStandIn } from '../lab/code-server-stand-in.js'
import { sleep } from '../lab/mounts.js'
import { caseOf } from '../support/reliability.js'
import { regenerateReportAfterAll } from './faults-support.js'
import { stages } from './harness/stages.js'
import { collectToolState, readSession, startWorldWithTool, TOOL_CONFIG, tool } from './harness/tool.js'
import { e2eSkipReason, standInConfig, type World } from './harness/world.js'

const skip = await e2eSkipReason({})
if (skip) console.warn(`\n*** SKIPPED e2e code-server (issue 22 item 1): ${skip} ***\n`)

const FILE = 'test/e2e/code-server.test.ts'
const AREA = '22.1 code-server'
const REPRODUCE = '`E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/code-server.test.ts`:'
const BASE = 'system-prep,user-creation'
const PHASES = `${BASE},workspaces`
const USER = 'devuser'
const UNIT = `code-server@${USER}.service`
const CONFIG = `/home/${USER}/.config/code-server/config.yaml`
const CREDENTIALS = '/root/vps-provision-credentials'
const BLOCK = /# >>> vps-provision:code-server-devuser >>>\n[\s\S]*?^code-server-password=(.+)$/m

const proven = caseOf({ area: AREA, file: FILE, backend: 'container', reproduce: REPRODUCE })

describe.skipIf(skip !== null)('e2e code-server: a browser IDE per developer behind its password', () => {
  let w: World
  let cs: CodeServerStandIn
  let session = ''
  let password = ''
  let port = 0
  let rdpCredentials = ''
  const s = stages()
  regenerateReportAfterAll()

  beforeAll(async () => {
    w = await startWorldWithTool({ scenario: 'code-server', machineName: 'e2e-codesrv' })
    // Into the served stand-in directory, so the proxy serves it as the vendor's download.
    cs = await buildCodeServerStandIn(w.standIns.dir)
    const url = `${w.proxy.standInUrl('code-server')}/${cs.urlPath.replace(cs.version, '{version}').replace(cs.version, '{version}')}`
    const config = [
      standInConfig(w).trimEnd(),
      '  codeServer:',
      `    url: ${url}`,
      `    version: ${cs.version}`,
      `    sha256: ${cs.sha256}`,
      'codeServer:',
      '  enabled: true',
      '',
    ].join('\n')
    await w.machine.writeFile(TOOL_CONFIG, config, 0o600)
  }, 30 * 60_000)

  afterAll(async () => {
    if (!w) return
    await collectToolState(w).catch(() => undefined)
    const journal = await w.machine
      .exec(['journalctl', '-u', UNIT, '-o', 'short', '--no-pager'], { allowFailure: true })
      .catch(() => null)
    if (journal) await writeFile(path.join(w.dir, 'journal-code-server.txt'), journal.stdout)
    await s.writeTimings(w.dir)
    await w.close()
  }, 10 * 60_000)

  /** curl inside the container; the password only ever on its stdin, never in an argv. */
  const curl = (args: string[], stdin?: string) =>
    w.machine.exec(['curl', '-sS', '--max-time', '10', ...args], {
      allowFailure: true,
      ...(stdin === undefined ? {} : { stdin }),
    })
  const url = (p: string) => `http://127.0.0.1:${port}${p}`
  const title = (html: string) =>
    /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? `no title in: ${html.slice(0, 200)}`

  // The developer first, in a session of its own: rolling back code-server's session must then
  // leave the user, their home and the RDP password in place, and take exactly what it added.
  s.stage(`run --only ${BASE} makes the developer`, async () => {
    const r = await tool(w, ['run', '--yes', '--plain', '--only', BASE], { artifact: 'run-0' })
    expect(r.exitCode, r.stdout.slice(-3000) + r.stderr).toBe(0)
    rdpCredentials = (await w.machine.readFile(CREDENTIALS)) ?? ''
    expect(rdpCredentials).toMatch(/^password=/m)
  })

  s.stage('plan shows the new config with its diff, the hash hidden', async () => {
    const r = await tool(w, ['plan', '--only', 'workspaces'], { artifact: 'plan' })
    expect(r.exitCode, r.stdout.slice(-3000) + r.stderr).toBe(0)
    expect(r.stdout).toContain(`+++ ${CONFIG}`)
    expect(r.stdout).toContain('+bind-addr: 127.0.0.1:8001')
    expect(r.stdout).toContain(
      '+hashed-password: <SHA-256 of the password in the credentials file, not shown>',
    )
    expect(r.stdout).toContain('no code-server password filed for devuser yet')
  })

  s.stage(`run --only workspaces installs code-server and starts ${UNIT} on loopback`, () =>
    proven(
      {
        id: 'container.code-server.run',
        case: 'a run with codeServer.enabled installs the .deb and starts the unit with a filed password',
        injection: `config codeServer.enabled: true, sources.codeServer the stand-in .deb; after a run of ${BASE}, \`vps-provision run --yes --plain --only workspaces\``,
        expected: `exit 0; code-server installed; ${UNIT} active and enabled; ${CONFIG} 0600 ${USER} with bind-addr 127.0.0.1:8001 and hashed-password = sha256 of the password filed in ${CREDENTIALS} (0600 root); the summary prints the ssh -L line`,
      },
      async (seen) => {
        const r = await tool(w, ['run', '--yes', '--plain', '--only', 'workspaces'], { artifact: 'run-1' })
        seen.push(`run exit ${r.exitCode}`)
        expect(r.exitCode, r.stdout.slice(-3000) + r.stderr).toBe(0)
        session = r.sessionId ?? ''
        expect(session).not.toBe('')
        const active = await w.machine.exec(['systemctl', 'is-active', UNIT], { allowFailure: true })
        const enabled = await w.machine.exec(['systemctl', 'is-enabled', UNIT], { allowFailure: true })
        seen.push(`${UNIT}: ${active.stdout.trim()}, ${enabled.stdout.trim()}`)
        expect(active.stdout.trim()).toBe('active')
        expect(enabled.stdout.trim()).toBe('enabled')
        const st = await w.machine.exec(['stat', '-c', '%a %U', CONFIG, CREDENTIALS])
        seen.push(`modes: ${st.stdout.trim().replace('\n', '; ')}`)
        expect(st.stdout.trim().split('\n')).toEqual([`600 ${USER}`, '600 root'])
        const config = (await w.machine.readFile(CONFIG)) ?? ''
        password = BLOCK.exec((await w.machine.readFile(CREDENTIALS)) ?? '')?.[1] ?? ''
        expect(password.length).toBe(20)
        expect(config).toContain(`\nhashed-password: ${sha256(password)}\n`)
        port = Number(/^bind-addr: 127\.0\.0\.1:(\d+)$/m.exec(config)?.[1])
        seen.push(`bind-addr 127.0.0.1:${port}`)
        expect(port).toBe(8001)
        const tunnel = r.stdout.split('\n').find((l) => l.includes('code-server (devuser): ssh -L'))
        seen.push(`summary: ${tunnel?.trim()}`)
        expect(tunnel).toContain(`ssh -L 8001:127.0.0.1:8001 ${USER}@`)
        expect(r.stdout).not.toContain(password)
      },
    ),
  )

  s.stage('through the loopback: with the password the page, without it the login, a wrong one refused', () =>
    proven(
      {
        id: 'container.code-server.login',
        case: "code-server's login through the container's loopback",
        injection:
          'curl inside the container: GET / without a cookie; POST /login with a wrong password; POST /login with the filed password (on stdin), then GET / with the cookie',
        expected:
          'without: 302 to ./login and the login page; wrong: "Incorrect password", no cookie; right: 302 with code-server-session, then the app page (title code-server)',
      },
      async (seen) => {
        // The unit may still be binding right after the run.
        for (let i = 0; i < 20 && (await curl([url('/healthz')])).exitCode !== 0; i++) await sleep(500)
        const anon = await curl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', url('/')])
        seen.push(`GET / without a cookie: ${anon.stdout}`)
        expect(anon.stdout).toMatch(/^302 .*\/login$/)
        const login = await curl(['-L', url('/')])
        seen.push(`followed: ${title(login.stdout)}`)
        expect(title(login.stdout)).toBe('code-server login')
        const wrong = await curl(['-i', '--data-urlencode', 'password@-', url('/login')], 'not-the-password')
        seen.push(
          `wrong password: ${wrong.stdout.includes('Incorrect password') ? 'Incorrect password' : wrong.stdout.slice(0, 200)}`,
        )
        expect(wrong.stdout).toContain('Incorrect password')
        expect(wrong.stdout).not.toMatch(/^Set-Cookie:/im)
        const jar = '/root/code-server-e2e.jar'
        const right = await curl(
          [
            '-c',
            jar,
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            '--data-urlencode',
            'password@-',
            url('/login'),
          ],
          password,
        )
        seen.push(`right password: HTTP ${right.stdout}`)
        expect(right.stdout).toBe('302')
        const page = await curl(['-b', jar, url('/')])
        seen.push(`GET / with the cookie: ${title(page.stdout)}`)
        expect(title(page.stdout)).toBe('code-server')
        await w.machine.exec(['rm', '-f', jar])
        // The package's unit runs it as the developer (User=%i), not as root.
        const owner = await w.machine.exec(['ps', '-o', 'user=', '-C', 'node'])
        seen.push(`server process runs as: ${owner.stdout.trim()}`)
        expect(owner.stdout.trim()).toBe(USER)
      },
    ),
  )

  s.stage('verify --json names the code-server check ok', async () => {
    const r = await tool(w, ['verify', '--json'], { artifact: 'verify' })
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}')
    const check = (summary.checks ?? []).find(
      (c: { name: string }) => c.name === `verification.code-server-${USER}`,
    )
    expect(check, r.stdout.slice(-2000)).toMatchObject({ ok: true })
    expect(check.detail).toContain('HTTP 200')
  })

  s.stage('re-run journals nothing', () =>
    proven(
      {
        id: 'container.code-server.rerun',
        case: 'a second run with the same configuration',
        injection: `\`vps-provision run --yes --plain --only ${PHASES}\` again`,
        expected: 'exit 0; 0 actions; the same port and password',
      },
      async (seen) => {
        const r = await tool(w, ['run', '--yes', '--plain', '--only', PHASES], { artifact: 'run-2' })
        expect(r.exitCode, r.stdout.slice(-3000)).toBe(0)
        const again = await readSession(w.machine, r.sessionId ?? '')
        const actions = again.phases.reduce((n, p) => n + p.actions.length, 0)
        seen.push(`re-run exit ${r.exitCode}, ${actions} actions`)
        expect(actions).toBe(0)
        expect(BLOCK.exec((await w.machine.readFile(CREDENTIALS)) ?? '')?.[1]).toBe(password)
        expect((await w.machine.readFile(CONFIG)) ?? '').toContain(`127.0.0.1:${port}`)
      },
    ),
  )

  s.stage('the password and its hash are in no journal, state file, log or argv', () =>
    proven(
      {
        id: 'container.code-server.secrets',
        case: "code-server's password after a run, a verify and a re-run",
        injection:
          "search (in the test process, never a grep argv) the tool's journals, sessions, checkpoints, backups and cache, /var/log, `journalctl -o export` and `ps -eo args`",
        expected: 'neither the password nor its SHA-256 in any of them',
      },
      async (seen) => {
        const secrets = [password, sha256(password)]
        const hits: string[] = []
        for (const dir of ['/var/log', '/var/vps-provision', '/var/cache/vps-provision']) {
          for (const file of await walk(w.machine.hostPath(dir))) {
            const text = await readFile(file, 'latin1')
            if (secrets.some((x) => text.includes(x))) hits.push(file)
          }
        }
        const journal = await w.machine.exec(['journalctl', '-o', 'export', '--no-pager'], {
          allowFailure: true,
        })
        if (secrets.some((x) => journal.stdout.includes(x))) hits.push('journalctl -o export')
        const ps = await w.machine.exec(['ps', '-eo', 'args'])
        if (secrets.some((x) => ps.stdout.includes(x))) hits.push('ps -eo args')
        seen.push(`searched; found in: ${hits.length === 0 ? 'nothing' : hits.join(', ')}`)
        expect(journal.stdout.length).toBeGreaterThan(1000)
        expect(hits).toEqual([])
      },
    ),
  )

  s.stage('rollback stops and disables the unit, removes the config, the block and the package', () =>
    proven(
      {
        id: 'container.code-server.rollback',
        case: 'rollback of the session that set up code-server',
        injection:
          '`vps-provision rollback SESSION --yes --plain` of the workspaces session, after verify and a re-run',
        expected: `exit 0; ${UNIT} inactive, not enabled; nothing on port 8001; ${CONFIG}, its directory, the unit file and the package gone; ${CREDENTIALS} byte for byte as the developer's run left it (the RDP login, no code-server block); the developer still there`,
      },
      async (seen) => {
        const r = await tool(w, ['rollback', session, '--yes', '--plain'], { artifact: 'rollback' })
        seen.push(`rollback exit ${r.exitCode}`)
        expect(r.exitCode, r.stdout.slice(-3000) + r.stderr).toBe(0)
        const active = await w.machine.exec(['systemctl', 'is-active', UNIT], { allowFailure: true })
        const enabled = await w.machine.exec(['systemctl', 'is-enabled', UNIT], { allowFailure: true })
        seen.push(`${UNIT}: ${active.stdout.trim()}, ${enabled.stdout.trim() || enabled.stderr.trim()}`)
        expect(active.stdout.trim()).not.toBe('active')
        expect(enabled.stdout.trim()).not.toBe('enabled')
        const listening = await curl([url('/healthz')])
        seen.push(`curl :${port}/healthz exit ${listening.exitCode}`)
        expect(listening.exitCode).not.toBe(0)
        // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not ours
        const format = '${Status}'
        const pkg = await w.machine.exec(['dpkg-query', '-W', '-f', format, 'code-server'], {
          allowFailure: true,
        })
        seen.push(`dpkg: ${pkg.stdout.trim() || pkg.stderr.trim()}`)
        expect(pkg.stdout).not.toMatch(/install ok installed/)
        expect(await w.machine.exists(CONFIG)).toBe(false)
        expect(await w.machine.exists('/usr/lib/systemd/system/code-server@.service')).toBe(false)
        expect(await w.machine.exists(`/etc/systemd/system/default.target.wants/${UNIT}`)).toBe(false)
        expect(await w.machine.exists(`/home/${USER}/.config/code-server`)).toBe(false)
        expect(await w.machine.exists(`/home/${USER}`)).toBe(true)
        seen.push('config and its directory, unit file, wants link: gone; the home stays')
        const credentials = (await w.machine.readFile(CREDENTIALS)) ?? ''
        seen.push(`${CREDENTIALS} as before the workspaces run: ${credentials === rdpCredentials}`)
        expect(credentials).toBe(rdpCredentials)
      },
    ),
  )
})

/** Every regular file under `dir` on the host side (symlinks not followed). */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const p = path.join(dir, name)
    const st = await lstat(p).catch(() => null)
    if (st?.isDirectory()) out.push(...(await walk(p)))
    else if (st?.isFile() && st.size < 64 * 1024 * 1024) out.push(p)
  }
  return out
}
