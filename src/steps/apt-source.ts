// aptSource(): a third-party apt repository as a deb822 .sources file whose Signed-By names a
// keyring for that repository only. The key is downloaded into our cache first, so check() can
// compare the installed keyring with it without touching the network.
import { dirname } from 'node:path'
import { MANAGED_MARK } from '../facts/apt-sources.js'
import { readText } from '../facts/files.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { System } from '../system/port.js'
import { sha256 } from '../util/hash.js'
import { keyringBytes } from '../util/pgp-armor.js'
import { ensureDir, KEYS_DIR, writeJournaled } from './common.js'
import type { Check, Step } from './types.js'

export interface AptSourceArgs {
  id?: string
  /** Short name: the cached key is keys/<name>.key. */
  name: string
  uri: string
  suite: string
  components: readonly string[]
  keyUrl: string
  /** e.g. /usr/share/keyrings/microsoft.gpg (the path the vendor's own package expects). */
  keyringPath: string
  /** e.g. /etc/apt/sources.list.d/vscode.sources */
  sourcePath: string
  architectures?: readonly string[]
}

/** The .sources text. The key URL is in a comment so that changing it makes the step due again. */
export function renderSources(a: AptSourceArgs): string {
  return [
    `${MANAGED_MARK}; key from ${a.keyUrl}`,
    'Types: deb',
    `URIs: ${a.uri}`,
    `Suites: ${a.suite}`,
    `Components: ${a.components.join(' ')}`,
    ...(a.architectures?.length ? [`Architectures: ${a.architectures.join(' ')}`] : []),
    `Signed-By: ${a.keyringPath}`,
    '',
  ].join('\n')
}

async function observe(sys: System, a: AptSourceArgs) {
  const sources = await readText(sys, a.sourcePath)
  const keyring = await sys.readFile(a.keyringPath)
  const cached = await sys.readFile(`${KEYS_DIR}/${a.name}.key`)
  // Without a cached key (cache cleaned) any non-empty keyring is accepted: check never downloads.
  let keyOk = keyring !== null && keyring.length > 0
  if (keyOk && cached) keyOk = sha256(keyringBytes(cached)) === sha256(keyring ?? '')
  return { sources, keyring, keyOk }
}

export function aptSource(args: AptSourceArgs): Step {
  const wanted = renderSources(args)
  return {
    id: args.id ?? `apt-source.${args.name}`,
    title: `apt source ${args.name} (${args.uri})`,
    async check(sys): Promise<Check> {
      const o = await observe(sys, args)
      const observed = `${args.sourcePath} ${o.sources === null ? 'absent' : sha256(o.sources)} ${args.keyringPath} ${o.keyring ? sha256(o.keyring) : 'absent'}`
      const problems: string[] = []
      if (o.sources !== wanted)
        problems.push(o.sources === null ? `${args.sourcePath} absent` : `${args.sourcePath} differs`)
      if (!o.keyOk)
        problems.push(
          o.keyring ? `${args.keyringPath} is not the repository key` : `${args.keyringPath} absent`,
        )
      return problems.length === 0
        ? { done: true, observed }
        : { done: false, observed, why: problems.join('; ') }
    },
    async apply(ctx) {
      const { sys } = ctx
      await ensureDir(ctx, KEYS_DIR)
      const keyFile = `${KEYS_DIR}/${args.name}.key`
      const existed = (await sys.stat(keyFile)) !== null
      const undo = await ctx.backup(keyFile)
      await ctx.change(
        { actionType: existed ? 'FILE_MODIFY' : 'FILE_CREATE', target: keyFile, undo },
        async () => {
          const r = await sys.download(
            args.keyUrl,
            keyFile,
            { mode: 0o644, uid: 0, gid: 0 },
            { onRetry: ctx.retried },
          )
          return { files: { [keyFile]: r.sha256 } }
        },
      )
      const key = keyringBytes((await sys.readFile(keyFile)) ?? Buffer.alloc(0))
      if (key.length === 0)
        throw new ProvisionError(
          `Unable to install the signing key of ${args.name}: ${args.keyUrl} returned an empty file`,
          EXIT.provisioning,
          'Check the key URL in the configuration (sources.*.key).',
        )
      const current = await observe(sys, args)
      const keyDue = current.keyring === null || sha256(current.keyring) !== sha256(key)
      const sourcesDue = current.sources !== wanted
      await ensureDir(ctx, dirname(args.keyringPath))
      await ensureDir(ctx, dirname(args.sourcePath))
      if (keyDue && sourcesDue && current.keyring === null && current.sources === null) {
        // Both new: one action, one undo that removes both (each only if present).
        const undoBoth = {
          kind: 'remove-apt-source',
          sourcePath: args.sourcePath,
          keyringPath: args.keyringPath,
        } as const
        await ctx.change(
          { actionType: 'FILE_CREATE', target: `apt source ${args.name}`, undo: undoBoth },
          async () => {
            await sys.writeFile(args.keyringPath, key, { mode: 0o644, uid: 0, gid: 0 })
            await sys.writeFile(args.sourcePath, wanted, { mode: 0o644, uid: 0, gid: 0 })
            return { files: { [args.keyringPath]: sha256(key), [args.sourcePath]: sha256(wanted) } }
          },
        )
        return
      }
      // Something was there before: each file gets its own backup, so rollback restores it.
      if (keyDue) await writeJournaled(ctx, args.keyringPath, key, { mode: 0o644, uid: 0, gid: 0 })
      if (sourcesDue) await writeJournaled(ctx, args.sourcePath, wanted, { mode: 0o644, uid: 0, gid: 0 })
    },
  }
}
