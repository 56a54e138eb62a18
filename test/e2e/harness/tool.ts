// The tool under test, as root runs it on the VPS: the bundle copied to /usr/local/bin, run as a
// transient unit of the machine's systemd. Its state is read back through the Machine's file calls.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { type DerivedAction, deriveActions } from '../../../src/engine/journal.js'
import { scan } from '../../../src/engine/journal-format.js'
import { type ProvisioningSession, ProvisioningSession as SessionSchema } from '../../../src/model/schemas.js'
import type { RunResult } from '../../lab/proc.js'
import type { Machine } from './machine.js'
import { NspawnMachine } from './nspawn.js'
import { buildTool, standInConfig, startWorld, TOOL_BUNDLE, type World, type WorldOptions } from './world.js'

/** What tool() needs of a world, on either backend (world.ts or vm-world.ts). */
export type ToolWorld = { machine: Machine; dir: string; log: (line: string) => void }

export const TOOL_PATH = '/usr/local/bin/vps-provision'
export const TOOL_CONFIG = '/etc/vps-provision/config.yaml'

/** The common start of a container scenario: a booted world with the bundle and the stand-in config. */
export async function startWorldWithTool(opts: WorldOptions): Promise<World> {
  await buildTool()
  const w = await startWorld(opts)
  try {
    await installTool(w.machine)
    await w.machine.writeFile(TOOL_CONFIG, standInConfig(w), 0o600)
    return w
  } catch (e) {
    await w.close().catch(() => undefined)
    throw e
  }
}

/**
 * As the README says: the bundle as /usr/local/bin/vps-provision. `keepExtension` installs it as
 * /usr/local/lib/vps-provision/vps-provision.mjs with that name as a symlink: Node older than 20.19
 * (Debian 12 has 18) reads an extensionless file as CommonJS and stops at the first `import`,
 * while the .mjs real path makes any Node load it as a module.
 */
export async function installTool(m: Machine, opts: { keepExtension?: boolean } = {}): Promise<void> {
  if (!opts.keepExtension) return m.copyIn(TOOL_BUNDLE, TOOL_PATH, 0o755)
  const real = '/usr/local/lib/vps-provision/vps-provision.mjs'
  await m.copyIn(TOOL_BUNDLE, real, 0o755)
  if (!(m instanceof NspawnMachine)) {
    await m.exec(['ln', '-sfn', real, TOOL_PATH])
    return
  }
  await rm(m.hostPath(TOOL_PATH), { force: true })
  await symlink(real, m.hostPath(TOOL_PATH))
}

export interface ToolRun extends RunResult {
  /** The session id the output names (run, rollback), or null. */
  sessionId: string | null
}

/**
 * `vps-provision ARGS` inside; stdout+stderr saved as artifacts/<scenario>/<artifact>.out.
 * `unit` names the transient unit, so a test can kill it (`systemctl kill`).
 */
export async function tool(
  w: ToolWorld,
  args: string[],
  opts: { artifact: string; timeoutMs?: number; unit?: string; env?: Record<string, string> },
): Promise<ToolRun> {
  const started = Date.now()
  const r = await w.machine.exec([TOOL_PATH, ...args], {
    allowFailure: true,
    timeoutMs: opts.timeoutMs ?? 45 * 60_000,
    ...(opts.unit ? { unit: opts.unit } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  })
  const header = `$ vps-provision ${args.join(' ')}\n# exit ${r.exitCode}${r.signal ? ` (${r.signal})` : ''} after ${Date.now() - started} ms\n`
  await writeFile(
    path.join(w.dir, `${opts.artifact}.out`),
    `${header}${r.stdout}${r.stderr ? `\n--- stderr ---\n${r.stderr}` : ''}`,
  )
  w.log(`vps-provision ${args.join(' ')}: exit ${r.exitCode} in ${Math.round(r.durationMs / 1000)} s`)
  const id = /\b(?:run|rollback) session (\d{8}-\d{6}-[a-z0-9]{6}) started/.exec(r.stdout)?.[1] ?? null
  return { ...r, sessionId: id }
}

export async function readSession(m: Machine, id: string): Promise<ProvisioningSession> {
  const text = await m.readFile(`/var/vps-provision/sessions/session-${id}.json`)
  if (text === null) throw new Error(`no session file for ${id}`)
  return SessionSchema.parse(JSON.parse(text))
}

/** The actions of a session's journal, read from the machine and checked by the journal's own scan. */
export async function journalActions(m: Machine, id: string): Promise<DerivedAction[]> {
  const text = await m.readFile(`/var/log/vps-provision/transaction-${id}.log`)
  if (text === null) throw new Error(`no journal for ${id}`)
  const view = scan(Buffer.from(text, 'utf8'))
  if (view.damage) throw new Error(`journal of ${id} is damaged: ${view.damage}`)
  return deriveActions(view.records)
}

/** Copies the tool's sessions and journals into the scenario's artifacts (whatever exists). */
export async function collectToolState(w: ToolWorld): Promise<void> {
  const out = path.join(w.dir, 'state')
  await mkdir(out, { recursive: true })
  for (const dir of ['/var/vps-provision/sessions', '/var/log/vps-provision']) {
    for (const n of await w.machine.list(dir)) {
      const text = await w.machine.readFile(`${dir}/${n}`)
      if (text !== null) await writeFile(path.join(out, n), text)
    }
  }
}
