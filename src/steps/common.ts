// Small helpers the step kinds share: hashing, where our cache lives on the managed machine, and
// creating cache directories so that each one we create is journaled (rollback removes it again).
import { dirname } from 'node:path'
import { EXIT, ProvisionError } from '../model/errors.js'
import { sha256 } from '../util/hash.js'
import type { StepContext } from './types.js'

/** On the managed machine; not /tmp, which trixie cleans (tmpfs). */
export const CACHE_DIR = '/var/cache/vps-provision'
export const KEYS_DIR = `${CACHE_DIR}/keys`
export const DOWNLOADS_DIR = `${CACHE_DIR}/downloads`
export const STAMPS_DIR = `${CACHE_DIR}/stamps`

export const octal = (mode: number): string => mode.toString(8).padStart(4, '0')

/** A stable local id from a path: `file` + `/etc/xrdp/xrdp.ini` -> `file.etc/xrdp/xrdp.ini`. */
export const pathId = (kind: string, path: string): string => `${kind}.${path.replace(/^\/+/, '')}`

/**
 * Creates `path` and any missing parents (parents 0755, same owner), one journaled change per
 * directory created, outermost first, so LIFO rollback removes the innermost first (each only if
 * it is empty by then).
 */
export async function ensureDir(
  ctx: StepContext,
  path: string,
  opts: { mode?: number; uid?: number; gid?: number } = {},
): Promise<void> {
  const missing: string[] = []
  for (let p = path; p !== '/' && p !== '.'; p = dirname(p)) {
    const st = await ctx.sys.stat(p)
    if (st?.kind === 'dir') break
    if (st)
      throw new ProvisionError(
        `Unable to create directory ${p}: a ${st.kind} is in the way`,
        EXIT.provisioning,
      )
    missing.unshift(p)
  }
  for (const dir of missing) {
    const mode = dir === path ? (opts.mode ?? 0o755) : 0o755
    await ctx.change(
      { actionType: 'FILE_CREATE', target: dir, undo: { kind: 'remove-dir', path: dir } },
      async () => {
        await ctx.sys.mkdir(dir, { mode, uid: opts.uid ?? 0, gid: opts.gid ?? 0 })
        return undefined
      },
    )
  }
}

/** Writes a file through one journaled change whose undo is the backup taken just before. */
export async function writeJournaled(
  ctx: StepContext,
  path: string,
  data: string | Buffer,
  opts: { mode: number; uid?: number; gid?: number },
): Promise<void> {
  const existed = (await ctx.sys.stat(path)) !== null
  const undo = await ctx.backup(path)
  await ctx.change({ actionType: existed ? 'FILE_MODIFY' : 'FILE_CREATE', target: path, undo }, async () => {
    await ctx.sys.writeFile(path, data, opts)
    return { files: { [path]: sha256(data) } }
  })
}
