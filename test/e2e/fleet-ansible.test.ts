// Issue 23 item 1: the Ansible collection (ansible/) against three booted trixie containers at once,
// from Debian's ansible-core on the host over real SSH (a key made by this test). Each container
// runs a short configuration (only rdp-config and user-creation, no sound, no IDEs: xrdp, fail2ban,
// the developer account) so that six plays on three machines fit in 15 minutes on 2 shared cores;
// rdp-config is in it because the port case needs it. With system-prep too (build-essential and the
// other base packages) one play of two machines took 8.8 minutes here at load 13-15.
//
//   1. gamma's TCP 3389 is taken by another service: the provision play (forks 3) provisions alpha
//      and beta and fails on gamma alone (exit 1 in preflight, the CLI's words, nothing journaled).
//   2. The squatter gone, the same play provisions gamma: one container alone (alpha and beta are
//      no-op re-runs beside it).
//   3. A second play reports changed=0 on all three; 4. --check --diff reports no change.
//   5. The rollback play (session latest) returns each to its baseline manifest.
//   6. The provision play again, now three full runs in parallel: the wall time against step 2's.
//
//   E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/fleet-ansible.test.ts
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { hostHas, run } from '../lab/proc.js'
import { DEFAULT_CACHE_DIR } from '../lab/trixie-root.js'
import { reliabilityCase } from '../support/reliability.js'
import { regenerateReportAfterAll, type Squatter, startSquatter } from './faults-support.js'
import { ROLLBACK_EXCLUSIONS } from './harness/exclusions.js'
import { diffManifests, type Exclusion, formatDiff, type Manifest, takeManifest } from './harness/manifest.js'
import { authorizeRootKey, makeSshKey, type SshKey, sshToolsMissing } from './harness/ssh.js'
import { stages } from './harness/stages.js'
import { collectToolState, journalActions, readSession } from './harness/tool.js'
import {
  ARTIFACTS,
  buildTool,
  e2eSkipReason,
  REPO_ROOT,
  standInConfig,
  startWorld,
  TOOL_BUNDLE,
  type World,
} from './harness/world.js'

const FILE = 'test/e2e/fleet-ansible.test.ts'
const AREA = '23.1 Ansible collection'
const REPRODUCE = '`E2E_REQUIRED=1 npx vitest run --project e2e test/e2e/fleet-ansible.test.ts`:'
const HOSTS = ['alpha', 'beta', 'gamma'] as const
type Host = (typeof HOSTS)[number]
const PHASES = ['rdp-config', 'user-creation']
const COLLECTION = path.join(REPO_ROOT, 'ansible')
const DIR = path.join(ARTIFACTS, 'fleet-ansible')

async function ansibleSkipReason(): Promise<string | null> {
  const base = await e2eSkipReason({})
  if (base) return base
  const missing = [...(await sshToolsMissing())]
  for (const b of ['ansible-playbook', 'ansible-galaxy', 'ansible-lint'])
    if (!(await hostHas(b))) missing.push(b)
  if (missing.length === 0) return null
  const reason = `the Ansible fleet test needs host tools that are missing: ${missing.join(', ')} (install them with: bash scripts/install-host-tools.sh)`
  if (process.env.E2E_REQUIRED === '1') throw new Error(`E2E_REQUIRED=1 but ${reason}`)
  return reason
}

const skip = await ansibleSkipReason()
if (skip) console.warn(`\n*** SKIPPED e2e fleet-ansible (issue 23 item 1): ${skip} ***\n`)

const proven = (
  row: { id: string; case: string; injection: string; expected: string },
  body: (seen: string[]) => Promise<void>,
): Promise<void> =>
  reliabilityCase(
    { ...row, area: AREA, injection: `${REPRODUCE} ${row.injection}`, backend: 'container', file: FILE },
    body,
  )

/** The role's own files: the collection installs the tool and writes its configuration; rollback undoes sessions, not the role. */
const ROLE_FILES: Exclusion[] = [
  {
    match: (d) => d.key === '/etc/vps-provision' && d.before === null && d.after === 'd 0755 0:0',
    why: 'the directory the role made for the configuration (the role, not a session of the tool, wrote it)',
  },
  {
    match: (d) =>
      d.key === '/etc/vps-provision/config.yaml' &&
      d.before === null &&
      /^f 0600 0:0 [0-9a-f]{64}$/.test(d.after ?? ''),
    why: 'the configuration the role wrote from vps_provision_config, 0600 root',
  },
]

/** One host's result of the task that ran our module, from the json callback. */
interface ModuleResult {
  changed?: boolean
  failed?: boolean
  rc?: number
  msg?: string
  actions?: number
  session?: string
  plan?: { phase: string; step: string; why: string | null }[]
  diff?: { prepared: string }[]
  summary?: { durationSeconds: number; status: string; exitCode: number }
  skipped?: boolean
}

interface Play {
  exitCode: number
  wallMs: number
  stats: Record<string, { changed: number; failures: number; ok: number; unreachable: number }>
  module: Record<string, ModuleResult>
}

describe.skipIf(skip !== null)('e2e fleet: the Ansible collection on three containers at once', () => {
  const worlds = new Map<Host, World>()
  const baselines = new Map<Host, Manifest>()
  const s = stages()
  const walls: Record<string, number> = {}
  const perHost: Record<string, Record<string, number>> = {}
  let key: SshKey
  let work = ''
  let sha256 = ''
  regenerateReportAfterAll()

  const w = (h: Host) => worlds.get(h) as World

  beforeAll(async () => {
    await rm(DIR, { recursive: true, force: true })
    await mkdir(DIR, { recursive: true })
    await buildTool()
    // Three worlds at once, as a fleet boots: each its own clone, container, proxy and stand-ins.
    const started = Date.now()
    const made = await Promise.allSettled(
      HOSTS.map((h) =>
        startWorld({
          scenario: `fleet-ansible-${h}`,
          machineName: `e2e-fa-${h.slice(0, 4)}`,
          lifetimeMs: 45 * 60_000,
        }),
      ),
    )
    made.forEach((r, i) => {
      if (r.status === 'fulfilled') worlds.set(HOSTS[i] as Host, r.value)
    })
    const failed = made.find((r) => r.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
    walls['boot three containers'] = Date.now() - started
    key = await makeSshKey('e2e-fleet-ansible')
    work = path.join(DEFAULT_CACHE_DIR, 'e2e', `ansible-${process.pid}`)
    await rm(work, { recursive: true, force: true })
    await mkdir(work, { recursive: true, mode: 0o700 })
  }, 30 * 60_000)

  afterAll(async () => {
    for (const h of HOSTS) {
      const x = worlds.get(h)
      if (x) await collectToolState(x).catch(() => undefined)
    }
    await s.writeTimings(DIR, { playWallMs: walls, perHostRunSeconds: perHost })
    await Promise.allSettled([...worlds.values()].map((x) => x.close()))
    await key?.close().catch(() => undefined)
    if (work) await rm(work, { recursive: true, force: true })
  }, 10 * 60_000)

  /** The environment of every ansible command: nothing of the host's ~/.ansible or /etc/ansible. */
  const ansibleEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    HOME: work,
    ANSIBLE_CONFIG: path.join(work, 'ansible.cfg'),
    ANSIBLE_HOME: path.join(work, 'home'),
    ANSIBLE_COLLECTIONS_PATH: path.join(work, 'collections'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ...extra,
  })

  /** ansible-playbook with the json callback; the result per host of the module's task and the recap. */
  const play = async (name: string, playbook: string, args: string[] = []): Promise<Play> => {
    const started = Date.now()
    const r = await run(
      [
        'ansible-playbook',
        '-i',
        path.join(work, 'inventory.yml'),
        path.join(COLLECTION, 'playbooks', playbook),
        ...args,
      ],
      {
        env: ansibleEnv({ ANSIBLE_STDOUT_CALLBACK: 'json' }),
        allowFailure: true,
        timeoutMs: 20 * 60_000,
        cwd: work,
      },
    )
    const wallMs = Date.now() - started
    await writeFile(path.join(DIR, `${name}.json`), r.stdout)
    await writeFile(
      path.join(DIR, `${name}.stderr`),
      `$ ansible-playbook ${playbook} ${args.join(' ')}\n# exit ${r.exitCode} after ${wallMs} ms\n${r.stderr}`,
    )
    let doc: {
      stats?: Play['stats']
      plays?: { tasks: { task: { name: string }; hosts: Record<string, ModuleResult> }[] }[]
    }
    try {
      doc = JSON.parse(r.stdout)
    } catch {
      throw new Error(
        `ansible-playbook ${playbook} printed no JSON (exit ${r.exitCode}): ${r.stderr.slice(-2000)}`,
      )
    }
    const module: Record<string, ModuleResult> = {}
    for (const p of doc.plays ?? [])
      for (const t of p.tasks) if (t.task.name.includes('Run vps-provision')) Object.assign(module, t.hosts)
    walls[name] = wallMs
    return { exitCode: r.exitCode, wallMs, stats: doc.stats ?? {}, module }
  }

  /** Waits (up to 90 s) until no logind session scope is left on the host; what is left, or ''. */
  const loginScopesGone = async (h: Host): Promise<string> => {
    let left = ''
    for (let i = 0; i < 45; i++) {
      const r = await w(h).machine.exec(
        ['systemctl', 'list-units', '--no-legend', '--plain', 'session-*.scope'],
        {
          allowFailure: true,
        },
      )
      left = r.stdout.trim()
      if (left === '') return ''
      await new Promise((ok) => setTimeout(ok, 2000))
    }
    return left
  }

  const recap = (p: Play, h: Host) => {
    const st = p.stats[h]
    return st ? `changed=${st.changed} failed=${st.failures} unreachable=${st.unreachable}` : 'no recap'
  }

  const record = (name: string, p: Play) => {
    perHost[name] = Object.fromEntries(HOSTS.map((h) => [h, p.module[h]?.summary?.durationSeconds ?? -1]))
  }

  s.stage('the collection builds, installs, passes ansible-lint and its module unit tests', async () => {
    const env = ansibleEnv()
    await run(['ansible-galaxy', 'collection', 'build', COLLECTION, '--output-path', work, '--force'], {
      env,
      timeoutMs: 120_000,
    })
    const tarball = path.join(work, 'vps_provision-fleet-1.0.0.tar.gz')
    await run(
      ['ansible-galaxy', 'collection', 'install', tarball, '-p', path.join(work, 'collections'), '--force'],
      {
        env,
        timeoutMs: 120_000,
      },
    )
    const lint = await run(['ansible-lint', '--offline'], {
      env: ansibleEnv({ NO_COLOR: '1' }),
      cwd: COLLECTION,
      allowFailure: true,
      timeoutMs: 5 * 60_000,
    })
    await writeFile(
      path.join(DIR, 'ansible-lint.out'),
      `# exit ${lint.exitCode}\n${lint.stdout}\n${lint.stderr}`,
    )
    expect(lint.exitCode, `${lint.stdout}\n${lint.stderr}`.slice(-3000)).toBe(0)
    expect(`${lint.stdout}${lint.stderr}`).toMatch(/Passed with production profile/)
    const unit = await run(
      ['/usr/bin/python3', '-m', 'unittest', 'discover', '-s', path.join(COLLECTION, 'tests/unit')],
      {
        env,
        allowFailure: true,
        timeoutMs: 120_000,
      },
    )
    expect(unit.exitCode, unit.stderr.slice(-3000)).toBe(0)
    expect(unit.stderr).toMatch(/^OK$/m)
    // The controller's copy of the bundle, by its sha256: the role refuses any other file.
    sha256 = createHash('sha256')
      .update(await readFile(TOOL_BUNDLE))
      .digest('hex')
  })

  s.stage(
    'each container as a cloud image has it: python3 and python3-apt, root key; baselines',
    async () => {
      await Promise.all(
        HOSTS.map(async (h) => {
          const m = w(h).machine
          const env = { DEBIAN_FRONTEND: 'noninteractive' }
          const up = await m.exec(['apt-get', 'update', '-qq'], {
            allowFailure: true,
            timeoutMs: 10 * 60_000,
            env,
          })
          expect(up.exitCode, up.stderr.slice(-2000)).toBe(0)
          const inst = await m.exec(
            ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'python3', 'python3-apt'],
            {
              allowFailure: true,
              timeoutMs: 10 * 60_000,
              env,
            },
          )
          expect(inst.exitCode, inst.stderr.slice(-2000)).toBe(0)
          await authorizeRootKey(m, key)
          const b = await takeManifest(m)
          baselines.set(h, b)
          await writeFile(path.join(w(h).dir, 'manifest-baseline.json'), JSON.stringify(b, null, 2))
        }),
      )
      // The inventory: one group, per-host configuration (the world's proxy and stand-ins differ).
      const hosts: Record<string, Record<string, unknown>> = {}
      for (const h of HOSTS) {
        const config = {
          ...(parseYaml(standInConfig(w(h))) as Record<string, unknown>),
          only: PHASES,
          ides: [],
          sound: false,
        }
        hosts[h] = { ansible_host: w(h).machine.address, vps_provision_config: config }
      }
      const inventory = {
        all: {
          children: {
            vps: {
              hosts,
              vars: {
                ansible_user: 'root',
                ansible_ssh_private_key_file: key.privateKey,
                ansible_ssh_common_args:
                  '-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
                ansible_python_interpreter: '/usr/bin/python3',
                vps_provision_install_method: 'bundle',
                vps_provision_bundle_src: TOOL_BUNDLE,
                vps_provision_sha256: sha256,
                vps_provision_poll: 5,
              },
            },
          },
        },
      }
      await writeFile(path.join(work, 'inventory.yml'), JSON.stringify(inventory, null, 2))
      await writeFile(path.join(DIR, 'inventory.yml'), JSON.stringify(inventory, null, 2))
      await writeFile(
        path.join(work, 'ansible.cfg'),
        [
          '[defaults]',
          'forks = 3',
          'host_key_checking = False',
          'timeout = 30',
          '',
          '[ssh_connection]',
          'pipelining = True',
          'ssh_args = -C -o ControlMaster=auto -o ControlPersist=5s',
          '',
        ].join('\n'),
      )
      const ping = await run(
        ['ansible', '-i', path.join(work, 'inventory.yml'), 'vps', '-m', 'ansible.builtin.ping'],
        {
          env: ansibleEnv(),
          allowFailure: true,
          timeoutMs: 120_000,
        },
      )
      expect(ping.exitCode, `${ping.stdout}\n${ping.stderr}`.slice(-3000)).toBe(0)
    },
  )

  let squatter: Squatter | null = null

  s.stage('3389 taken on gamma: the play provisions alpha and beta and fails on gamma alone', () =>
    proven(
      {
        id: 'container.ansible.port-taken-fails-alone',
        case: 'one host of three has TCP 3389 taken by another service; the provision play runs on all three with forks 3',
        injection:
          'systemd-run --unit=squatter node listening on 3389 in gamma; `ansible-playbook playbooks/provision.yml` (role vps_provision.fleet.provision, async run)',
        expected:
          'alpha and beta: changed, sessions COMPLETED; gamma: failed, rc 1, msg is the CLI\'s "port 3389 is used by node (pid …)" line, its session journaled nothing',
      },
      async (seen) => {
        squatter = await startSquatter(w('gamma').machine, 3389)
        const p = await play('play-1-port-taken', 'provision.yml')
        record('play-1-port-taken', p)
        seen.push(`ansible-playbook exit ${p.exitCode} in ${Math.round(p.wallMs / 1000)} s`)
        for (const h of HOSTS) seen.push(`${h}: ${recap(p, h)} rc=${p.module[h]?.rc}`)
        expect(p.exitCode).not.toBe(0)
        for (const h of ['alpha', 'beta'] as const) {
          const r = p.module[h]
          expect(p.stats[h]?.failures, h).toBe(0)
          expect(r?.changed, h).toBe(true)
          expect(r?.actions ?? 0, h).toBeGreaterThan(0)
          const session = await readSession(w(h).machine, r?.session as string)
          expect(session.status, h).toBe('COMPLETED')
        }
        const g = p.module.gamma
        expect(p.stats.gamma?.failures).toBe(1)
        expect(g?.rc).toBe(1)
        expect(g?.msg).toContain(`port 3389 is used by node (pid ${squatter.pid}`)
        seen.push(`gamma msg: ${(g?.msg ?? '').split('\n')[0]}`)
        expect(await journalActions(w('gamma').machine, g?.session as string)).toEqual([])
      },
    ),
  )

  s.stage('the squatter gone, the play provisions gamma alone; alpha and beta change nothing', async () => {
    if (squatter) await w('gamma').machine.exec(['systemctl', 'stop', squatter.unit], { allowFailure: true })
    const p = await play('play-2-one-alone', 'provision.yml')
    record('play-2-one-alone', p)
    expect(p.exitCode, JSON.stringify(p.stats)).toBe(0)
    expect(p.module.gamma?.changed).toBe(true)
    expect(p.stats.gamma?.changed).toBeGreaterThan(0)
    for (const h of ['alpha', 'beta'] as const) {
      expect(p.module[h]?.changed, h).toBe(false)
      expect(p.stats[h]?.changed, h).toBe(0)
    }
  })

  s.stage('a second play reports changed=0 on all three', () =>
    proven(
      {
        id: 'container.ansible.second-play-unchanged',
        case: 'the provision play again on three provisioned hosts',
        injection: '`ansible-playbook playbooks/provision.yml` a second time',
        expected:
          'PLAY RECAP changed=0 failed=0 on every host; the module ran and its run journaled 0 actions',
      },
      async (seen) => {
        const p = await play('play-3-again', 'provision.yml')
        record('play-3-again', p)
        for (const h of HOSTS) seen.push(`${h}: ${recap(p, h)} actions=${p.module[h]?.actions}`)
        expect(p.exitCode).toBe(0)
        for (const h of HOSTS) {
          expect(p.stats[h]?.changed, h).toBe(0)
          expect(p.stats[h]?.failures, h).toBe(0)
          expect(p.module[h]?.actions, h).toBe(0)
          expect(p.module[h]?.session, h).toMatch(/^\d{8}-\d{6}-[a-z0-9]{6}$/)
        }
      },
    ),
  )

  s.stage('--check --diff reports no change and starts no session', () =>
    proven(
      {
        id: 'container.ansible.check-mode',
        case: 'check mode on three provisioned hosts',
        injection: '`ansible-playbook playbooks/provision.yml --check --diff`',
        expected:
          'changed=0 on every host; the module made a plan (vps-provision plan --json) with no step to apply; no new session',
      },
      async (seen) => {
        const count = async (h: Host) => (await w(h).machine.list('/var/vps-provision/sessions')).length
        const before = await Promise.all(HOSTS.map(count))
        const p = await play('play-4-check', 'provision.yml', ['--check', '--diff'])
        for (const h of HOSTS) seen.push(`${h}: ${recap(p, h)} plan=${JSON.stringify(p.module[h]?.plan)}`)
        expect(p.exitCode).toBe(0)
        for (const h of HOSTS) {
          expect(p.stats[h]?.changed, h).toBe(0)
          expect(p.module[h]?.skipped, h).not.toBe(true)
          expect(p.module[h]?.plan, h).toEqual([])
          expect(p.module[h]?.diff, h).toEqual([])
        }
        expect(await Promise.all(HOSTS.map(count))).toEqual(before)
      },
    ),
  )

  s.stage('the rollback play returns each container to its baseline manifest', () =>
    proven(
      {
        id: 'container.ansible.rollback-to-baseline',
        case: 'the rollback play (state rolled_back, session latest) on three hosts',
        injection: '`ansible-playbook playbooks/rollback.yml`; then a manifest of each container',
        expected:
          "each: changed, rc 0; the manifest equals its baseline but for the role's own /etc/vps-provision/config.yaml and the usual rollback exclusions",
      },
      async (seen) => {
        const p = await play('play-5-rollback', 'rollback.yml')
        record('play-5-rollback', p)
        for (const h of HOSTS) seen.push(`${h}: ${recap(p, h)} undone=${p.module[h]?.actions}`)
        expect(p.exitCode, JSON.stringify(p.stats)).toBe(0)
        for (const h of HOSTS) {
          expect(p.module[h]?.changed, h).toBe(true)
          // Ansible's own SSH logins (a logind session-N.scope each) must be gone first: the play's
          // multiplexed connection lingers ControlPersist (5 s) after its last task, and anything
          // the play left running would keep its scope (and show in the manifest's units).
          const left = await loginScopesGone(h)
          seen.push(`${h}: ${left === '' ? 'no SSH login scope left' : `login scopes still there: ${left}`}`)
          // A scope whose cgroup is empty but that systemd never collected ("active (abandoned)"
          // with no process, seen in these nested containers) is excluded by its exact name, after
          // proving it empty; a scope with a process in it fails the comparison below.
          const emptyScopes: string[] = []
          if (left !== '') {
            const why = await w(h).machine.sh(
              "systemctl status --no-pager -l 'session-*.scope'; ps -eo pid,ppid,etime,unit,args",
              { allowFailure: true },
            )
            await writeFile(path.join(w(h).dir, 'login-scopes-left.txt'), `${why.stdout}${why.stderr}`)
            for (const scope of left.split('\n').map((l) => l.split(/\s+/)[0] ?? '')) {
              const procs = await w(h).machine.exec(
                ['cat', `/sys/fs/cgroup/user.slice/user-0.slice/${scope}/cgroup.procs`],
                { allowFailure: true },
              )
              // No cgroup directory at all (run 6: systemd removed it but kept the unit) holds no process either.
              const empty =
                (procs.exitCode === 0 && procs.stdout.trim() === '') ||
                /No such file or directory/.test(procs.stderr)
              seen.push(
                `${h}: ${scope} ${empty ? 'has no process (empty, not collected)' : `holds ${procs.stdout.trim().split('\n').join(' ') || procs.stderr.trim()}`}`,
              )
              if (empty) emptyScopes.push(`units:${scope}`)
            }
          }
          const after = await takeManifest(w(h).machine)
          const base = baselines.get(h) as Manifest
          const emptyScope: Exclusion = {
            match: (d) =>
              emptyScopes.includes(`${d.section}:${d.key}`) && d.before === null && d.after === 'transient',
            why: "an SSH login scope of Ansible's, proven empty above, that systemd left active (abandoned)",
          }
          const diff = diffManifests(base, after, [...ROLLBACK_EXCLUSIONS, ...ROLE_FILES, emptyScope])
          await writeFile(
            path.join(w(h).dir, 'manifest-diff.txt'),
            `# left after the exclusions (must be none):\n${formatDiff(diff)}\n\n# all:\n${formatDiff(diffManifests(base, after))}\n`,
          )
          seen.push(`${h}: ${diff.length} difference(s) from the baseline after the exclusions`)
          expect(formatDiff(diff), h).toBe('')
        }
      },
    ),
  )

  s.stage('three in parallel: the provision play from the baselines, against one alone', async () => {
    const p = await play('play-6-three-parallel', 'provision.yml')
    record('play-6-three-parallel', p)
    expect(p.exitCode, JSON.stringify(p.stats)).toBe(0)
    const spans: [number, number][] = []
    for (const h of HOSTS) {
      expect(p.module[h]?.changed, h).toBe(true)
      const session = await readSession(w(h).machine, p.module[h]?.session as string)
      expect(session.status, h).toBe('COMPLETED')
      spans.push([Date.parse(session.start_time), Date.parse(session.end_time ?? session.start_time)])
    }
    // They ran at the same time: every run started before any of them ended.
    expect(Math.max(...spans.map((x) => x[0]))).toBeLessThan(Math.min(...spans.map((x) => x[1])))
    const line = `three in parallel: ${Math.round(walls['play-6-three-parallel'] ?? 0) / 1000} s wall; one alone (gamma, play 2): ${Math.round(walls['play-2-one-alone'] ?? 0) / 1000} s wall; per-host run seconds ${JSON.stringify(perHost['play-6-three-parallel'])} vs ${JSON.stringify(perHost['play-2-one-alone'])}`
    console.log(`[fleet-ansible] ${line}`)
    await writeFile(path.join(DIR, 'parallel-vs-alone.txt'), `${line}\n`)
  })
})
