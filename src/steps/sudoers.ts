// sudoers(): a drop-in under /etc/sudoers.d, 0440 root, checked by `visudo -cf` before it replaces
// anything: a broken sudoers file would lock every admin out of sudo.

import { managedFile } from './file.js'
import type { Step } from './types.js'

export interface SudoersArgs {
  id?: string
  name: string
  content: string
}

export function sudoers(args: SudoersArgs): Step {
  // sudo silently skips drop-ins whose name contains a dot or ends in '~': refuse them up front.
  if (!/^[A-Za-z0-9_-]+$/.test(args.name))
    throw new Error(
      `Unable to define sudoers drop-in ${JSON.stringify(args.name)}: use only letters, digits, _ and -`,
    )
  const path = `/etc/sudoers.d/${args.name}`
  return managedFile(
    'sudoers',
    {
      id: args.id ?? `sudoers.${args.name}`,
      title: `sudoers drop-in ${path}`,
      path,
      // sudoers needs a final newline; visudo rejects the file without it.
      content: args.content.endsWith('\n') ? args.content : `${args.content}\n`,
      mode: 0o440,
      uid: 0,
      gid: 0,
      validate: ['visudo', '-cf', '{}'],
    },
    false,
  )
}
