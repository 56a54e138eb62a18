// Root's SSH keys, made fit for the developer. Cloud images often block root logins by prefixing
// each of root's keys with options like `no-pty,command="echo 'Please login as the user …';exit 142"`:
// copied as they are, the developer could not log in either. Such a forced command is dropped
// with the options around it; other options (from=, restrictions without a command) are kept.
//
// The developer's authorized_keys is theirs: keys they add must survive a re-run and a rollback.
// Root's keys go in our marked block; every line outside it is kept byte for byte, and the undo
// puts back only the block (see `restore-block` in src/model/undo.ts).

import type { PasswdEntry } from '../facts/accounts.js'
import { readText } from '../facts/files.js'
import { blockContent, removeBlock, upsertBlock } from '../facts/marked-block.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import type { System } from '../system/port.js'
import { unifiedDiff } from '../util/diff.js'
import { sha256 } from '../util/hash.js'
import { octal } from './common.js'
import type { Check, Step } from './types.js'

export const ROOT_KEYS_MARKER = 'root-keys'

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-(ssh-ed25519|ecdsa-sha2-\S+)@openssh\.com)$/

export function keysForDeveloper(rootKeys: string): string {
  const out: string[] = []
  for (const raw of rootKeys.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const keyAt = keyStart(line)
    if (keyAt < 0) continue
    const options = line.slice(0, keyAt).trim()
    const key = line.slice(keyAt)
    out.push(options === '' || /(^|,)\s*command="/.test(options) ? key : `${options} ${key}`)
  }
  return out.length > 0 ? `${out.join('\n')}\n` : ''
}

/** Index of the key type token, skipping an options field that may contain quoted spaces. */
function keyStart(line: string): number {
  let inQuotes = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '"' && line[i - 1] !== '\\') inQuotes = !inQuotes
    if (inQuotes || (i > 0 && line[i - 1] !== ' ' && line[i - 1] !== '\t')) continue
    const token = line.slice(i).split(/\s/, 1)[0] ?? ''
    if (KEY_TYPE.test(token)) return i
  }
  return -1
}

/** "type base64" of a key line, whatever its options and comment: what makes two lines the same key. */
function keyOf(line: string): string | null {
  const at = keyStart(line.trim())
  if (at < 0) return null
  const [type, blob] = line.trim().slice(at).split(/\s+/)
  return blob ? `${type} ${blob}` : null
}

/**
 * The developer's authorized_keys with root's keys in our block. Lines outside the block are kept
 * as they are; a root key already among them (added by hand, or by an earlier version of this tool
 * that wrote the file without markers) is not repeated. No key left for the block: no block.
 */
export function withRootKeys(current: string | null, rootKeys: string): string {
  return withKeys(current, ROOT_KEYS_MARKER, keysForDeveloper(rootKeys))
}

/** `keys` (lines, made fit by keysForDeveloper) in the block `marker`, those outside it kept. */
export function withKeys(current: string | null, marker: string, keys: string): string {
  const outside = removeBlock(current ?? '', marker)
  const present = new Set(outside.split('\n').map(keyOf))
  const ours = keys.split('\n').filter((l) => l !== '' && !present.has(keyOf(l)))
  return ours.length === 0 ? outside : upsertBlock(current, marker, ours.join('\n'))
}

/**
 * Root's keys in `~user/.ssh/authorized_keys` (the .ssh directory is another step). A new file is
 * 0600 and the user's; an existing one keeps its mode and owner.
 */
export function rootKeysFile(user: PasswdEntry, rootKeys: string): Step {
  return keysBlockFile(user, ROOT_KEYS_MARKER, keysForDeveloper(rootKeys), "Root's SSH keys")
}

/** `keys` in our block `marker` of `~user/.ssh/authorized_keys`, as rootKeysFile says. */
export function keysBlockFile(user: PasswdEntry, marker: string, keys: string, what: string): Step {
  const path = `${user.home}/.ssh/authorized_keys`
  const evaluate = async (sys: System) => {
    const stat = await sys.stat(path)
    if (stat && stat.kind !== 'file')
      throw new ProvisionError(
        `Unable to manage ${path}: it is a ${stat.kind}, not a file`,
        EXIT.provisioning,
      )
    const current = stat ? await readText(sys, path) : null
    const desired = withKeys(current, marker, keys)
    const want = stat ?? { mode: 0o600, uid: user.uid, gid: user.gid }
    const problems: string[] = []
    if (!stat) problems.push('absent')
    else if (current !== desired) problems.push(`${what} missing`)
    return { stat, current, desired, want, problems }
  }
  return {
    id: `keys.${marker}.${path.replace(/^\/+/, '')}`,
    title: `${what} in ${path}`,
    async check(sys): Promise<Check> {
      const e = await evaluate(sys)
      const observed = e.stat
        ? `${path} sha256=${sha256(e.current ?? '')} mode=${octal(e.stat.mode)} owner=${e.stat.uid}:${e.stat.gid}`
        : `${path} absent`
      if (e.problems.length === 0) return { done: true, observed }
      return {
        done: false,
        observed,
        why: `${path}: ${e.problems.join('; ')}`,
        diff: unifiedDiff(path, e.current, e.desired),
      }
    },
    async apply(ctx) {
      const e = await evaluate(ctx.sys)
      if (e.problems.length === 0) return
      const undo = {
        kind: 'restore-block' as const,
        path,
        marker,
        previous: e.current === null ? null : blockContent(e.current, marker),
        removeEmptyFile: e.current === null,
      }
      const actionType = e.current === null ? 'FILE_CREATE' : 'FILE_MODIFY'
      await ctx.change({ actionType, target: path, undo }, async () => {
        await ctx.sys.writeFile(path, e.desired, { mode: e.want.mode, uid: e.want.uid, gid: e.want.gid })
        return { files: { [path]: sha256(e.desired) } }
      })
    },
  }
}
