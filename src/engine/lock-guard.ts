// Run and rollback hold the one exclusive lock for their whole life; a second invocation is told
// who holds it and exits 75 having written nothing.
import { ensurePrivateDir } from '../system/atomic.js'
import { acquireLock, lockedError } from './lock.js'
import type { StatePaths } from './paths.js'

export async function withLock<T>(
  paths: StatePaths,
  holder: { sessionId: string | null; command: string },
  body: () => Promise<T>,
): Promise<T> {
  for (const dir of [
    paths.stateDir,
    paths.sessionsDir,
    paths.checkpointsDir,
    paths.backupsDir,
    paths.logDir,
  ]) {
    await ensurePrivateDir(dir)
  }
  const lock = await acquireLock(paths, holder)
  if (!lock.ok) throw lockedError(paths, lock.holder)
  try {
    return await body()
  } finally {
    await lock.release()
  }
}
