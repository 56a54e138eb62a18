// The configuration a detached run hands its worker. The client validates it (file, environment,
// flags) and writes the result beside the session's file; the worker reads it back by session id,
// so the two cannot disagree and no setting travels through argv. It stays there afterwards: it
// says what that session was asked to do.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config/schema.js'
import type { StatePaths } from '../engine/index.js'
import { usageError } from '../model/errors.js'
import { assertSessionId } from '../model/ids.js'
import { ensurePrivateDir, readFileNoFollow, writeFileAtomic } from '../system/atomic.js'

/** Not `session-<id>.json`: that name belongs to the session store, which lists those files. */
export function sessionConfigPath(paths: StatePaths, sessionId: string): string {
  return join(paths.sessionsDir, `config-${assertSessionId(sessionId)}.json`)
}

/** Root-only (0600 in the 0700 sessions directory), atomic; a planted symlink is refused. */
export async function saveSessionConfig(paths: StatePaths, sessionId: string, config: Config): Promise<void> {
  await ensurePrivateDir(paths.sessionsDir)
  await writeFileAtomic(sessionConfigPath(paths, sessionId), `${JSON.stringify(config, null, 2)}\n`, 0o600)
}

/** For a worker that never started: its configuration would only mislead. */
export async function dropSessionConfig(paths: StatePaths, sessionId: string): Promise<void> {
  await rm(sessionConfigPath(paths, sessionId), { force: true })
}

/** Checked by the same strict schema again: the file is state, and state can be damaged. */
export async function loadSessionConfig(paths: StatePaths, sessionId: string): Promise<Config> {
  const path = sessionConfigPath(paths, sessionId)
  const data = await readFileNoFollow(path)
  if (data === null) {
    throw usageError(
      `Unable to read the configuration of session ${sessionId}: ${path} does not exist`,
      '--worker is for the process a detaching `vps-provision run` starts; start a run with `vps-provision run`',
    )
  }
  const { parseConfigText, validateConfig } = await import('../config/load.js')
  return validateConfig([parseConfigText(data.toString('utf8'), path)])
}
