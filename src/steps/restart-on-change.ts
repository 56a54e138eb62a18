// restartOnChange(): restart (or reload) a unit when the files it reads changed since we last did.
// A stamp holds the hash of those files, so the first run after a config edit restarts once and a
// re-run with the same files does nothing. A unit that is not running is not started: it reads the
// new files whenever it starts.

import { readText } from '../facts/files.js'
import { isActive, unitState } from '../facts/systemd.js'
import type { System } from '../system/port.js'
import { sha256 } from '../util/hash.js'
import { ensureDir, STAMPS_DIR, writeJournaled } from './common.js'
import type { Check, Step } from './types.js'

export interface RestartOnChangeArgs {
  id?: string
  unit: string
  how: 'restart' | 'reload'
  /** The config files the unit reads. */
  watch: readonly string[]
}

async function fingerprint(sys: System, paths: readonly string[]): Promise<string> {
  const parts: string[] = []
  for (const p of paths) {
    const data = await sys.readFile(p)
    parts.push(`${p}\0${data ? sha256(data) : 'absent'}`)
  }
  return sha256(parts.join('\n'))
}

export function restartOnChange(args: RestartOnChangeArgs): Step {
  const stamp = `${STAMPS_DIR}/${args.unit}.${args.how}`
  return {
    id: args.id ?? `${args.how}.${args.unit}`,
    title: `${args.how === 'restart' ? 'Restart' : 'Reload'} ${args.unit} when its configuration changed`,
    async check(sys): Promise<Check> {
      const fp = await fingerprint(sys, args.watch)
      const observed = `${args.unit} config ${fp}`
      return (await readText(sys, stamp))?.trim() === fp
        ? { done: true, observed }
        : { done: false, observed, why: `${args.watch.join(', ')} changed since ${args.unit} last read them` }
    },
    async apply(ctx) {
      const fp = await fingerprint(ctx.sys, args.watch)
      if (isActive((await unitState(ctx.sys, args.unit)).active)) {
        const undo = {
          kind: 'irreversible',
          reason: `a ${args.how} cannot be taken back; ${args.unit} reads restored files at its next restart`,
        } as const
        await ctx.change(
          { actionType: 'SERVICE_START', target: `${args.how} ${args.unit}`, undo },
          async () => {
            await ctx.sys.exec(['systemctl', args.how, args.unit])
            return undefined
          },
        )
      }
      await ensureDir(ctx, STAMPS_DIR)
      await writeJournaled(ctx, stamp, `${fp}\n`, { mode: 0o644, uid: 0, gid: 0 })
    },
  }
}
