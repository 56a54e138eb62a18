// Where vps-provision keeps its own state. Everything hangs off one root so tests (and the crash
// tests' child processes) can point it at a temp directory with VPS_PROVISION_ROOT.
import { join } from 'node:path'
import { assertSessionId } from '../model/ids.js'

export interface StatePaths {
  root: string
  stateDir: string
  sessionsDir: string
  checkpointsDir: string
  backupsDir: string
  logDir: string
  cacheDir: string
  lockFile: string
  sessionFile(id: string): string
  transactionLog(id: string): string
  backupDir(id: string): string
}

export function statePaths(root: string = process.env.VPS_PROVISION_ROOT || '/'): StatePaths {
  const stateDir = join(root, 'var/vps-provision')
  const logDir = join(root, 'var/log/vps-provision')
  return {
    root,
    stateDir,
    sessionsDir: join(stateDir, 'sessions'),
    checkpointsDir: join(stateDir, 'checkpoints'),
    backupsDir: join(stateDir, 'backups'),
    logDir,
    cacheDir: join(root, 'var/cache/vps-provision'),
    lockFile: join(stateDir, 'lock'),
    sessionFile: (id) => join(stateDir, 'sessions', `session-${assertSessionId(id)}.json`),
    transactionLog: (id) => join(logDir, `transaction-${assertSessionId(id)}.log`),
    backupDir: (id) => join(stateDir, 'backups', assertSessionId(id)),
  }
}
