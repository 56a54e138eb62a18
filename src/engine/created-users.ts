// Which users did our own sessions create (and not roll back)? Preflight lets a re-run reuse them
// without --reuse-user, while still refusing anybody else's account.
import { deriveActions, readJournal } from './journal.js'
import type { StatePaths } from './paths.js'
import type { SessionStore } from './session-store.js'

export async function usersWeCreated(store: SessionStore, paths: StatePaths): Promise<string[]> {
  const users = new Set<string>()
  for (const s of await store.list()) {
    const { records } = readJournal(paths.transactionLog(s.session_id))
    for (const a of deriveActions(records)) {
      if (a.undo.kind === 'delete-user' && a.state !== 'undone') users.add(a.undo.username)
    }
  }
  return [...users]
}
