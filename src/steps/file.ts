// file(): whole-file content (or a function of the current content: markedBlock and iniValues are
// built on that), mode and owner. Validation runs on a temp file next to the target, so a config
// that sshd or visudo rejects never replaces a working one.
import { basename, dirname } from 'node:path'
import { readText } from '../facts/files.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { CommandError, type FileStat, type System } from '../system/port.js'
import { unifiedDiff } from '../util/diff.js'
import { sha256 } from '../util/hash.js'
import { octal, pathId, writeJournaled } from './common.js'
import type { Check, Step } from './types.js'

export type Content = string | ((current: string | null) => string)

export interface FileArgs {
  id?: string
  title?: string
  path: string
  content: Content
  mode: number
  /** Default 0 (root). */
  uid?: number
  gid?: number
  /** A checker argv run on the temp file; '{}' is replaced by its path, e.g. ['visudo', '-cf', '{}']. */
  validate?: readonly string[]
  /** Keep the content out of plan's diff (credentials). */
  sensitive?: boolean
}

/** As FileArgs, but the mode may be left out too. */
export interface EditArgs extends Omit<FileArgs, 'mode'> {
  mode?: number
}

interface Evaluated {
  stat: FileStat | null
  current: string | null
  desired: string
  want: { mode: number; uid: number; gid: number }
  problems: string[]
}

async function evaluate(sys: System, args: EditArgs, keep: boolean): Promise<Evaluated> {
  const stat = await sys.stat(args.path)
  if (stat && stat.kind !== 'file')
    throw new ProvisionError(
      `Unable to manage ${args.path}: it is a ${stat.kind}, not a file`,
      EXIT.provisioning,
    )
  const current = stat ? await readText(sys, args.path) : null
  const desired = typeof args.content === 'function' ? args.content(current) : args.content
  // Edits of existing files (markedBlock, iniValues) keep what they do not name; file() owns it all.
  const kept = keep ? stat : null
  const want = {
    mode: args.mode ?? kept?.mode ?? 0o644,
    uid: args.uid ?? kept?.uid ?? 0,
    gid: args.gid ?? kept?.gid ?? 0,
  }
  const problems: string[] = []
  if (!stat) problems.push('absent')
  else {
    if (current !== desired) problems.push('content differs')
    if (stat.mode !== want.mode) problems.push(`mode ${octal(stat.mode)}, want ${octal(want.mode)}`)
    if (stat.uid !== want.uid || stat.gid !== want.gid)
      problems.push(`owner ${stat.uid}:${stat.gid}, want ${want.uid}:${want.gid}`)
  }
  return { stat, current, desired, want, problems }
}

/** `keep`: mode and owner not given in args stay as they are (edits); otherwise 0644 root:root. */
export function managedFile(kind: string, args: EditArgs, keep: boolean): Step {
  return {
    id: args.id ?? pathId(kind, args.path),
    title: args.title ?? `Write ${args.path}`,
    async check(sys): Promise<Check> {
      const e = await evaluate(sys, args, keep)
      const observed = e.stat
        ? `${args.path} sha256=${sha256(e.current ?? '')} mode=${octal(e.stat.mode)} owner=${e.stat.uid}:${e.stat.gid}`
        : `${args.path} absent`
      if (e.problems.length === 0) return { done: true, observed }
      const diff =
        args.sensitive || e.current === e.desired ? undefined : unifiedDiff(args.path, e.current, e.desired)
      return {
        done: false,
        observed,
        why: `${args.path}: ${e.problems.join('; ')}`,
        ...(diff ? { diff } : {}),
      }
    },
    async apply(ctx) {
      const e = await evaluate(ctx.sys, args, keep)
      if (e.problems.length === 0) return
      const dir = dirname(args.path)
      if ((await ctx.sys.stat(dir))?.kind !== 'dir')
        throw new ProvisionError(
          `Unable to write ${args.path}: directory ${dir} does not exist`,
          EXIT.provisioning,
          'Add a directory() step before this file step.',
        )
      if (args.validate) await validate(ctx.sys, args.path, e.desired, args.validate)
      await writeJournaled(ctx, args.path, e.desired, e.want)
    },
  }
}

/**
 * Writes the candidate to a dot-file next to the target (sudo ignores names with a dot, sshd only
 * includes *.conf), runs the checker, and always removes the temp file again.
 */
async function validate(
  sys: System,
  path: string,
  content: string,
  checker: readonly string[],
): Promise<void> {
  const temp = `${dirname(path)}/.${basename(path)}.vps-provision-tmp`
  const argv = checker.map((a) => a.split('{}').join(temp))
  try {
    await sys.writeFile(temp, content, { mode: 0o600, uid: 0, gid: 0 })
    const r = await sys.exec(argv, { allowFailure: true })
    if (r.exitCode !== 0)
      throw new ProvisionError(
        `Unable to validate ${path}: ${new CommandError(argv, r).message}`,
        EXIT.provisioning,
        `The new content was not installed; ${path} is unchanged. Fix the generated content (or its template).`,
      )
  } finally {
    await sys.removeFile(temp)
  }
}

export function file(args: FileArgs): Step {
  return managedFile('file', args, false)
}
