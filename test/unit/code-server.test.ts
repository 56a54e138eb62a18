// code-server (issue 22 item 1) on the fake Debian 13: the vendor's .deb installed like Cursor's,
// per developer a port from codeServer.ports (kept on re-runs; none free is a preflight error
// before any change), a password filed only in the root-only credentials file, a 0600 config whose
// hashed-password is that password's SHA-256, `code-server@USER` enabled and running, off loopback
// the certificate copied and the port opened in ufw; a re-run journals nothing, rollback returns
// the machine to its start, and neither the password nor its hash is in any state file, event or
// argv.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CODE_SERVER_PACKAGE } from '../../phases/workspaces/code-server.js'
import type { Config } from '../../src/config/schema.js'
import { DEFAULT_USERNAME as DEV } from '../../src/config/settings.js'
import { planUndoDrift } from '../../src/engine/undo-executor.js'
import { allocatePorts, credentialsMarker, filedPassword } from '../../src/facts/code-server.js'
import { blockContent, upsertBlock } from '../../src/facts/marked-block.js'
import { CREDENTIALS_FILE } from '../../src/steps/developer-password.js'
import { sha256 } from '../../src/util/hash.js'
import { engine } from '../helpers/engine.js'
import type { FakeSystem } from '../support/fake/index.js'
import { FAKE_TLS } from '../support/fake/tls-pair.js'
import { workstationConfig, workstationMachine, workstationWorld } from '../support/workstation-run.js'

const DEB = 'https://github.com/coder/code-server/releases/download/v4.138.0/code-server_4.138.0_amd64.deb'
const UNIT_FILE = '/usr/lib/systemd/system/code-server@.service'

/** The fake's .deb of code-server: the layout of the vendor's package (nfpm), its template unit. */
function withCodeServerDeb(sys: FakeSystem): FakeSystem {
  const deb = {
    name: CODE_SERVER_PACKAGE,
    version: '4.138.0',
    bin: ['/usr/lib/code-server/bin/code-server', '/usr/lib/code-server/lib/node', '/usr/bin/code-server'],
    files: {
      [UNIT_FILE]:
        '[Unit]\nDescription=code-server\nAfter=network.target\n\n[Service]\nType=exec\nExecStart=/usr/bin/code-server\nRestart=always\nUser=%i\n\n[Install]\nWantedBy=default.target\n',
    },
    templates: ['code-server@.service'],
  }
  sys.web.set(DEB, Buffer.from(JSON.stringify(deb)))
  return sys
}

const on = (over: object = {}, top: object = {}): Config =>
  workstationConfig({ codeServer: { enabled: true, ...over }, ...top })

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

function world(sys = withCodeServerDeb(workstationMachine())) {
  const w = workstationWorld(sys)
  roots.push(w.root)
  return w
}

const actions = (s: { phases: { actions: number }[] }) => s.phases.reduce((n, p) => n + p.actions, 0)
const config = (sys: FakeSystem, user = DEV) => sys.readText(`/home/${user}/.config/code-server/config.yaml`)

/** Every file under the state root, as text: journal, sessions, checkpoints, backups, stamps. */
function stateText(root: string): string {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(readFileSync(p, 'utf8'))
    }
  }
  walk(root)
  return out.join('\n')
}

describe('code-server on the fake Debian 13', () => {
  it('is off by default: no step, no check', async () => {
    const w = world()
    const plan = await engine.plan(w.deps, workstationConfig())
    const ids = plan.phases.flatMap((p) => p.steps.map((s) => s.step))
    expect(ids.filter((id) => id.includes('code-server'))).toEqual([])
  })

  it('installs, files the password, writes a 0600 config with its hash, starts the unit; re-run 0 actions; rollback to the start', async () => {
    const sys = withCodeServerDeb(workstationMachine())
    const initial = sys.snapshot()
    const w = world(sys)
    const first = await engine.run(w.deps, on(), { force: false })
    expect(first.exitCode, JSON.stringify(first.lines)).toBe(0)
    expect(sys.packageVersion(CODE_SERVER_PACKAGE)).toBe('4.138.0')

    const password = await filedPassword(sys, CREDENTIALS_FILE, DEV)
    expect(password).toMatch(/^\S{20}$/)
    const hash = sha256(password as string)
    const text = config(sys) ?? ''
    expect(text).toMatch(/^bind-addr: 127\.0\.0\.1:8001$/m)
    expect(text).toMatch(/^auth: password$/m)
    expect(text).toContain(`\nhashed-password: ${hash}\n`)
    expect(text).toMatch(/^cert: false$/m)
    expect(text).not.toContain(password as string)
    const dev = sys.accounts.user(DEV)
    expect(await sys.stat(`/home/${DEV}/.config/code-server/config.yaml`)).toMatchObject({
      mode: 0o600,
      uid: dev?.uid,
      gid: dev?.gid,
    })
    expect(await sys.stat(`/home/${DEV}/.config/code-server`)).toMatchObject({ kind: 'dir', mode: 0o700 })
    expect(await sys.stat(CREDENTIALS_FILE)).toMatchObject({ mode: 0o600, uid: 0, gid: 0 })
    // The RDP login stays in the file beside our block.
    expect(sys.readText(CREDENTIALS_FILE)).toMatch(new RegExp(`^username=${DEV}\npassword=`, 'm'))
    expect(blockContent(sys.readText(CREDENTIALS_FILE) ?? '', credentialsMarker(DEV))).toContain(
      `code-server-password=${password}`,
    )
    expect(sys.service(`code-server@${DEV}.service`)).toEqual({ enabled: true, active: true })
    // The summary: the tunnel line and where the password is, never the password.
    expect(first.lines).toContain(
      `code-server (${DEV}): ssh -L 8001:127.0.0.1:8001 ${DEV}@127.0.0.1   then open http://localhost:8001`,
    )
    expect(first.lines.join('\n')).toContain(`password: in ${CREDENTIALS_FILE}`)

    // Nowhere but the credentials file and the config: no state file, event or argv has either.
    const state = stateText(w.root)
    const events = JSON.stringify(w.events)
    const argv = JSON.stringify(sys.execLog)
    for (const secret of [password as string, hash]) {
      expect(state).not.toContain(secret)
      expect(events).not.toContain(secret)
      expect(argv).not.toContain(secret)
    }

    const verified = await engine.verify(w.deps, on())
    expect(verified.exitCode, JSON.stringify(verified.lines)).toBe(0)
    expect(verified.checks?.find((c) => c.name === `verification.code-server-${DEV}`)).toMatchObject({
      ok: true,
    })

    const again = await engine.run(w.deps, on(), { force: false })
    expect(again.exitCode).toBe(0)
    expect(actions(again)).toBe(0)
    expect(await filedPassword(sys, CREDENTIALS_FILE, DEV)).toBe(password)

    const back = await engine.rollback(w.deps, { session: first.sessionId, to: null, force: false })
    expect(back.exitCode, JSON.stringify(back.lines)).toBe(0)
    expect(sys.packageVersion(CODE_SERVER_PACKAGE)).toBeNull()
    expect(sys.service(`code-server@${DEV}.service`)).toBeNull()
    expect(sys.snapshot()).toEqual(initial)
  })

  it('rolls back alone to the run before it: unit stopped and disabled, config, block and package gone', async () => {
    const sys = withCodeServerDeb(workstationMachine())
    const w = world(sys)
    expect((await engine.run(w.deps, workstationConfig(), { force: false })).exitCode).toBe(0)
    const before = sys.snapshot()
    const rdp = sys.readText(CREDENTIALS_FILE)
    const run = await engine.run(w.deps, on(), { force: false })
    expect(run.exitCode).toBe(0)
    expect(actions(run)).toBeGreaterThan(0)
    const back = await engine.rollback(w.deps, { session: run.sessionId, to: null, force: false })
    expect(back.exitCode, JSON.stringify(back.lines)).toBe(0)
    expect(sys.readText(CREDENTIALS_FILE)).toBe(rdp)
    expect(config(sys)).toBeNull()
    expect(sys.packageVersion(CODE_SERVER_PACKAGE)).toBeNull()
    expect(sys.snapshot()).toEqual(before)
  })

  it("at a terminal the RDP password is shown, code-server's still filed, and the summary tells them apart", async () => {
    const w = world()
    w.deps.interactive = true
    const run = await engine.run(w.deps, on(), { force: false })
    expect(run.exitCode, JSON.stringify(run.lines)).toBe(0)
    expect(run.credentials?.username).toBe(DEV)
    const text = w.sys.readText(CREDENTIALS_FILE) ?? ''
    // Only our block: no RDP login in the file, and the summary does not send anyone looking for one.
    expect(text).not.toMatch(/^password=/m)
    expect(await filedPassword(w.sys, CREDENTIALS_FILE, DEV)).toMatch(/^\S{20}$/)
    expect(run.lines).toContain(
      'Password: shown once when it was generated; reset it with `passwd` as root if lost',
    )
    expect(run.lines.join('\n')).toContain(`password: in ${CREDENTIALS_FILE}`)
  })

  it('plan shows the config diff with the hash hidden and says the password is to be filed', async () => {
    const w = world()
    expect((await engine.run(w.deps, workstationConfig(), { force: false })).exitCode).toBe(0)
    const plan = await engine.plan(w.deps, on())
    const steps = plan.phases.flatMap((p) => p.steps)
    const cfgStep = steps.find((s) => s.step === `workspaces.code-server.config.${DEV}`)
    expect(cfgStep?.why).toContain(`no code-server password filed for ${DEV} yet`)
    expect(cfgStep?.diff).toContain('+bind-addr: 127.0.0.1:8001')
    expect(cfgStep?.diff).toContain(
      '+hashed-password: <SHA-256 of the password in the credentials file, not shown>',
    )
    expect(steps.find((s) => s.step === 'workspaces.code-server-install')?.done).toBe(false)
    expect(steps.find((s) => s.step === `workspaces.code-server.service.${DEV}`)?.done).toBe(false)
  })
})

describe('code-server ports', () => {
  it('takes the first free port of the range, skipping one something listens on, and keeps it on a re-run', async () => {
    const sys = withCodeServerDeb(workstationMachine())
    const w = world(sys)
    // xrdp on 8001 (its own port setting): code-server must not take it.
    const top = { rdp: { port: 8001 } }
    const run = await engine.run(w.deps, on({}, top), { force: false })
    expect(run.exitCode, JSON.stringify(run.lines)).toBe(0)
    expect(config(sys)).toMatch(/^bind-addr: 127\.0\.0\.1:8002$/m)
    // A port the developer's config already has (in the range) is theirs on the next run.
    const text = (config(sys) ?? '').replace(':8002', ':8050')
    await sys.writeFile(`/home/${DEV}/.config/code-server/config.yaml`, text, {
      mode: 0o600,
      uid: sys.accounts.user(DEV)?.uid ?? 0,
      gid: sys.accounts.user(DEV)?.gid ?? 0,
    })
    const again = await engine.run(w.deps, on({}, top), { force: false })
    expect(again.exitCode).toBe(0)
    // Only the restart for the edited file: the port stays.
    expect(config(sys)).toMatch(/^bind-addr: 127\.0\.0\.1:8050$/m)
  })

  it('gives each developer their own port, in order, and a later developer the next free one', async () => {
    const sys = withCodeServerDeb(workstationMachine())
    const w = world(sys)
    const team = (names: string[]) => ({ users: names.map((name) => ({ name })) })
    expect((await engine.run(w.deps, on({}, team([DEV])), { force: false })).exitCode).toBe(0)
    expect(config(sys)).toMatch(/:8001$/m)
    const a = await allocatePorts(sys, [DEV, 'bob'], { lo: 8001, hi: 8100 })
    expect([...a.ports]).toEqual([
      [DEV, 8001],
      ['bob', 8002],
    ])
    const run = await engine.run(w.deps, on({}, team([DEV, 'bob'])), { force: false })
    expect(run.exitCode, JSON.stringify(run.lines)).toBe(0)
    expect(config(sys)).toMatch(/:8001$/m)
    expect(config(sys, 'bob')).toMatch(/^bind-addr: 127\.0\.0\.1:8002$/m)
    const alice = await filedPassword(sys, CREDENTIALS_FILE, DEV)
    const bob = await filedPassword(sys, CREDENTIALS_FILE, 'bob')
    expect(bob).not.toBeNull()
    expect(bob).not.toBe(alice)
  })

  it('stops in preflight, naming the range, when no port is free, before any change', async () => {
    const sys = withCodeServerDeb(workstationMachine())
    const w = world(sys)
    expect(
      (await engine.run(w.deps, workstationConfig({ rdp: { port: 8001 } }), { force: false })).exitCode,
    ).toBe(0)
    const before = sys.snapshot()
    const r = await engine.run(w.deps, on({ ports: '8001-8001' }, { rdp: { port: 8001 } }), { force: false })
    expect(r.exitCode).toBe(1)
    expect(r.lines.join('\n')).toContain(`no free port in codeServer.ports 8001-8001 for ${DEV}`)
    expect(actions(r)).toBe(0)
    expect(sys.snapshot()).toEqual(before)
  })
})

describe('code-server off loopback', () => {
  it('copies the certificate for the developer, names it in the config and opens the port in ufw', async () => {
    const sys = withCodeServerDeb(workstationMachine())
    await sys.writeFile('/root/cs.crt', FAKE_TLS.cert, { mode: 0o644, uid: 0, gid: 0 })
    await sys.writeFile('/root/cs.key', FAKE_TLS.key, { mode: 0o600, uid: 0, gid: 0 })
    const initial = sys.snapshot()
    const w = world(sys)
    const cfg = on({ bindAddress: '0.0.0.0', certificate: '/root/cs.crt', key: '/root/cs.key' })
    const run = await engine.run(w.deps, cfg, { force: false })
    expect(run.exitCode, JSON.stringify(run.lines)).toBe(0)
    const text = config(sys) ?? ''
    expect(text).toMatch(/^bind-addr: 0\.0\.0\.0:8001$/m)
    expect(text).toContain(`cert: /home/${DEV}/.config/code-server/tls.crt\n`)
    expect(text).toContain(`cert-key: /home/${DEV}/.config/code-server/tls.key\n`)
    expect(sys.readText(`/home/${DEV}/.config/code-server/tls.key`)).toBe(FAKE_TLS.key)
    expect(await sys.stat(`/home/${DEV}/.config/code-server/tls.key`)).toMatchObject({ mode: 0o600 })
    const ufw = await sys.exec(['ufw', 'show', 'added'])
    expect(ufw.stdout).toContain('ufw allow 8001/tcp')
    expect(run.lines).toContain(`code-server (${DEV}): https://127.0.0.1:8001`)
    expect(actions(await engine.run(w.deps, cfg, { force: false }))).toBe(0)
    const back = await engine.rollback(w.deps, { session: run.sessionId, to: null, force: false })
    expect(back.exitCode, JSON.stringify(back.lines)).toBe(0)
    expect(sys.snapshot()).toEqual(initial)
  })
})

describe('rollback drift of the credentials file: written whole, then our block in it', () => {
  const file = '/root/creds'
  const whole = 'username=devuser\npassword=rdp\n'
  const block = {
    kind: 'restore-block',
    path: file,
    marker: 'code-server-devuser',
    previous: null,
    removeEmptyFile: false,
  } as const
  // Newest first, as rollback runs them: the block's undo, then the older whole-file write's.
  const actions = [
    { undo: block, written: null },
    { undo: { kind: 'remove-file', path: file } as const, written: { [file]: sha256(whole) } },
  ]

  it('judges the older write against what removing the block leaves: not drifted', async () => {
    const sys = workstationMachine()
    await sys.writeFile(file, upsertBlock(whole, 'code-server-devuser', 'code-server-password=x\n'), {
      mode: 0o600,
      uid: 0,
      gid: 0,
    })
    expect(await planUndoDrift(sys, actions)).toEqual([])
  })

  it('still names the file when someone edited it outside our block', async () => {
    const sys = workstationMachine()
    const edited = upsertBlock(`${whole}# my note\n`, 'code-server-devuser', 'code-server-password=x\n')
    await sys.writeFile(file, edited, { mode: 0o600, uid: 0, gid: 0 })
    expect(await planUndoDrift(sys, actions)).toEqual([file])
  })
})
