import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { CliDeps } from '../../src/cli/deps.js'
import { runCli } from '../../src/cli/run-cli.js'
import { wireSignals } from '../../src/cli/signals.js'
import type { Config } from '../../src/config/schema.js'
import type { Engine, EngineDeps, LogView, PlanReport, RollbackOptions } from '../../src/engine/api.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT, ProvisionError } from '../../src/model/errors.js'
import type { Summary } from '../../src/model/events.js'
import type { ProvisioningSession } from '../../src/model/schemas.js'
import type { System } from '../../src/system/port.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const TS = '2026-11-26T10:00:00.000Z'
const ID = '20261126-100000-abc123'

const summary = (over: Partial<Summary> = {}): Summary => ({
  sessionId: ID,
  status: 'COMPLETED',
  exitCode: 0,
  durationSeconds: 61,
  phases: [{ name: 'preflight', status: 'COMPLETED', durationSeconds: 1, actions: 0 }],
  lines: ['RDP address: 203.0.113.7:3389', 'Username: devuser'],
  credentials: null,
  ...over,
})

const session: ProvisioningSession = {
  session_id: ID,
  command: 'run',
  start_time: TS,
  end_time: TS,
  status: 'COMPLETED',
  phases: [],
  error_details: null,
  duration_seconds: 61,
  vps_info: null,
  developer_user: null,
  rdp_certificate: null,
  ide_installations: [],
}

/** A test double of the Engine, injected: records calls, emits a short session, returns canned values. */
function fakeEngine(over: Partial<Engine> = {}) {
  const calls: { method: string; cfg?: Config; opts?: unknown; deps?: EngineDeps }[] = []
  const play = (deps: EngineDeps, s: Summary) => {
    deps.emit({ type: 'session-start', ts: TS, command: 'run', sessionId: s.sessionId, phases: [] })
    deps.emit({ type: 'message', ts: TS, level: 'info', text: 'hello' })
    deps.emit({ type: 'session-end', ts: TS, summary: s })
    return s
  }
  const engine: Engine = {
    async run(deps, cfg, opts) {
      calls.push({ method: 'run', cfg, opts, deps })
      return play(deps, summary())
    },
    async plan(deps, cfg) {
      calls.push({ method: 'plan', cfg, deps })
      const report: PlanReport = {
        phases: [
          {
            name: 'rdp-config',
            title: 'Remote desktop',
            skipped: null,
            steps: [
              {
                phase: 'rdp-config',
                step: 'rdp.ini',
                title: 'xrdp.ini',
                done: false,
                why: 'port',
                diff: '+port=1',
              },
            ],
          },
        ],
      }
      return report
    },
    async verify(deps, cfg) {
      calls.push({ method: 'verify', cfg, deps })
      return play(deps, summary({ sessionId: '-', exitCode: EXIT.verification, status: 'FAILED' }))
    },
    async rollback(deps, opts: RollbackOptions) {
      calls.push({ method: 'rollback', opts, deps })
      return play(deps, summary({ status: 'ROLLED_BACK' }))
    },
    async removeUser(deps, opts) {
      calls.push({ method: 'removeUser', opts, deps })
      return play(deps, summary({ status: 'ROLLED_BACK' }))
    },
    async status(_paths, id) {
      calls.push({ method: 'status', opts: id })
      return session
    },
    async sessions() {
      calls.push({ method: 'sessions' })
      return [session]
    },
    async log(_paths, id) {
      calls.push({ method: 'log', opts: id })
      const view: LogView = { session, entries: [], warnings: [], damage: null }
      return view
    },
    async revertPending(_deps, id) {
      calls.push({ method: 'revertPending', opts: id })
      return {
        sessionId: id,
        lines: ['removed /etc/ssh/sshd_config.d/00-vps-provision.conf'],
        journaled: true,
      }
    },
    async confirmSsh(_deps, caller) {
      calls.push({ method: 'confirmSsh', opts: caller })
      return {
        confirmed: true,
        sessionId: '20260101-000000-abcdef',
        timer: 'vps-provision-revert-20260101-000000-abcdef.timer',
      }
    },
    ...over,
  }
  return { engine, calls }
}

function deps(over: Partial<CliDeps> = {}): CliDeps {
  return {
    engine: fakeEngine().engine,
    system: { name: 'unused' } as unknown as System,
    paths: statePaths(dir),
    env: {},
    getuid: () => 0,
    version: '1.2.3',
    defaultConfigFile: join(dir, 'absent.yaml'),
    ...over,
  }
}

const noStack = (text: string) => expect(text).not.toContain('    at ')

describe('help and version', () => {
  it.each(['run', 'plan', 'rollback', 'status', 'sessions', 'log', 'verify'])(
    '%s --help has Examples',
    async (cmd) => {
      const r = await runCli([cmd, '--help'], deps())
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toContain('Examples:')
      expect(r.stdout).toMatch(/\n {2}(sudo )?vps-provision /)
    },
  )

  it('the root help lists the exit codes', async () => {
    const r = await runCli(['--help'], deps())
    expect(r.exitCode).toBe(0)
    for (const code of [0, 1, 2, 3, 4, 5, 6, 75, 129, 130, 143])
      expect(r.stdout).toMatch(new RegExp(`\\n {2}${code} +\\S`))
    expect(r.stdout).toContain('Examples:')
  })

  it('help <command> is help too', async () => {
    const r = await runCli(['help', 'rollback'], deps())
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('Usage: vps-provision rollback')
  })

  it('--version', async () => {
    expect(await runCli(['--version'], deps())).toMatchObject({ exitCode: 0, stdout: '1.2.3\n' })
  })

  it('no command shows the help and is a usage error', async () => {
    const r = await runCli([], deps())
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stderr).toContain('Usage: vps-provision')
  })
})

describe('usage errors exit 5 with a one-line reason and no stack', () => {
  it.each([
    [['run', '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['run', '--ides', 'vscode,emacs'], /unknown IDE "emacs" \(allowed: vscode, cursor, antigravity\)/],
    [['run', '--ides', 'vscode,vscode'], /IDE "vscode" is listed twice/],
    [['plan', '--only', 'desktop'], /unknown phase "desktop" \(allowed: preflight, system-prep, /],
    [['run', '--skip', 'preflight,nope'], /unknown phase "nope"/],
    [['run', '--rdp-port', 'abc'], /expected a whole number, got "abc"/],
    [['run', '--rdp-firewall', 'closed'], /Allowed choices are open, tunnel/],
    [['run', '--rdp-port', '0'], /rdp\.port: expected a whole number from 1 to 65535, got 0 \(--rdp-port\)/],
    [['rollback'], /missing required argument 'session'/],
    [['rollback', '../etc', '--yes'], /is not a session id/],
    [['status', 'x/../../y'], /is not a session id/],
    [['log', 'latest', 'extra'], /too many arguments/],
    [['run', '--config', join(dir, 'nope.yaml')], /no such file/],
  ])('%j', async (argv, pattern) => {
    const { engine, calls } = fakeEngine()
    const r = await runCli(argv, deps({ engine }))
    expect(r.exitCode).toBe(EXIT.usage)
    const reason = r.stderr.split('\n')[0] ?? ''
    expect(reason).toMatch(pattern)
    expect(r.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2)
    noStack(r.stderr)
    expect(calls.filter((c) => c.method !== 'status' && c.method !== 'log')).toEqual([])
  })

  it.each(['Admin', '1abc', '-rf', 'a;rm -rf /', '$(id)', 'a b', '../x', 'a'.repeat(33), ''])(
    'bad username %j',
    async (name) => {
      const { engine, calls } = fakeEngine()
      const r = await runCli(['run', '--username', name], deps({ engine }))
      expect(r.exitCode).toBe(EXIT.usage)
      expect(r.stderr.split('\n')[0]).toMatch(
        /^Unable to use the configuration: username: expected a lowercase name.*\(--username\)$/,
      )
      expect(r.stderr).toMatch(/\nhint: /)
      noStack(r.stderr)
      expect(calls).toEqual([])
    },
  )

  it('--json turns the error into one JSON object on stdout', async () => {
    const r = await runCli(['run', '--json', '--username', 'Admin'], deps())
    expect(r.exitCode).toBe(EXIT.usage)
    const err = JSON.parse(r.stdout)
    expect(err).toMatchObject({ exitCode: 5, error: expect.stringMatching(/username/) })
    expect(r.stderr).toBe('')
  })
})

describe('configuration precedence through the CLI: flags > env > file', () => {
  const config = join(dir, 'prec.yaml')
  writeFileSync(config, 'username: fromfile\nrdp:\n  port: 4000\n')
  it.each([
    [{}, [], 'fromfile', 4000],
    [{ VPS_PROVISION_USERNAME: 'fromenv' }, [], 'fromenv', 4000],
    [
      { VPS_PROVISION_USERNAME: 'fromenv', VPS_PROVISION_RDP_PORT: '5000' },
      ['--username', 'fromflag'],
      'fromflag',
      5000,
    ],
    [{ VPS_PROVISION_RDP_PORT: '5000' }, ['--rdp-port', '6000'], 'fromfile', 6000],
  ])('env %j flags %j', async (env, flags, username, port) => {
    const { engine, calls } = fakeEngine()
    const r = await runCli(['run', '--config', config, ...flags], deps({ engine, env }))
    expect(r.exitCode).toBe(0)
    expect(calls[0]?.cfg?.username).toBe(username)
    expect(calls[0]?.cfg?.rdp.port).toBe(port)
  })

  it('passes --only, --skip, --ides and --force through', async () => {
    const { engine, calls } = fakeEngine()
    await runCli(
      ['run', '--only', 'rdp-config', '--skip', 'verification', '--ides', 'cursor', '--force'],
      deps({ engine }),
    )
    expect(calls[0]?.cfg).toMatchObject({ only: ['rdp-config'], skip: ['verification'], ides: ['cursor'] })
    expect(calls[0]?.opts).toEqual({ force: true })
  })
})

describe('run', () => {
  it('needs root, checked before anything else', async () => {
    const { engine, calls } = fakeEngine()
    const r = await runCli(['run', '--username', 'Admin'], deps({ engine, getuid: () => 1000 }))
    expect(r.exitCode).toBe(EXIT.notRoot)
    expect(r.stderr).toMatch(/^Unable to provision this machine: this needs root/)
    expect(r.stderr).toContain('hint: Run it as root: sudo vps-provision run')
    expect(calls).toEqual([])
  })

  it('prints the summary and exits with its code', async () => {
    const r = await runCli(['run'], deps())
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain(`Session ${ID}: COMPLETED in 1m 01s (exit 0)`)
    expect(r.stdout).toContain('RDP address: 203.0.113.7:3389')
    expect(r.stdout).toMatch(/\[session\] info: hello/)
  })

  it('is not interactive without a terminal, nor with --json', async () => {
    const { engine, calls } = fakeEngine()
    await runCli(['run'], deps({ engine }))
    await runCli(['run', '--json'], deps({ engine, stdout: { isTTY: true, write: () => true } }))
    expect(calls.map((c) => c.deps?.interactive)).toEqual([false, false])
  })

  it('--json output is NDJSON with the summary last', async () => {
    const r = await runCli(['run', '--json'], deps())
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => l.type)).toEqual(['session-start', 'message', 'session-end', undefined])
    expect(lines.at(-1)).toEqual(summary())
  })

  it('an engine holding no lock -> 75 with the message and hint', async () => {
    const { engine } = fakeEngine({
      run: async () => {
        throw new ProvisionError(
          'Unable to take the lock: session X (pid 42) holds it',
          EXIT.locked,
          'wait for it',
        )
      },
    })
    const r = await runCli(['run'], deps({ engine }))
    expect(r.exitCode).toBe(EXIT.locked)
    expect(r.stderr).toBe('Unable to take the lock: session X (pid 42) holds it\nhint: wait for it\n')
  })

  it('an unexpected error -> 2 without a stack, unless VPS_PROVISION_DEBUG=1', async () => {
    const { engine } = fakeEngine({
      run: async () => {
        throw new TypeError('boom')
      },
    })
    const r = await runCli(['run'], deps({ engine }))
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stderr).toBe('Unable to provision this machine: boom\n')
    const debug = await runCli(['run'], deps({ engine, env: { VPS_PROVISION_DEBUG: '1' } }))
    expect(debug.stderr).toContain('    at ')
  })

  it('a failed summary gives its exit code; its error goes to stderr, the report stays on stdout', async () => {
    const failed = summary({
      status: 'FAILED',
      exitCode: EXIT.provisioning,
      lines: [
        'Username: devuser',
        'Failed: rdp-config: Unable to start xrdp: boom',
        `Undo:   rollback ${ID}`,
      ],
    })
    const { engine } = fakeEngine({ run: async () => failed })
    const r = await runCli(['run'], deps({ engine }))
    expect(r.exitCode).toBe(EXIT.provisioning)
    expect(r.stdout).toContain('Username: devuser')
    expect(r.stdout).not.toContain('Failed:')
    expect(r.stderr).toBe(`Failed: rdp-config: Unable to start xrdp: boom\nUndo:   rollback ${ID}\n`)
    // --json: the whole summary is the last line on stdout, as before; nothing on stderr.
    const j = await runCli(['run', '--json'], deps({ engine }))
    expect(JSON.parse(j.stdout.trimEnd().split('\n').at(-1) ?? '')).toEqual(failed)
    expect(j.stderr).toBe('')
  })

  it('keeps working when stdout is dead (EPIPE)', async () => {
    const stdout = {
      isTTY: false,
      write: () => {
        throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })
      },
    }
    const { engine, calls } = fakeEngine()
    const r = await runCli(['run'], deps({ engine, stdout }))
    expect(r.exitCode).toBe(0)
    expect(calls).toHaveLength(1)
  })

  it('a throwing renderer does not stop the engine', async () => {
    const { engine, calls } = fakeEngine({
      run: async (d) => {
        d.emit({ type: 'session-end', ts: TS, summary: null as unknown as Summary })
        calls.push({ method: 'after' })
        return summary()
      },
    })
    const r = await runCli(['run', '--plain'], deps({ engine }))
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toMatch(/warning: the progress display failed/)
    expect(calls.map((c) => c.method)).toEqual(['after'])
  })
})

describe('signals', () => {
  it('an interrupted run exits with the signal code and says how to resume', async () => {
    const controller = new AbortController()
    const { engine } = fakeEngine({
      run: async (d) => {
        d.emit({ type: 'session-start', ts: TS, command: 'run', sessionId: ID, phases: [] })
        controller.abort('SIGINT')
        throw new ProvisionError('Stopped by SIGINT', 130, 'resume')
      },
    })
    const r = await runCli(['run'], deps({ engine, signal: controller.signal }))
    expect(r.exitCode).toBe(130)
    expect(r.stderr).toContain('Stopped by SIGINT: the action in progress was finished and recorded.')
    expect(r.stderr).toContain('Resume:  vps-provision run')
    expect(r.stderr).toContain(`Undo:    vps-provision rollback ${ID}`)
    expect(r.stderr.match(/Stopped by SIGINT/g)).toHaveLength(1)
  })

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ])('%s -> %i, even when the engine returned its own summary', async (name, code) => {
    const controller = new AbortController()
    const { engine } = fakeEngine({
      run: async () => {
        controller.abort(name)
        return summary({ status: 'FAILED', exitCode: 130 })
      },
    })
    const r = await runCli(['run'], deps({ engine, signal: controller.signal }))
    expect(r.exitCode).toBe(code)
    expect(r.stderr).toContain(`Stopped by ${name}`)
  })

  it('the first signal aborts; later ones only say "still stopping"', () => {
    const proc = new EventEmitter()
    const controller = new AbortController()
    const said: string[] = []
    const unwire = wireSignals(proc, controller, (l) => said.push(l))
    proc.emit('SIGTERM')
    proc.emit('SIGINT')
    expect(controller.signal.reason).toBe('SIGTERM')
    expect(said[1]).toMatch(/^still stopping/)
    unwire()
    expect(proc.listenerCount('SIGINT')).toBe(0)
  })
})

describe('rollback', () => {
  it('refuses without a terminal and without --yes, never reading stdin', async () => {
    const { engine, calls } = fakeEngine()
    const r = await runCli(['rollback', 'latest'], deps({ engine, confirm: async () => true }))
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stderr).toContain('hint: Pass --yes to confirm: vps-provision rollback latest --yes')
    expect(calls).toEqual([])
  })

  it('--yes rolls back with the options', async () => {
    const { engine, calls } = fakeEngine()
    const r = await runCli(['rollback', ID, '--yes', '--to', 'rdp-config', '--force'], deps({ engine }))
    expect(r.exitCode).toBe(0)
    expect(calls[0]?.opts).toEqual({ session: ID, to: 'rdp-config', force: true })
  })

  it.each([
    [true, 0, 1],
    [false, EXIT.usage, 0],
  ])('asks on a terminal: answer %s', async (answer, code, called) => {
    const { engine, calls } = fakeEngine()
    const asked: string[] = []
    const tty = { isTTY: true, write: () => true }
    const confirm = async (q: string) => {
      asked.push(q)
      return answer
    }
    const r = await runCli(
      ['rollback', 'latest', '--plain'],
      deps({ engine, stdout: tty, stdinIsTTY: true, confirm }),
    )
    expect(r.exitCode).toBe(code)
    expect(asked[0]).toMatch(/Undo the changes of session latest/)
    expect(calls).toHaveLength(called)
  })

  it('needs root', async () => {
    expect((await runCli(['rollback', 'latest', '--yes'], deps({ getuid: () => 1000 }))).exitCode).toBe(
      EXIT.notRoot,
    )
  })
})

describe('read-only commands', () => {
  it('plan prints steps with why and diff; --json is the report', async () => {
    const r = await runCli(['plan'], deps({ getuid: () => 1000 }))
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('would apply  rdp.ini: xrdp.ini (port)')
    expect(r.stdout).toContain('+port=1')
    const j = await runCli(['plan', '--json'], deps())
    expect(JSON.parse(j.stdout).phases[0].name).toBe('rdp-config')
  })

  it('verify reports through the renderer and exits 4 on failure', async () => {
    const r = await runCli(['verify', '--json'], deps({ getuid: () => 1000 }))
    expect(r.exitCode).toBe(EXIT.verification)
    expect(JSON.parse(r.stdout.trimEnd().split('\n').at(-1) ?? '')).toMatchObject({ exitCode: 4 })
  })

  it('status, sessions and log, as text and JSON', async () => {
    const { engine, calls } = fakeEngine()
    expect((await runCli(['status'], deps({ engine }))).stdout).toContain(`Session ${ID} (run): COMPLETED`)
    expect(JSON.parse((await runCli(['status', ID, '--json'], deps({ engine }))).stdout).session_id).toBe(ID)
    expect((await runCli(['sessions'], deps({ engine }))).stdout).toMatch(new RegExp(`^Session .*\\n${ID}`))
    expect(JSON.parse((await runCli(['sessions', '--json'], deps({ engine }))).stdout)).toHaveLength(1)
    expect((await runCli(['log', 'latest'], deps({ engine }))).stdout).toContain('No recorded actions.')
    expect(calls.filter((c) => c.method === 'status').map((c) => c.opts)).toEqual(['latest', ID])
  })

  it('state files unreadable without root -> 6 with a clean message', async () => {
    const { engine } = fakeEngine({
      sessions: async () => {
        throw Object.assign(new Error("EACCES: permission denied, scandir '/var/vps-provision/sessions'"), {
          code: 'EACCES',
          path: '/var/vps-provision/sessions',
        })
      },
    })
    const r = await runCli(['sessions'], deps({ engine, getuid: () => 1000 }))
    expect(r.exitCode).toBe(EXIT.notRoot)
    expect(r.stderr).toBe(
      'Unable to list the sessions: permission denied on /var/vps-provision/sessions\n' +
        'hint: The state files of vps-provision are readable by root only: run it with sudo\n',
    )
  })

  it('colour only on a terminal, and never with --no-color or NO_COLOR', async () => {
    const tty = () => {
      const chunks: string[] = []
      return { chunks, stream: { isTTY: true, write: (s: string) => chunks.push(s) > 0 } }
    }
    const a = tty()
    await runCli(['status'], deps({ stdout: a.stream, colorLevel: 3 }))
    expect(a.chunks.join('')).toContain('\u001b[')
    const b = tty()
    await runCli(['status', '--no-color'], deps({ stdout: b.stream, colorLevel: 3 }))
    expect(b.chunks.join('')).not.toContain('\u001b[')
    const c = tty()
    await runCli(['status'], deps({ stdout: c.stream, colorLevel: 3, env: { NO_COLOR: '1' } }))
    expect(c.chunks.join('')).not.toContain('\u001b[')
  })
})

describe('confirm (lock-out insurance, engine/ssh-guard.ts)', () => {
  const SSH = '203.0.113.7 50444 192.0.2.10 22'

  it('a run at a terminal hands the engine its SSH connection; without one it is unattended', async () => {
    const { engine, calls } = fakeEngine()
    const tty = { isTTY: true, write: () => true }
    const sshdSession = async () => 4101
    await runCli(
      ['run'],
      deps({ engine, stdout: tty, stdinIsTTY: true, env: { SSH_CONNECTION: SSH }, sshdSession }),
    )
    await runCli(['run', '--yes'], deps({ engine, env: { SSH_CONNECTION: SSH }, sshdSession }))
    // --quiet would hide the request to confirm: no timer either.
    await runCli(
      ['run', '--quiet'],
      deps({ engine, stdout: tty, stdinIsTTY: true, env: { SSH_CONNECTION: SSH }, sshdSession }),
    )
    expect(calls.map((c) => c.deps?.sshOrigin)).toEqual([{ connection: SSH, sshdPid: 4101 }, null, null])
  })

  it('needs root, and passes this connection to the engine', async () => {
    const { engine, calls } = fakeEngine()
    const denied = await runCli(['confirm'], deps({ engine, getuid: () => 1000 }))
    expect(denied.exitCode).toBe(EXIT.notRoot)
    const r = await runCli(
      ['confirm'],
      deps({ engine, env: { SSH_CONNECTION: SSH }, sshdSession: async () => 77 }),
    )
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/^Confirmed: SSH works from a new connection/)
    expect(calls.find((c) => c.method === 'confirmSsh')?.opts).toEqual({ connection: SSH, sshdPid: 77 })
  })

  it('a refusal says why and what to do, exit 5', async () => {
    const { engine } = fakeEngine({
      confirmSsh: async () => ({
        confirmed: false,
        reason: 'this is the SSH connection session X was started from',
        hint: 'Open a NEW SSH connection',
      }),
    })
    const r = await runCli(['confirm'], deps({ engine }))
    expect(r.exitCode).toBe(EXIT.usage)
    expect(r.stderr).toMatch(/^Unable to confirm: this is the SSH connection session X was started from/)
    expect(r.stderr).toContain('hint: Open a NEW SSH connection')
  })
})
