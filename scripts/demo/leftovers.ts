// What a demo whose keeper died (SIGKILL, a crash, a reboot of the keeper's terminal) can leave
// behind, found and removed. Killing nspawn alone is not enough: the container's init runs in its
// own session, survives nspawn, and keeps the network namespace, and with it ve-demo, alive. So its
// init (PID 1 of the container's PID namespace) is killed first, which ends every process inside.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { cleanStaleWorlds } from '../../test/e2e/harness/world.js'
import { sleep } from '../../test/lab/mounts.js'
import { run } from '../../test/lab/proc.js'
import { MACHINE_NAME, readState, SCENARIO, VETH, WORLDS_DIR } from './state.js'

export interface Leftovers {
  /** nspawn processes booting a demo root. */
  nspawn: number[]
  /** Container inits of the demo (they outlive nspawn). */
  inits: number[]
  veth: boolean
  roots: string[]
}

function argvOf(pid: number | string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return []
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** A container init of the demo: systemd, and its root's hostname is the demo machine's. */
function isDemoInit(pid: number): boolean {
  return (
    read(`/proc/${pid}/comm`).trim() === 'systemd' &&
    read(`/proc/${pid}/root/etc/hostname`).trim() === MACHINE_NAME
  )
}

export async function leftovers(): Promise<Leftovers> {
  const prefix = path.join(WORLDS_DIR, `${SCENARIO}-`)
  let roots: string[] = []
  try {
    roots = readdirSync(WORLDS_DIR)
      .filter((n) => n.startsWith(`${SCENARIO}-`))
      .map((n) => path.join(WORLDS_DIR, n))
  } catch {
    // no worlds directory: no roots
  }
  const nspawn: number[] = []
  const inits = new Set<number>()
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    const argv = argvOf(p)
    if (!argv[0]?.endsWith('systemd-nspawn') || !argv.some((a) => a.startsWith(prefix))) continue
    nspawn.push(Number(p))
    for (const child of read(`/proc/${p}/task/${p}/children`).trim().split(/\s+/).filter(Boolean))
      if (isDemoInit(Number(child))) inits.add(Number(child))
  }
  // An init whose nspawn is already gone is found through the state file.
  const pid1 = readState()?.machine?.pid1
  if (pid1 && isDemoInit(pid1)) inits.add(pid1)
  const veth =
    (await run(['ip', 'link', 'show', VETH], { allowFailure: true, timeoutMs: 10_000 })).exitCode === 0
  return { nspawn, inits: [...inits], veth, roots }
}

export function nothingLeft(l: Leftovers): boolean {
  return l.nspawn.length === 0 && l.inits.length === 0 && !l.veth && l.roots.length === 0
}

/**
 * Ends the containers of demos whose keeper is gone and removes their roots and stand-in
 * directories (the harness's cleanStaleWorlds, which also removes other dead e2e runs' leftovers,
 * as every e2e run does when it starts). Call only when no keeper is alive.
 */
export async function cleanLeftovers(log: (line: string) => void): Promise<void> {
  const before = await leftovers()
  for (const pid of before.inits) {
    log(`killing the demo container's init (pid ${pid}) and with it everything inside`)
    kill(pid)
  }
  for (const pid of before.nspawn) {
    log(`killing systemd-nspawn ${pid}`)
    kill(-pid)
    kill(pid)
  }
  // The network namespace, and ve-demo with it, goes once its last process has.
  for (let i = 0; i < 30 && before.veth; i++) {
    if (!(await leftovers()).veth) break
    await sleep(500)
  }
  await cleanStaleWorlds(log)
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone already
  }
}
