// A new run's session record and the context its steps get; and the session records an earlier,
// killed run left behind, which only the next holder of the lock can notice.
import type { Config } from '../config/schema.js'
import { now } from '../model/events.js'
import type { PhaseExecution, ProvisioningSession, VPSInstance } from '../model/schemas.js'
import { sessionTransition } from '../model/transitions.js'
import type { Facts, Phase, SessionOutputs } from '../steps/types.js'
import type { EngineDeps } from './api.js'
import { type ContextDeps, secretsFor } from './context.js'
import type { Journal } from './journal.js'
import type { SessionStore } from './session-store.js'

export function contextFor(
  deps: EngineDeps,
  cfg: Config,
  facts: Facts,
  journal: Journal,
  backupDir: string,
): ContextDeps {
  const secrets = secretsFor(journal)
  const outputs = emptyOutputs()
  const { sys, emit, signal } = deps
  return {
    ...{ sys, cfg, facts, journal, backupDir, emit, signal, outputs },
    secrets: {
      add(value) {
        secrets.add(value)
        deps.onSecret?.(value)
      },
      scrub: secrets.scrub,
    },
  }
}

export function newSession(sessionId: string, phases: Phase[], vps: VPSInstance | null): ProvisioningSession {
  return {
    session_id: sessionId,
    command: 'run',
    start_time: now(),
    end_time: null,
    status: 'INITIALIZING',
    phases: phases.map(pendingPhase),
    error_details: null,
    duration_seconds: 0,
    vps_info: vps,
    developer_user: null,
    rdp_certificate: null,
    ide_installations: [],
  }
}

export /** A session left IN_PROGRESS by a killed process can only be noticed by the next holder of the lock. */
async function markInterruptedSessions(store: SessionStore): Promise<void> {
  for (const s of await store.list()) {
    if (s.status !== 'IN_PROGRESS' && s.status !== 'INITIALIZING') continue
    s.status = sessionTransition(s.status, 'FAILED')
    s.error_details =
      s.error_details ?? 'interrupted: the process stopped without finishing (killed, crash or power loss)'
    for (const p of s.phases) if (p.status === 'RUNNING') p.status = 'FAILED'
    await store.save(s)
  }
}

function pendingPhase(p: Phase): PhaseExecution {
  return {
    phase_name: p.name,
    status: 'PENDING',
    start_time: null,
    end_time: null,
    duration_seconds: 0,
    checkpoint_exists: false,
    actions: [],
    error_message: null,
  }
}

/** What the phases have handed to the summary before the first one runs: nothing yet. */
export function emptyOutputs(): SessionOutputs {
  return {
    developerUser: null,
    ideInstallations: [],
    rdpCertificate: null,
    credentials: null,
    credentialsFile: null,
    notes: [],
    vpsInfo: null,
    failedParts: [],
  }
}
