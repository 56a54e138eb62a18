// The fake Debian 13 answers like the real one: the read-only queries the phase contract run sends
// to the fake (its exec log) are replayed on a fresh fake, on the fake after that run and on a real
// trixie root (debootstrap, chroot); on each, every line the code parses has the same form and the
// same src/facts parser makes sense of it. A query a chroot cannot answer truthfully is skipped
// with its reason, loudly. Breaking a format of the fake (dpkg-query's "un " without its space,
// say) fails the kind's test with the offending lines.
//
//   sudo npx vitest run --project integration test/integration/parity.test.ts
//
// Needs root and the host tools of `bash scripts/install-host-tools.sh` (skipped loudly without
// them) and the Debian mirror for the first build of its root (cached under /var/tmp afterwards).
// Nothing runs on the host: every replay is inside a throwaway clone, whose mounts withChroot undoes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { childEnv } from '../../src/system/env.js'
import type { ExecResult } from '../../src/system/port.js'
import { withChroot } from '../lab/chroot.js'
import { labSkipReason, warnSkip } from '../lab/skip.js'
import { LAB_INCLUDE, type ScratchRoot, scratchRoot } from '../lab/trixie-root.js'
import type { FakeSystem } from '../support/fake/index.js'
import {
  answering,
  argvKey,
  NOT_REPLAYED,
  needsTheRun,
  QUERY_KINDS,
  type QueryKind,
} from '../support/parity.js'
import { runWorkstation, workstationMachine } from '../support/workstation-run.js'

// The tools whose output the code parses, so the root can answer: ss, sshd -T, systemctl is-enabled.
const PARITY_INCLUDE = [...LAB_INCLUDE, 'iproute2', 'openssh-server', 'systemd']

const skipReason = await labSkipReason()
warnSkip('parity (the fake against a real trixie root)', skipReason)

/** One query and what a machine answered. */
interface Answer {
  argv: readonly string[]
  result: ExecResult
}

const MACHINES = ['fake, fresh', 'fake, after the run', 'trixie root'] as const
type Machine = (typeof MACHINES)[number]

const kindOf = (argv: readonly string[]) => QUERY_KINDS.find((k) => k.matches(argv))

/** An argv for a message: apt's `-o` options left out, tabs and newlines visible, cut at 120. */
const shown = (argv: readonly string[]) => {
  const text = argv
    .filter((a, i) => a !== '-o' && argv[i - 1] !== '-o')
    .join(' ')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
  return text.length > 120 ? `${text.slice(0, 119)}…` : text
}

/** A query of a known kind that a fresh root can answer; says so loudly when it cannot. */
function replayable(argv: readonly string[]): boolean {
  if (!kindOf(argv)) return false
  const why = needsTheRun(argv)
  if (why) console.warn(`!!! parity: not replayed: ${shown(argv)}: ${why}`)
  return why === null
}

async function askFake(sys: FakeSystem, queries: readonly (readonly string[])[]): Promise<Answer[]> {
  const out: Answer[] = []
  for (const argv of queries) out.push({ argv, result: await sys.exec(argv, { allowFailure: true }) })
  return out
}

/** The queries, and each kind's sample, asked in a throwaway clone of the lab's trixie root. */
async function askTrixie(root: string, queries: readonly (readonly string[])[]): Promise<Answer[]> {
  const samples = QUERY_KINDS.flatMap((k) => (k.sample ? [k.sample] : []))
  return withChroot(root, async (ch) => {
    // What boot would have made: sshd -T refuses to run without its privilege separation dir.
    await ch.exec(['mkdir', '-p', '/run/sshd'])
    const out: Answer[] = []
    for (const argv of [...queries, ...samples].filter((a) => !kindOf(a)?.chrootCannot)) {
      const result = await ch.exec(argv, { allowFailure: true, env: childEnv(), timeoutMs: 300_000 })
      out.push({ argv, result })
    }
    return out
  })
}

describe.skipIf(skipReason !== '')('the fake Debian 13 answers like a real trixie root', () => {
  let sent: (readonly string[])[] = []
  const answers = new Map<Machine, Answer[]>()
  let scratch: ScratchRoot | null = null

  beforeAll(async () => {
    const run = await runWorkstation()
    expect(run.summary.exitCode, 'the phase contract run converges on the fake').toBe(0)
    sent = [...new Map(run.execLog.map((e) => [argvKey(e.argv), e.argv])).values()]
    const queries = sent.filter(replayable)
    const log = (line: string) => console.log(`[lab] ${line}`)
    scratch = await scratchRoot({ include: PARITY_INCLUDE, label: 'parity', log })
    answers.set('trixie root', await askTrixie(scratch.root, queries))
    answers.set('fake, fresh', await askFake(workstationMachine(), queries))
    answers.set('fake, after the run', await askFake(run.sys, queries))
  })

  afterAll(async () => {
    await scratch?.remove()
  })

  it('knows every argv the phases send: a query to replay, or not replayed with a reason', () => {
    const unknown = sent.filter((argv) => !kindOf(argv) && !NOT_REPLAYED.some((n) => n.matches(argv)))
    expect(unknown.map(shown), 'classify these in test/support/parity.ts').toEqual([])
  })

  it.for(QUERY_KINDS)('$name', async (kind, ctx) => {
    if (kind.chrootCannot) {
      console.warn(`!!! parity: skipping ${kind.name}: ${kind.chrootCannot}`)
      ctx.skip(kind.chrootCannot)
    }
    const problems: string[] = []
    const parsed = { fake: 0, real: 0 }
    for (const machine of MACHINES) {
      const mine = (answers.get(machine) ?? []).filter((a) => kind.matches(a.argv))
      if (machine === 'trixie root') expect(mine.length, `${kind.name} queries asked`).toBeGreaterThan(0)
      const found = await compare(kind, machine, mine)
      problems.push(...found.problems)
      parsed[machine === 'trixie root' ? 'real' : 'fake'] += found.parsed
    }
    expect(problems).toEqual([])
    const counts = `lines the code parses: ${JSON.stringify(parsed)}`
    if (!kind.mayBeEmpty) expect(Math.min(parsed.fake, parsed.real), counts).toBeGreaterThan(0)
    else if (Math.min(parsed.fake, parsed.real) === 0)
      console.warn(`!!! parity: ${kind.name}: ${counts}, which is fine: ${kind.mayBeEmpty}`)
  })
})

/** Every parsed line in the kind's form, and the kind's facts parser content with the answers. */
async function compare(kind: QueryKind, machine: Machine, list: readonly Answer[]) {
  const problems: string[] = []
  let parsed = 0
  const sys = answering(new Map(list.map((a) => [argvKey(a.argv), a.result])))
  for (const { argv, result } of list) {
    const lines = result.stdout.split('\n').filter((l) => l !== '' && (kind.parsed?.test(l) ?? true))
    parsed += lines.length
    for (const line of lines.filter((l) => !kind.form.test(l)))
      problems.push(`${machine}: ${shown(argv)}: ${JSON.stringify(line)} is not ${kind.form}`)
    for (const p of await kind.check(sys, argv)) problems.push(`${machine}: ${shown(argv)}: ${p}`)
  }
  return { problems, parsed }
}
