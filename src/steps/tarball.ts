// tarball(): an editor shipped as a .tar.gz (Antigravity), unpacked under /opt. The archive's one
// top directory is stripped whatever its name (the vendor names it per product and architecture),
// the tree is unpacked beside its place and renamed into it, and a marker file inside says it is
// ours and what it was unpacked from: check() reads the marker, never the archive (the download
// cache may be gone), and the undo removes only a tree that still carries it.
import { readText } from '../facts/files.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { unpackingPath } from '../model/undo.js'
import type { Check, Step } from './types.js'

export const TREE_MARKER = '.vps-provision-unpacked'

export interface TarballArgs {
  id: string
  /** The downloaded archive (a download step's dest). */
  archive: string
  /** Where the tree goes, e.g. /opt/antigravity. */
  dir: string
  /** The executable inside the top directory, which must be there after unpacking. */
  binary: string
  /** What was unpacked (URL, version): a different one makes the step due again. */
  identity: string
}

export function tarball(args: TarballArgs): Step {
  const marker = `${args.dir}/${TREE_MARKER}`
  const wanted = `${args.identity}\n`
  return {
    id: args.id,
    title: `Unpack ${args.archive} into ${args.dir}`,
    async check(sys): Promise<Check> {
      const found = await readText(sys, marker)
      const observed = `${args.dir} ${found?.trim() ?? 'absent'}`
      if (found === null) return { done: false, observed, why: `${args.dir} not unpacked yet` }
      if (found !== wanted)
        return { done: false, observed, why: `${args.dir} holds ${found.trim()}, not ${args.identity}` }
      if ((await sys.stat(`${args.dir}/${args.binary}`))?.kind !== 'file')
        return { done: false, observed, why: `${args.dir}/${args.binary} is missing` }
      return { done: true, observed }
    },
    async apply(ctx) {
      const { sys } = ctx
      const staging = unpackingPath(args.dir)
      if ((await sys.stat(args.dir)) && !(await sys.stat(marker))) {
        throw new ProvisionError(
          `Unable to unpack into ${args.dir}: it exists and vps-provision did not make it`,
          EXIT.provisioning,
          `Move ${args.dir} away (it may be an earlier install by hand), then run again`,
        )
      }
      const undo = { kind: 'remove-tree', path: args.dir, marker: TREE_MARKER } as const
      await ctx.change({ actionType: 'FILE_CREATE', target: args.dir, undo }, async () => {
        await sys.exec(['rm', '-rf', '--one-file-system', '--', staging])
        await sys.mkdir(staging, { mode: 0o755, uid: 0, gid: 0 })
        const tar = await sys.exec(
          [
            'tar',
            '--extract',
            '--file',
            args.archive,
            '--directory',
            staging,
            '--strip-components=1',
            '--no-same-owner',
          ],
          { allowFailure: true },
        )
        if (tar.exitCode !== 0) {
          throw new ProvisionError(
            `Unable to unpack ${args.archive}: tar exited ${tar.exitCode}: ${tar.stderr.trim().slice(-400)}`,
            EXIT.provisioning,
            'The download may be damaged or not a tarball: pin its sha256, or check the URL',
          )
        }
        if ((await sys.stat(`${staging}/${args.binary}`))?.kind !== 'file') {
          throw new ProvisionError(
            `Unable to find ${args.binary} in ${args.archive}: the tarball's top directory has no such file`,
            EXIT.provisioning,
            'Set sources.antigravity.tarball.binary to the executable the tarball holds',
          )
        }
        await sys.writeFile(`${staging}/${TREE_MARKER}`, wanted, { mode: 0o644, uid: 0, gid: 0 })
        // An older version of ours makes way; rollback of the session that unpacked it removes this one.
        await sys.exec(['rm', '-rf', '--one-file-system', '--', args.dir])
        await sys.exec(['mv', '--no-target-directory', '--', staging, args.dir])
        return { output: `unpacked into ${args.dir}` }
      })
    },
  }
}
