// apt's view of its sources: which packages are visible (a third-party package only after its
// source file exists and `apt-get update` ran), apt-cache policy, and the update itself with the
// failures apt 3 really has (a missing or still ASCII-armored keyring, conflicting Signed-By).
import type { FakeFs } from './fs.js'
import {
  type Ctx,
  type FakeState,
  fail,
  type Handler,
  type Out,
  ok,
  type PackageDef,
  Unsupported,
} from './types.js'

const DIR = '/etc/apt/sources.list.d'

interface SourceEntry {
  file: string
  uri: string
  suite: string
  signedBy: string | null
}

export function sourceFiles(fs: FakeFs): string[] {
  return fs.list(DIR).filter((n) => n.endsWith('.sources') || n.endsWith('.list'))
}

/** The package as apt sees it now, or undefined when apt would say "Unable to locate package". */
export function candidate(state: FakeState, fs: FakeFs, name: string): PackageDef | undefined {
  const def = state.universe.get(name)
  if (!def?.source) return def
  const visible = fs.exists(`${DIR}/${def.source}`) && (state.aptUpdatedSources ?? []).includes(def.source)
  return visible ? def : undefined
}

function parse(fs: FakeFs, file: string): SourceEntry[] | string {
  const text = fs.text(`${DIR}/${file}`) ?? ''
  const entries: SourceEntry[] = []
  if (file.endsWith('.list')) {
    for (const line of text.split('\n').map((l) => l.replace(/#.*/, '').trim())) {
      if (!line) continue
      const m = /^deb(?:-src)?\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line)
      if (!m) return `E: Malformed entry in list file ${DIR}/${file} (Component)`
      const signedBy = /signed-by=(\S+)/.exec(m[1] ?? '')?.[1] ?? null
      entries.push({ file, uri: m[2] as string, suite: m[3] as string, signedBy })
    }
    return entries
  }
  for (const [i, stanza] of text.split(/\n\s*\n/).entries()) {
    const fields = new Map<string, string>()
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim())
      if (m) fields.set((m[1] as string).toLowerCase(), (m[2] as string).trim())
    }
    if (fields.size === 0) continue
    if (fields.get('enabled') === 'no') continue
    const uris = fields.get('uris')
    const suites = fields.get('suites')
    if (!fields.get('types') || !uris || !suites) {
      return `E: Malformed entry ${i + 1} in sources file ${DIR}/${file} (URI)`
    }
    for (const uri of uris.split(/\s+/)) {
      for (const suite of suites.split(/\s+/)) {
        entries.push({ file, uri, suite, signedBy: fields.get('signed-by') ?? null })
      }
    }
  }
  return entries
}

/** `apt-get update`, or with `-o Dir::Etc::SourceList=FILE` (and no source parts) that file alone. */
export function aptUpdate(ctx: Ctx, only: string | null = null): Out {
  const entries: SourceEntry[] = []
  const files = only === null ? sourceFiles(ctx.fs) : [only.slice(only.lastIndexOf('/') + 1)]
  for (const file of files) {
    const parsed = parse(ctx.fs, file)
    if (typeof parsed === 'string') return fail(100, `${parsed}\nE: The list of sources could not be read.\n`)
    entries.push(...parsed)
  }
  const seen = new Map<string, SourceEntry>()
  for (const e of entries) {
    const key = `${e.uri} ${e.suite}`
    const prior = seen.get(key)
    if (prior && prior.signedBy !== e.signedBy) {
      return fail(
        100,
        `E: Conflicting values set for option Signed-By regarding source ${e.uri} ${e.suite}: ` +
          `${prior.signedBy ?? ''} != ${e.signedBy ?? ''}\nE: The list of sources could not be read.\n`,
      )
    }
    seen.set(key, e)
  }
  let stdout = ''
  let stderr = ''
  for (const [i, e] of [...seen.values()].entries()) {
    const key = e.signedBy ? ctx.fs.read(e.signedBy) : null
    // apt 3 verifies with sqv: a .gpg keyring must be binary (dearmored), an .asc one armored.
    const armored = key?.toString('latin1').startsWith('-----BEGIN PGP') ?? false
    if (!key || (e.signedBy?.endsWith('.gpg') && armored)) {
      stdout += `Err:${i + 1} ${e.uri} ${e.suite} InRelease\n`
      stderr += `E: The repository '${e.uri} ${e.suite} InRelease' is not signed.\n`
      continue
    }
    stdout += `Hit:${i + 1} ${e.uri} ${e.suite} InRelease\n`
  }
  if (stderr) return fail(100, stderr, stdout)
  ctx.state.aptUpdates += 1
  ctx.state.aptUpdatedSources =
    only === null ? sourceFiles(ctx.fs) : [...new Set([...(ctx.state.aptUpdatedSources ?? []), ...files])]
  for (const e of seen.values()) {
    const list = `/var/lib/apt/lists/${`${e.uri}_dists_${e.suite}`.replace(/^\w+:\/\//, '').replace(/\//g, '_')}_InRelease`
    ctx.fs.write(list, `update ${ctx.state.aptUpdates}\n`, { mode: 0o644 })
  }
  return ok(`${stdout}Reading package lists...\n`)
}

/** `apt-cache policy PKG...`: what is installed and what apt would install. */
export const aptCache: Handler = (ctx, args) => {
  const [command, ...names] = args
  if (command !== 'policy' || names.length === 0) throw new Unsupported(`apt-cache ${args.join(' ')}`)
  let stdout = ''
  let stderr = ''
  for (const name of names) {
    const installed = ctx.state.installed.get(name)?.version
    const cand = candidate(ctx.state, ctx.fs, name)?.version ?? installed
    if (!installed && !cand) {
      stderr += `N: Unable to locate package ${name}\n`
      continue
    }
    stdout += `${name}:\n  Installed: ${installed ?? '(none)'}\n  Candidate: ${cand ?? '(none)'}\n`
  }
  return ok(stdout, stderr)
}
