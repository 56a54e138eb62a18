// copyRootKeys(): root's SSH keys in a marked block of the developer's ~/.ssh/authorized_keys
// (authorized-keys.ts says how they are made fit and why only the block is ours). A machine whose
// root has no keys needs nothing from this step.
import { keysForDeveloper, rootKeysFile } from './authorized-keys.js'
import { directory } from './directory.js'
import { allOf, forUser, lazy } from './lazy.js'
import type { Step } from './types.js'

const ROOT_KEYS = '/root/.ssh/authorized_keys'

export function copyRootKeys(id: string, username: string): Step {
  const title = `Copy root's SSH keys to ${username}`
  return lazy(id, title, async (sys) => {
    const rootKeys = (await sys.readFile(ROOT_KEYS))?.toString('utf8') ?? ''
    if (keysForDeveloper(rootKeys) === '') return { nothingToDo: 'root has no authorized_keys' }
    return allOf(id, title, [
      forUser(`${id}.dir`, `Directory ~${username}/.ssh`, username, (u) =>
        directory({ path: `${u.home}/.ssh`, mode: 0o700, uid: u.uid, gid: u.gid }),
      ),
      forUser(`${id}.file`, `Root's SSH keys for ${username}`, username, (u) => rootKeysFile(u, rootKeys)),
    ])
  })
}
