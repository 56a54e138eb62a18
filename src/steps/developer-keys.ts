// copyRootKeys(): root's SSH keys in a marked block of the developer's ~/.ssh/authorized_keys
// (authorized-keys.ts says how they are made fit and why only the block is ours). A machine whose
// root has no keys needs nothing from this step.
import { keysBlockFile, keysForDeveloper, rootKeysFile } from './authorized-keys.js'
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

export const CONFIG_KEYS_MARKER = 'configured-keys'

/**
 * The developer's own keys from the configuration (`sshKeys`, and the lines of `sshKeysFile` read
 * at run time) in a marked block of their authorized_keys, beside root's block for the primary.
 */
export function configuredKeys(
  id: string,
  username: string,
  keys: { inline: readonly string[]; file: string | null },
): Step {
  const title = `SSH keys from the configuration for ${username}`
  return lazy(id, title, async (sys) => {
    const fromFile = keys.file === null ? '' : ((await sys.readFile(keys.file))?.toString('utf8') ?? null)
    if (fromFile === null) return { waitingFor: `the keys file ${keys.file} does not exist` }
    const lines = keysForDeveloper([...keys.inline, fromFile].join('\n'))
    if (lines === '') return { nothingToDo: `no key in the configuration for ${username}` }
    return allOf(id, title, [
      forUser(`${id}.dir`, `Directory ~${username}/.ssh`, username, (u) =>
        directory({ path: `${u.home}/.ssh`, mode: 0o700, uid: u.uid, gid: u.gid }),
      ),
      forUser(`${id}.file`, title, username, (u) =>
        keysBlockFile(u, CONFIG_KEYS_MARKER, lines, 'SSH keys from the configuration'),
      ),
    ])
  })
}
