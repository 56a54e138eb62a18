// Generates docs/reliability.md from the rows the fault-injection tests recorded
// (test/support/reliability.ts): the newest row per case id, as a table, plus every case of issue 5
// that no test covers yet, with the reason. Never hand-edit the output.
//
// The rows themselves live in docs/reliability.ndjson, in the repository: this machine's rows
// (/var/tmp/…, gone with the machine) are merged into it, newest per case id, so a run on a fresh
// machine adds to what other machines recorded instead of replacing it.
//
//   npx tsx scripts/gen-reliability.ts   # merges $VPS_PROVISION_RELIABILITY_DIR (or /var/tmp/…) in
//   npm run reliability                  # runs the faults suite, then this
//
// The faults test files call writeReliabilityReport() in afterAll, so a test run refreshes both files.

import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  oneLine,
  readRecords,
  readRecordsFile,
  reliabilityDir,
  type StoredRecord,
} from '../test/support/reliability.js'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPORT = path.join(REPO, 'docs/reliability.md')
export const RECORDED = path.join(REPO, 'docs/reliability.ndjson')

/** The cases of issue 5 ("Survive faults and hostile input on the real system"). */
export interface CatalogueEntry {
  /** Row ids starting with this prefix cover the entry. */
  prefix: string
  issueCase: string
  title: string
  /** Why it is not covered yet, where no row covers it (the backends a chroot cannot stand in for). */
  notCovered: string
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    prefix: 'fault-1.',
    issueCase: '1',
    title: 'SIGINT/SIGTERM/SIGHUP mid-phase: clean stop, records written, 130/143/129, resume completes',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'detached.',
    issueCase: 'detached runs',
    title:
      'a run as its own systemd unit: an SSH drop does not stop it, `status --follow` re-attaches, `stop` stops it cleanly',
    notCovered: 'needs systemd as PID 1 and a real sshd: container or VM backend',
  },
  {
    prefix: 'fault-2.',
    issueCase: '2',
    title:
      'SIGKILL at named failpoints during real apt/useradd: resume = uninterrupted run, rollback = baseline',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'vm.hard-reset',
    issueCase: '3',
    title: 'hard reset (power loss) of the machine mid-run: journal and dpkg recover after reboot',
    notCovered: 'needs a VM to reset (a chroot shares the host kernel; page cache survives a SIGKILL)',
  },
  {
    prefix: 'fault-4.',
    issueCase: '4',
    title: 'torn or corrupt journal on disk',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-5.',
    issueCase: '5',
    title: 'disk full while writing the journal',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-6.',
    issueCase: '6',
    title: 'two runs, or a run and a rollback, at once',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-7.',
    issueCase: '7',
    title: 'dpkg lock held by another process (unattended-upgrades)',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-8.',
    issueCase: '8',
    title: 'mirror unreachable or failing mid-install',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-9.',
    issueCase: '9',
    title: 'tampered IDE download',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-10.',
    issueCase: '10',
    title: 'rollback killed halfway',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-11.',
    issueCase: '11',
    title: 'rollback after someone edited a file we changed',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-12.',
    issueCase: '12',
    title: 're-run after a manual change to a managed file',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'fault-14.',
    issueCase: '14',
    title:
      'SSH/firewall changes: the open session survives, a fresh login works after the run, an invalid sshd drop-in is never installed',
    notCovered:
      'needs systemd as PID 1, ufw in its own network namespace and a real sshd: container or VM backend',
  },
  {
    prefix: 'hostile.',
    issueCase: 'input',
    title: 'hostile and bad input (usernames, session ids, config, IDE names, host, environment, journal)',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'secrets.',
    issueCase: 'secrets',
    title: 'the password only in the 0600 credentials file; state 0700/0600; planted symlinks refused',
    notCovered: 'chroot case not run yet',
  },
  {
    prefix: 'vm.firewall-keeps-ssh',
    issueCase: '14',
    title: 'SSH stays reachable once the run has enabled ufw (real kernel netfilter, fresh logins)',
    notCovered: 'ufw/iptables in a chroot would change the HOST firewall: needs the nspawn container or a VM',
  },
  {
    prefix: 'container.rdp-port-taken.',
    issueCase: 'input',
    title: 'port 3389 already taken by another service: preflight names the holder',
    notCovered: 'a listener in a chroot is on the host network namespace: needs the container backend',
  },
  {
    prefix: 'secrets.ps-sampling',
    issueCase: 'secrets',
    title: 'the password never visible in `ps` (argv/environ sampled during the run)',
    notCovered: 'chroot case not run yet (the full run with xrdp under systemd needs the container backend)',
  },
  {
    prefix: 'container.journalctl.',
    issueCase: 'secrets',
    title: 'the password never in journalctl or syslog',
    notCovered: 'needs journald (systemd as PID 1): container or VM backend',
  },
  {
    prefix: 'vm.cloud-init.',
    issueCase: 'secrets',
    title: 'cloud-init first-boot run: the password not in /var/log/cloud-init*.log',
    notCovered:
      'scenario B asserts it (green on 2026-11-26) but recorded no row then: the next B run records it',
  },
  {
    prefix: 'vm.preflight-small-vm',
    issueCase: 'input',
    title: 'too little free disk on / (preflight refuses before any change)',
    notCovered:
      "a chroot's / is a directory on the host's disk (the /var case is covered with a private tmpfs): needs a VM with a small disk",
  },
  {
    prefix: 'container.clock.',
    issueCase: 'input',
    title: 'a wrong clock at first boot: preflight names it',
    notCovered:
      "the machine's clock cannot be changed without changing the host's: test/e2e/hardening.test.ts gives the tool's process a wrong wall clock with libfaketime",
  },
]

const cell = (s: string) => oneLine(s, 2000).replace(/\|/g, '\\|')

/** The newest row of each case id (a later row wins a tie), sorted by id. */
export function newestPerCase(rows: readonly StoredRecord[]): StoredRecord[] {
  const newest = new Map<string, StoredRecord>()
  for (const r of rows) {
    const prev = newest.get(r.id)
    if (!prev || prev.at <= r.at) newest.set(r.id, r)
  }
  return [...newest.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))
}

export function renderReport(rows: readonly StoredRecord[]): string {
  const list = newestPerCase(rows)
  const passed = list.filter((r) => r.passed).length
  const runs = [...new Set(list.map((r) => `${r.at.slice(0, 10)} on ${r.machine}`))].sort()
  const uncovered = CATALOGUE.filter((c) => !list.some((r) => r.id.startsWith(c.prefix)))
  const lines: string[] = [
    '# Reliability: faults and hostile input',
    '',
    '<!-- GENERATED by scripts/gen-reliability.ts from docs/reliability.ndjson; do not edit. -->',
    '',
    'Each row is the newest result of one case of issue 5, recorded by the test that ran it',
    '(`test/integration/faults/*.test.ts`, via `test/support/reliability.ts`). "Observed" is what that',
    'run saw: the exit code, the first line of the message, and the manifest comparison (every',
    'package from `dpkg-query -W`, every file under /etc /root /home /opt /usr/local /usr/share/keyrings',
    'with mode, owner and sha256, every account) against what it should be, plus `dpkg --audit`.',
    'The rows are kept in `docs/reliability.ndjson`; a run on any machine merges its own into them.',
    '',
    'Backends: `chroot` is a debootstrapped Debian 13 root with real dpkg, apt, useradd and visudo but',
    'no systemd; `container` (systemd-nspawn) and `vm` cover what needs an init, a network namespace',
    'or a kernel of its own.',
    '',
    `Run: \`npm run reliability\` (as root). ${list.length} case(s) recorded, ${passed} passed, ` +
      `${list.length - passed} failed; ${uncovered.length} not covered yet.`,
    '',
    `Recorded: ${runs.join('; ') || 'nothing yet'}.`,
    '',
    '| id | case | injected | expected | observed | backend | result | when |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const r of list) {
    lines.push(
      `| \`${r.id}\` | ${cell(`${r.area}: ${r.case}`)} | ${cell(r.injection)} | ${cell(r.expected)} | ${cell(r.observed)} | ${r.backend} | ${r.passed ? 'pass' : '**FAIL**'} | ${r.at.slice(0, 16).replace('T', ' ')} (${(r.durationMs / 1000).toFixed(1)} s) |`,
    )
  }
  lines.push('', '## Not covered yet', '')
  if (uncovered.length === 0) lines.push('Every case of the issue has a recorded row.')
  else {
    lines.push('| issue case | what | why not yet |', '| --- | --- | --- |')
    for (const c of uncovered) lines.push(`| ${c.issueCase} | ${cell(c.title)} | ${cell(c.notCovered)} |`)
  }
  lines.push('')
  return lines.join('\n')
}

/** Merges this machine's rows into the recorded ones, then writes both the rows and the report. */
export function writeReliabilityReport(
  dir = reliabilityDir(),
  files = { recorded: RECORDED, report: REPORT },
): { file: string; rows: number } {
  const rows = newestPerCase([...readRecordsFile(files.recorded), ...readRecords(dir)])
  writeFileSync(files.recorded, rows.map((r) => `${JSON.stringify(r)}\n`).join(''))
  writeFileSync(files.report, renderReport(rows))
  return { file: files.report, rows: rows.length }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { file, rows } = writeReliabilityReport()
  console.log(
    `${path.relative(REPO, file)}: ${rows} case(s), ${path.relative(REPO, RECORDED)} merged with ${reliabilityDir()}`,
  )
}
