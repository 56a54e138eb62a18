// Detached runs and issue 5's case 14, over real SSH into a booted trixie container: root logs in
// with a key made for this test (the host's OpenSSH client, the container's sshd), and runs the
// tool as a person would, in a login session where systemd is PID 1, so `run` starts the work as
// the unit vps-provision-<session>.service and attaches to it.
//
// 1. `stop latest` from a second SSH login during a run (after ufw was enabled, inside the big apt
//    transaction of system-prep): the worker finishes and records the action in progress and exits
//    143; the first client exits 143 too; nothing is left in doubt; dpkg is consistent.
// 2. A resumed run whose SSH client is SIGKILLed mid-run (a dropped connection): the unit goes on;
//    `status --follow latest` from a new login replays and follows it and exits 0; COMPLETED.
// 3. Case 14: an SSH session open from before the first run keeps printing through the ufw enable
//    (run 1) and the sshd reload (run 2, ssh.disablePasswordAuth is on); after the run a fresh
//    login works as root and as the developer (user-creation copied root's keys), the drop-in
//    passes `sshd -t`, password logins are refused, and no candidate file is left behind.
// 4. The generated password is in no event log and not in the journal.
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { type EventRecord, parseEventLine } from '../../src/engine/event-log.js'
import { sleep } from '../lab/mounts.js'
import { recordCase } from '../support/reliability.js'
import {
  authorizeRootKey,
  makeSshKey,
  type SshKey,
  type SshSession,
  type SshTarget,
  ssh,
  sshSpawn,
  sshToolsMissing,
} from './harness/ssh.js'
import { stages } from './harness/stages.js'
import { collectToolState, installTool, journalActions, readSession } from './harness/tool.js'
import { buildTool, e2eSkipReason, standInConfig, startWorld, type World } from './harness/world.js'

const missingSsh = await sshToolsMissing()
const skip =
  (await e2eSkipReason()) ??
  (missingSsh.length > 0 ? `real SSH needs host tools that are missing: ${missingSsh.join(', ')}` : null)
if (skip) console.warn(`\n*** SKIPPED e2e detached runs: ${skip} ***\n`)

const FILE = 'test/e2e/detached.test.ts'
const RUN_TIMEOUT_MS = 40 * 60_000

describe.skipIf(skip !== null)('e2e detached runs over SSH: stop, drop, re-attach; case 14', () => {
  let w: World
  let key: SshKey
  let root: SshTarget
  let alive: SshSession | null = null
  let stoppedId = ''
  let resumedId = ''
  const s = stages()

  const events = async (id: string): Promise<EventRecord[]> => {
    const text = await readFile(
      w.machine.hostPath(`/var/log/vps-provision/events-${id}.ndjson`),
      'utf8',
    ).catch(() => '')
    return text
      .split('\n')
      .map(parseEventLine)
      .filter((r): r is EventRecord => r !== null)
  }
  const sessionIds = async () =>
    (await w.machine.exec(['ls', '/var/vps-provision/sessions'], { allowFailure: true })).stdout
      .split('\n')
      .map((n) => /^session-(\S+)\.json$/.exec(n.trim())?.[1])
      .filter((id): id is string => id !== undefined)
  const unitState = async (id: string) =>
    (
      await w.machine.exec(
        ['systemctl', 'show', '--property=ActiveState', '--value', `vps-provision-${id}.service`],
        {
          allowFailure: true,
        },
      )
    ).stdout.trim()
  /** Waits for a session not in `known` whose event log has a record matching `pred`. */
  const waitFor = async (
    known: string[],
    pred: (r: EventRecord) => boolean,
    what: string,
    ms = 20 * 60_000,
  ) => {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      for (const id of await sessionIds()) {
        if (known.includes(id)) continue
        if ((await events(id)).some(pred)) return id
      }
      await sleep(1000)
    }
    throw new Error(`timed out waiting for ${what}`)
  }
  const save = (name: string, text: string) => writeFile(path.join(w.dir, name), text)

  beforeAll(async () => {
    await buildTool()
    w = await startWorld({ scenario: 'detached', machineName: 'e2e-det' })
    await installTool(w.machine)
    // ssh.disablePasswordAuth makes user-creation install the sshd drop-in and reload sshd.
    await w.machine.writeFile(
      '/etc/vps-provision/config.yaml',
      `${standInConfig(w)}ssh:\n  disablePasswordAuth: true\n`,
      0o600,
    )
    key = await makeSshKey('e2e-detached@host')
    await authorizeRootKey(w.machine, key)
    root = { key, address: w.machine.address }
  }, 30 * 60_000)

  afterAll(async () => {
    alive?.kill('SIGTERM')
    if (!w) return
    if (alive) await save('alive-session.out', alive.text()).catch(() => undefined)
    await collectToolState(w).catch(() => undefined)
    await s.writeTimings(w.dir)
    await key?.close()
    await w.close()
  }, 10 * 60_000)

  s.stage(
    "root logs in over SSH to the container's sshd, in a login session (not a systemd unit)",
    async () => {
      expect(
        (await w.machine.exec(['systemctl', 'is-active', 'ssh'], { allowFailure: true })).stdout.trim(),
      ).toBe('active')
      const r = await ssh(root, [
        'sh',
        '-c',
        'id -un; cat /proc/self/cgroup | tail -1; echo "inv=$INVOCATION_ID"',
      ])
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^root\n/)
      expect(r.stdout).toMatch(/session-\w+\.scope/)
      expect(r.stdout).toMatch(/^inv=$/m)
      // Case 14's witness: one SSH session open from before the first run to after the last.
      // Millisecond stamps from the container's clock, the clock the event log's times come from.
      alive = sshSpawn(root, ['sh', '-c', 'while sleep 1; do echo "alive $(date +%s%3N)"; done'])
      await sleep(3000)
      expect(alive.text()).toMatch(/alive \d+/)
    },
  )

  s.stage('`vps-provision stop latest` stops a detached run cleanly, with records written', async () => {
    const started = Date.now()
    const client = sshSpawn(root, ['vps-provision', 'run', '--yes'])
    // After ufw is on, and inside the next action (system-prep's package installation).
    stoppedId = await waitFor(
      [],
      (r) => r.type === 'action' && r.target === 'ufw --force enable' && r.status === 'done',
      'ufw --force enable',
    )
    await waitFor(
      [],
      (r) => r.type === 'action' && r.status === 'begin' && r.actionType === 'PACKAGE_INSTALL',
      'a package action',
    )
    expect(await unitState(stoppedId)).toBe('active')
    const stop = await ssh(root, ['vps-provision', 'stop', 'latest'], { timeoutMs: RUN_TIMEOUT_MS })
    await save('stop.out', `# exit ${stop.exitCode}\n${stop.stdout}\n--- stderr ---\n${stop.stderr}`)
    const exit = await client.exited
    await save('run-stopped.out', `# exit ${exit.code}\n${client.text()}`)
    const session = await readSession(w.machine, stoppedId)
    const actions = await journalActions(w.machine, stoppedId)
    const inDoubt = actions.filter((a) => a.state === 'in-doubt')
    const last = (await events(stoppedId)).at(-1)
    const audit = await w.machine.exec(['dpkg', '--audit'], { allowFailure: true })
    const unit = await unitState(stoppedId)
    const observed = `stop exit ${stop.exitCode}; client exit ${exit.code}; session ${session.status} (${session.error_details}); ${actions.length} actions, ${inDoubt.length} in doubt; last record ${last?.type} exit ${last?.type === 'worker-end' ? last.exitCode : '?'}; unit ${unit || 'gone'}; dpkg --audit ${audit.stdout.trim() ? 'NOT empty' : 'empty'}`
    const passed =
      stop.exitCode === 0 &&
      exit.code === 143 &&
      session.status === 'FAILED' &&
      inDoubt.length === 0 &&
      last?.type === 'worker-end' &&
      last.exitCode === 143 &&
      last.stoppedBy === 'SIGTERM' &&
      unit !== 'active' &&
      audit.stdout.trim() === ''
    recordCase(
      {
        id: 'detached.stop',
        area: 'detached runs',
        case: '`vps-provision stop latest` during a detached run',
        injection:
          'run --yes over SSH; once ufw is enabled and a package action has begun, `stop latest` from a second SSH login',
        expected:
          'the action in progress finishes and is recorded, worker and client exit 143, nothing in doubt, dpkg consistent',
        observed,
        backend: 'container',
        passed,
      },
      { file: FILE, durationMs: Date.now() - started },
    )
    expect(stop.exitCode, stop.stdout + stop.stderr).toBe(0)
    expect(stop.stdout).toContain(`Session ${stoppedId} stopped (worker exit 143)`)
    expect(exit.code, client.text().slice(-2000)).toBe(143)
    expect(client.text()).toContain('Stopped by SIGTERM: the action in progress was finished and recorded.')
    expect(session.status).toBe('FAILED')
    expect(session.error_details).toContain('Stopped by SIGTERM')
    expect(inDoubt).toEqual([])
    expect(last).toMatchObject({ type: 'worker-end', exitCode: 143, stoppedBy: 'SIGTERM' })
    expect(unit).not.toBe('active')
    expect(audit.stdout.trim()).toBe('')
  })

  s.stage(
    'an SSH drop does not stop a detached run; `status --follow latest` re-attaches to its end',
    async () => {
      const started = Date.now()
      const client = sshSpawn(root, ['vps-provision', 'run', '--yes'])
      resumedId = await waitFor(
        [stoppedId],
        (r) => r.type === 'phase-start' && r.phase === 'desktop-install',
        'desktop-install to start',
      )
      await sleep(5000)
      client.kill('SIGKILL')
      const dropped = await client.exited
      await save('run-dropped.out', `# ssh client killed: ${dropped.signal}\n${client.text()}`)
      await sleep(5000)
      const unitAfterDrop = await unitState(resumedId)
      const follow = await ssh(root, ['vps-provision', 'status', '--follow', 'latest'], {
        timeoutMs: RUN_TIMEOUT_MS,
      })
      await save(
        'follow.out',
        `# exit ${follow.exitCode}\n${follow.stdout}\n--- stderr ---\n${follow.stderr}`,
      )
      const session = await readSession(w.machine, resumedId)
      const observed = `ssh client ${dropped.signal}; unit ${unitAfterDrop} 5 s later; follow exit ${follow.exitCode}, replayed from "run session ${resumedId} started": ${follow.stdout.includes(`run session ${resumedId} started`)}; session ${session.status}`
      const passed =
        dropped.signal === 'SIGKILL' &&
        unitAfterDrop === 'active' &&
        follow.exitCode === 0 &&
        session.status === 'COMPLETED'
      recordCase(
        {
          id: 'detached.ssh-drop-follow',
          area: 'detached runs',
          case: 'SSH connection dropped mid-run, then `status --follow latest`',
          injection:
            'run --yes over SSH; SIGKILL of the host ssh client 5 s into desktop-install; a new SSH login runs `status --follow latest`',
          expected:
            'the unit stays active; follow replays and follows the run and exits 0; session COMPLETED',
          observed,
          backend: 'container',
          passed,
        },
        { file: FILE, durationMs: Date.now() - started },
      )
      expect(dropped.signal).toBe('SIGKILL')
      expect(unitAfterDrop).toBe('active')
      expect(follow.exitCode, follow.stdout.slice(-3000) + follow.stderr).toBe(0)
      expect(follow.stdout).toContain(`run session ${resumedId} started`)
      expect(follow.stdout).toMatch(/\[desktop-install\] phase completed/)
      expect(follow.stdout).toContain(`Session ${resumedId}: COMPLETED`)
      expect(session.status).toBe('COMPLETED')
    },
  )

  s.stage('case 14: the open SSH session survived ufw and the sshd reload; fresh logins work', async () => {
    const started = Date.now()
    const at = async (id: string, target: string) => {
      const r = (await events(id)).find(
        (e) => e.type === 'action' && e.target === target && e.status === 'done',
      )
      return r ? Date.parse(r.ts) : Number.NaN
    }
    // The session must go on printing after the run, not just until it.
    await sleep(3000)
    const ufwAt = await at(stoppedId, 'ufw --force enable')
    const reloadAt = await at(resumedId, 'reload ssh')
    const endAt = Date.parse((await events(resumedId)).at(-1)?.ts ?? '')
    const stamps = (alive?.lines ?? [])
      .map(([, l]) => Number(/^alive (\d+)$/.exec(l)?.[1]))
      .filter((n) => Number.isFinite(n) && n > 0)
    let gap = 0
    for (let i = 1; i < stamps.length; i++)
      gap = Math.max(gap, (stamps[i] as number) - (stamps[i - 1] as number))
    const first = stamps[0] ?? Number.NaN
    const lastStamp = stamps.at(-1) ?? Number.NaN
    const stillRunning = alive?.child.exitCode === null && alive?.child.signalCode === null
    alive?.kill('SIGTERM')
    await save('alive-session.out', alive?.text() ?? '')
    const survived =
      stillRunning && first < ufwAt && lastStamp > reloadAt + 2000 && lastStamp > endAt && gap <= 5000

    const rootLogin = await ssh(root, ['id', '-un'])
    const devLogin = await ssh({ ...root, user: 'devuser' }, ['id', '-un'])
    const password = await ssh(root, ['true'], {
      extra: [
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'PreferredAuthentications=password,keyboard-interactive',
      ],
    })
    const sshdT = await w.machine.exec(['sshd', '-t'], { allowFailure: true })
    const dropin = (await w.machine.readFile('/etc/ssh/sshd_config.d/00-vps-provision.conf')) ?? ''
    const leftovers = (await w.machine.exec(['ls', '-A', '/etc/ssh/sshd_config.d'])).stdout
      .split('\n')
      .filter((n) => n.includes('vps-provision-tmp'))
    recordCase(
      {
        id: 'fault-14.ssh-session-survives',
        area: '14 SSH and firewall',
        case: 'an open SSH session through ufw enable and the sshd reload',
        injection:
          'an SSH session printing every second, open from before the first run until after the resumed run',
        expected:
          'it never stalls (> 5 s) or drops while ufw is enabled (run 1) and sshd reloads its drop-in (run 2)',
        observed: `session still running: ${stillRunning}; first line ${Math.round((ufwAt - first) / 1000)} s before ufw enable, last ${Math.round((lastStamp - reloadAt) / 1000)} s after the sshd reload and ${Math.round((lastStamp - endAt) / 1000)} s after the run ended; longest gap ${gap / 1000} s over ${stamps.length} lines`,
        backend: 'container',
        passed: survived,
      },
      { file: FILE, durationMs: Date.now() - started },
    )
    const loginsOk =
      rootLogin.exitCode === 0 &&
      rootLogin.stdout.trim() === 'root' &&
      devLogin.exitCode === 0 &&
      devLogin.stdout.trim() === 'devuser' &&
      password.exitCode !== 0 &&
      /Permission denied \(publickey\)/.test(password.stderr) &&
      sshdT.exitCode === 0 &&
      dropin.includes('PasswordAuthentication no') &&
      leftovers.length === 0
    recordCase(
      {
        id: 'fault-14.fresh-login',
        area: '14 SSH and firewall',
        case: 'fresh SSH logins after the run (ufw on, sshd drop-in installed and reloaded)',
        injection:
          'new SSH logins as root and as the developer with the key root had before the run; a password-only attempt',
        expected:
          'root and devuser log in with the key; password login refused; sshd -t passes; no candidate drop-in left',
        observed: `root: exit ${rootLogin.exitCode} (${rootLogin.stdout.trim()}); devuser: exit ${devLogin.exitCode} (${devLogin.stdout.trim()}); password-only: exit ${password.exitCode} (${password.stderr.trim().split('\n').at(-1)}); sshd -t exit ${sshdT.exitCode}; drop-in has "PasswordAuthentication no": ${dropin.includes('PasswordAuthentication no')}; leftover candidates: ${leftovers.length}`,
        backend: 'container',
        passed: loginsOk,
      },
      { file: FILE, durationMs: Date.now() - started },
    )
    expect(stillRunning).toBe(true)
    expect(first).toBeLessThan(ufwAt)
    expect(lastStamp).toBeGreaterThan(reloadAt + 2000)
    expect(lastStamp).toBeGreaterThan(endAt)
    expect(gap).toBeLessThanOrEqual(5000)
    expect(rootLogin.stdout.trim()).toBe('root')
    expect(devLogin.exitCode, devLogin.stderr).toBe(0)
    expect(devLogin.stdout.trim()).toBe('devuser')
    expect(password.exitCode).not.toBe(0)
    expect(password.stderr).toMatch(/Permission denied \(publickey\)/)
    expect(sshdT.exitCode, sshdT.stderr).toBe(0)
    expect(dropin).toContain('PasswordAuthentication no')
    expect(leftovers).toEqual([])
  })

  s.stage('the generated password is in no event log and not in the journal', async () => {
    const started = Date.now()
    const creds = (await w.machine.readFile('/root/vps-provision-credentials')) ?? ''
    const password = /^password=(.+)$/m.exec(creds)?.[1] ?? ''
    expect(password.length).toBeGreaterThanOrEqual(12)
    const logs = [stoppedId, resumedId].map((id) => `/var/log/vps-provision/events-${id}.ndjson`)
    const inLogs: string[] = []
    for (const log of logs) {
      const text = (await w.machine.readFile(log)) ?? ''
      expect(text.length).toBeGreaterThan(0)
      if (text.includes(password)) inLogs.push(log)
    }
    const modes = (await w.machine.exec(['stat', '-c', '%a %U %n', ...logs])).stdout.trim().split('\n')
    const journal = (await w.machine.exec(['journalctl', '--no-pager', '-o', 'cat'], { timeoutMs: 120_000 }))
      .stdout
    const inJournal = journal.includes(password)
    recordCase(
      {
        id: 'detached.event-log-secrets',
        area: 'secrets and permissions',
        case: "the detached worker's event logs and the journal after a full run",
        injection:
          'the generated password (from the 0600 credentials file) searched in both event logs and all of journalctl',
        expected: 'not found; the event logs are 0600 root',
        observed: `found in ${inLogs.length} event logs, in the journal: ${inJournal}; modes: ${modes.join(', ')}`,
        backend: 'container',
        passed: inLogs.length === 0 && !inJournal && modes.every((m) => m.startsWith('600 root')),
      },
      { file: FILE, durationMs: Date.now() - started },
    )
    expect(inLogs).toEqual([])
    expect(inJournal).toBe(false)
    for (const m of modes) expect(m).toMatch(/^600 root /)
  })
})
