// directory(): exists with this mode and owner. Creating journals remove-dir (only when empty, so
// rollback never deletes what someone put inside); fixing mode or owner journals the old values.
import { EXIT, ProvisionError } from '../model/errors.js'
import type { Undo } from '../model/undo.js'
import { ensureDir, octal, pathId } from './common.js'
import type { Check, Step } from './types.js'

export interface DirectoryArgs {
  id?: string
  path: string
  mode: number
  uid?: number
  gid?: number
}

export function directory(args: DirectoryArgs): Step {
  const uid = args.uid ?? 0
  const gid = args.gid ?? 0
  return {
    id: args.id ?? pathId('dir', args.path),
    title: `Directory ${args.path}`,
    async check(sys): Promise<Check> {
      const st = await sys.stat(args.path)
      if (!st) return { done: false, observed: `${args.path} absent`, why: `${args.path} does not exist` }
      const observed = `${args.path} ${st.kind} mode=${octal(st.mode)} owner=${st.uid}:${st.gid}`
      const problems: string[] = []
      if (st.kind !== 'dir') problems.push(`is a ${st.kind}`)
      if (st.mode !== args.mode) problems.push(`mode ${octal(st.mode)}, want ${octal(args.mode)}`)
      if (st.uid !== uid || st.gid !== gid) problems.push(`owner ${st.uid}:${st.gid}, want ${uid}:${gid}`)
      return problems.length === 0
        ? { done: true, observed }
        : { done: false, observed, why: problems.join('; ') }
    },
    async apply(ctx) {
      const st = await ctx.sys.stat(args.path)
      if (!st) return ensureDir(ctx, args.path, { mode: args.mode, uid, gid })
      if (st.kind !== 'dir')
        throw new ProvisionError(
          `Unable to create directory ${args.path}: a ${st.kind} is in the way`,
          EXIT.provisioning,
        )
      if (st.mode !== args.mode) {
        const undo: Undo = { kind: 'argv', argv: ['chmod', octal(st.mode), args.path], allowFailure: true }
        await ctx.change({ actionType: 'FILE_MODIFY', target: args.path, undo }, async () => {
          await ctx.sys.exec(['chmod', octal(args.mode), args.path])
          return undefined
        })
      }
      if (st.uid !== uid || st.gid !== gid) {
        const undo: Undo = {
          kind: 'argv',
          argv: ['chown', `${st.uid}:${st.gid}`, args.path],
          allowFailure: true,
        }
        await ctx.change({ actionType: 'FILE_MODIFY', target: args.path, undo }, async () => {
          await ctx.sys.exec(['chown', `${uid}:${gid}`, args.path])
          return undefined
        })
      }
    },
  }
}
