// Runs one typed undo through one exhaustive table of handlers. Every kind looks before it acts,
// so each is idempotent and safe when the forward change never happened (a crash between `begin`
// and the change): undoing twice, or undoing what was never done, ends in 'skipped'. The kinds that
// put files back are in undo-files.ts, the ones that change packages, accounts and units in
// undo-system.ts.

import { removeBlock, upsertBlock } from '../facts/marked-block.js'
import type { Undo } from '../model/undo.js'
import type { System } from '../system/port.js'
import { sha256 } from '../util/hash.js'
import { removeClone } from './undo-clone.js'
import { keepDockerData, removeDockerVolume } from './undo-docker.js'
import {
  removeAptSource,
  removeDir,
  removeFile,
  removeTree,
  restoreBlock,
  restoreFile,
} from './undo-files.js'
import { plannedMaintainerUndo, removeMaintainerFiles } from './undo-maintainer.js'
import {
  type BackupReader,
  skipped,
  type UndoOf,
  type UndoOptions,
  type UndoOutcome,
} from './undo-outcome.js'
import { purgeAndRestore } from './undo-restore.js'
import {
  deleteGroup,
  deleteUser,
  disableUnit,
  removeFromGroup,
  removeSwapFile,
  runArgv,
  stopUnit,
} from './undo-system.js'

export { DriftError } from './undo-files.js'
export type { UndoOptions, UndoOutcome } from './undo-outcome.js'

type UndoKind = Undo['kind']
type Handler<K extends UndoKind> = (sys: System, undo: UndoOf<K>, opts: UndoOptions) => Promise<UndoOutcome>

/** One handler per kind; a kind added to Undo fails to compile here until it has one. */
const HANDLERS: { [K in UndoKind]: Handler<K> } = {
  'restore-file': restoreFile,
  'restore-block': restoreBlock,
  'remove-file': removeFile,
  'remove-dir': removeDir,
  'remove-tree': removeTree,
  'remove-swap-file': removeSwapFile,
  'remove-clone': removeClone,
  'remove-apt-source': removeAptSource,
  'purge-packages': purgeAndRestore,
  'remove-maintainer-files': removeMaintainerFiles,
  'delete-user': deleteUser,
  'delete-group': deleteGroup,
  'remove-from-group': removeFromGroup,
  'disable-unit': disableUnit,
  'stop-unit': stopUnit,
  'remove-docker-volume': removeDockerVolume,
  'keep-docker-data': keepDockerData,
  argv: runArgv,
  irreversible: async (_sys, undo) => skipped(`cannot be undone: ${undo.reason}`),
}

export function executeUndo(sys: System, undo: Undo, opts: UndoOptions): Promise<UndoOutcome> {
  // TypeScript cannot pair HANDLERS[undo.kind] with that same undo's type; the table above does.
  const handler = HANDLERS[undo.kind] as Handler<UndoKind>
  return handler(sys, undo, opts)
}

/** The files an undo would remove or overwrite. */
export function undoPaths(undo: Undo): string[] {
  switch (undo.kind) {
    case 'restore-file':
    case 'remove-file':
      return [undo.path]
    case 'remove-apt-source':
      return undo.keyringPath ? [undo.sourcePath, undo.keyringPath] : [undo.sourcePath]
    default:
      return []
  }
}

/** What restoreBlock (undo-files.ts) leaves of `text`: null when it removes the file. */
function blockRestored(text: string, undo: UndoOf<'restore-block'>): string | null {
  const next =
    undo.previous === null ? removeBlock(text, undo.marker) : upsertBlock(text, undo.marker, undo.previous)
  return next === '' && undo.removeEmptyFile ? null : next
}

/**
 * Every drifted path of a rollback, before anything is undone. `actions` newest first (the order
 * rollback runs in). A path a later action of the same session wrote again is judged against what
 * undoing that later action leaves behind, not against today's content, so a file written twice
 * by one session is not reported as drifted.
 */
export async function planUndoDrift(
  sys: System,
  actions: readonly { undo: Undo; written: Record<string, string | null> | null }[],
  backups: BackupReader | null = null,
): Promise<string[]> {
  // undefined: what a later undo leaves there is not known here; that undo's own check decides.
  const after = new Map<string, string | null | undefined>()
  // The text a later restore-block leaves in its file (an older action is judged against it).
  const texts = new Map<string, string | null>()
  const drifted: string[] = []
  const hashOf = async (path: string) => {
    if (after.has(path)) return after.get(path)
    const data = await sys.readFile(path)
    return data === null ? null : sha256(data)
  }
  for (const { undo, written } of actions) {
    if (undo.kind === 'remove-maintainer-files') {
      // Digests, not file hashes (a symlink is its target): compared with the tree as it is now.
      for (const p of written ? await plannedMaintainerUndo(sys, undo, written, backups) : []) {
        const now = after.has(p.path) ? after.get(p.path) : p.now
        const judged = now !== undefined && now !== p.before
        if (judged && now !== null && now !== p.wrote && !drifted.includes(p.path)) drifted.push(p.path)
        after.set(p.path, p.before)
      }
      continue
    }
    if (undo.kind === 'restore-block') {
      // Not judged itself (others edit around our block), but what it leaves is what an older
      // action that wrote the whole file (the credentials file) is judged against.
      const text = after.has(undo.path)
        ? texts.get(undo.path)
        : ((await sys.readFile(undo.path))?.toString('utf8') ?? null)
      const next = text === undefined || text === null ? text : blockRestored(text, undo)
      if (next === undefined) after.set(undo.path, undefined)
      else {
        texts.set(undo.path, next)
        after.set(undo.path, next === null ? null : sha256(next))
      }
      continue
    }
    for (const path of undoPaths(undo)) {
      const now = written && path in written ? await hashOf(path) : undefined
      if (now !== undefined && now !== written?.[path] && !drifted.includes(path)) drifted.push(path)
      after.set(path, undo.kind === 'restore-file' ? undo.sha256 : null)
      texts.delete(path)
    }
  }
  return drifted
}
