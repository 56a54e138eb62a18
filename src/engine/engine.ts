// The Engine the CLI drives. The engine knows no phases of its own: bin/ hands it the workstation
// (the phase list and how to describe the result), as a loader so that `--help` and `status` never
// pay for them.
import type { Engine, EngineDeps, Workstation } from './api.js'
import { listSessions, planRun, sessionLog, sessionStatus, verifyOnly } from './inspect.js'
import { removeUser } from './remove-user.js'
import { rollbackSession } from './rollback.js'
import { runSession } from './run.js'
import { confirmSsh, revertPending } from './ssh-guard.js'

export function createEngine(workstation: () => Promise<Workstation>): Engine {
  const withPhases = async (deps: EngineDeps): Promise<EngineDeps> => {
    if (deps.phases) return deps
    const w = await workstation()
    return { ...deps, phases: w.phases, describe: deps.describe ?? w.describe }
  }
  return {
    run: async (deps, cfg, opts) => runSession(await withPhases(deps), cfg, opts),
    plan: async (deps, cfg) => planRun(await withPhases(deps), cfg),
    verify: async (deps, cfg) => verifyOnly(await withPhases(deps), cfg),
    rollback: async (deps, opts) => rollbackSession(await withPhases(deps), opts),
    removeUser: async (deps, opts) => removeUser(await withPhases(deps), opts),
    status: sessionStatus,
    sessions: listSessions,
    log: sessionLog,
    revertPending,
    confirmSsh,
  }
}
