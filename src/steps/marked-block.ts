// markedBlock(): our lines inside someone else's file (/etc/bash.bashrc, ~/.bashrc, gitconfig),
// between marker comments, so a re-run replaces exactly our block and everything around it stays
// byte-identical. Undo restores the backup taken before the edit.
import { upsertBlock } from '../facts/marked-block.js'
import { type EditArgs, managedFile } from './file.js'
import type { Step } from './types.js'

export interface MarkedBlockArgs {
  id?: string
  path: string
  /** Names the block: `# >>> vps-provision:<marker> >>>`. */
  marker: string
  content: string
  /** Default: keep the current mode and owner (0644 root for a new file). */
  mode?: number
  uid?: number
  gid?: number
}

export function markedBlock(args: MarkedBlockArgs): Step {
  const edit: EditArgs = {
    id: args.id ?? `block.${args.marker}.${args.path.replace(/^\/+/, '')}`,
    title: `Block ${args.marker} in ${args.path}`,
    path: args.path,
    content: (current) => upsertBlock(current, args.marker, args.content),
    mode: args.mode,
    uid: args.uid,
    gid: args.gid,
  }
  return managedFile('block', edit, true)
}
