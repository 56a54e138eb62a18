// The Engine the CLI drives. Phases default to the real ones of phases/, loaded lazily so that
// `--help` and `status` never pay for them.
import type { Engine, EngineDeps } from './api.js'
import { listSessions, planRun, sessionLog, sessionStatus, verifyOnly } from './inspect.js'
import { rollbackSession } from './rollback.js'
import { runSession } from './run.js'

async function withPhases(deps: EngineDeps): Promise<EngineDeps> {
  if (deps.phases) return deps
  const { ALL_PHASES, describeWorkstation } = await import('../../phases/index.js')
  return { ...deps, phases: ALL_PHASES, describe: deps.describe ?? describeWorkstation }
}

export const engine: Engine = {
  run: async (deps, cfg, opts) => runSession(await withPhases(deps), cfg, opts),
  plan: async (deps, cfg) => planRun(await withPhases(deps), cfg),
  verify: async (deps, cfg) => verifyOnly(await withPhases(deps), cfg),
  rollback: async (deps, opts) => rollbackSession(await withPhases(deps), opts),
  status: sessionStatus,
  sessions: listSessions,
  log: sessionLog,
}
