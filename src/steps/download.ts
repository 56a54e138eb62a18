// download(): a file fetched into our cache (not /tmp: trixie's tmpfs is cleaned), optionally
// pinned by sha256. A mismatch deletes the file before failing, so a bad download is never used.
import { dirname } from 'node:path'
import { EXIT, ProvisionError } from '../model/errors.js'
import { sha256 } from '../util/hash.js'
import { DOWNLOADS_DIR, ensureDir } from './common.js'
import type { Check, Step } from './types.js'

export interface DownloadArgs {
  id: string
  url: string
  /** Absolute, or a file name under /var/cache/vps-provision/downloads. */
  dest: string
  /** Expected sha256 (64 lowercase hex), or null: not pinned. */
  sha256: string | null
  mode?: number
}

export const downloadPath = (dest: string): string =>
  dest.startsWith('/') ? dest : `${DOWNLOADS_DIR}/${dest}`

export function download(args: DownloadArgs): Step {
  const dest = downloadPath(args.dest)
  const mode = args.mode ?? 0o644
  return {
    id: args.id,
    title: `Download ${args.url}`,
    async check(sys): Promise<Check> {
      const data = await sys.readFile(dest)
      if (!data) return { done: false, observed: `${dest} absent`, why: `${dest} not downloaded yet` }
      const actual = sha256(data)
      const observed = `${dest} sha256=${actual}`
      if (args.sha256 !== null && actual !== args.sha256)
        return { done: false, observed, why: `${dest} has sha256 ${actual}, expected ${args.sha256}` }
      return { done: true, observed }
    },
    async apply(ctx) {
      await ensureDir(ctx, dirname(dest))
      const existed = (await ctx.sys.stat(dest)) !== null
      const undo = await ctx.backup(dest)
      await ctx.change(
        { actionType: existed ? 'FILE_MODIFY' : 'FILE_CREATE', target: dest, undo },
        async () => {
          const r = await ctx.sys.download(args.url, dest, { mode, uid: 0, gid: 0 }, { onRetry: ctx.retried })
          if (args.sha256 !== null && r.sha256 !== args.sha256) {
            await ctx.sys.removeFile(dest)
            throw new ProvisionError(
              `Unable to verify ${args.url}: sha256 is ${r.sha256}, expected ${args.sha256}`,
              EXIT.provisioning,
              'The download was deleted. If the vendor published a new release, update the pinned sha256 (or set it to null).',
            )
          }
          return { files: { [dest]: r.sha256 }, output: `${r.bytes} bytes, sha256 ${r.sha256}` }
        },
      )
    },
  }
}
