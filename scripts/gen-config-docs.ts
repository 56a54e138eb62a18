// Generates docs/configuration.md from the zod schema (src/config/schema.ts) and the table of
// settings (src/config/settings.ts: flags and variables), so the reference can never say something
// they do not: test/unit/config-docs.test.ts fails when they differ.
//   npm run docs:config            rewrite docs/configuration.md
//   npm run docs:config -- --check exit 1 when it is out of date
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { stringify } from 'yaml'
import { z } from 'zod'
import { MAX_CONFIG_BYTES } from '../src/config/load.js'
import { ConfigSchema, defaultConfig } from '../src/config/schema.js'
import { DEFAULT_CONFIG_FILE, SETTING_LIST } from '../src/config/settings.js'
import { RESERVED_USERNAMES } from '../src/config/usernames.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const CONFIG_DOCS = join(root, 'docs', 'configuration.md')

interface Node {
  type?: string
  description?: string
  default?: unknown
  enum?: unknown[]
  const?: unknown
  anyOf?: Node[]
  items?: Node
  properties?: Record<string, Node>
  pattern?: string
  format?: string
  minimum?: number
  maximum?: number
  maxLength?: number
  minItems?: number
  /** Added below: what a regex or a refinement requires, in its own words. */
  'x-rules'?: string[]
  'x-protocol'?: string
}

interface Check {
  _zod: { def: { check: string; format?: string; error?: () => unknown; protocol?: RegExp } }
}

/** The JSON Schema, plus the human messages zod keeps on regexes and refinements. */
function jsonSchema(): Node {
  return z.toJSONSchema(ConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const def = (zodSchema as unknown as { _zod: { def: { checks?: Check[]; protocol?: RegExp } } })._zod
        .def
      const rules = (def.checks ?? [])
        .map((c) => c._zod.def.error?.())
        .filter((m): m is string => typeof m === 'string')
      if (rules.length > 0) jsonSchema['x-rules'] = rules
      if (def.protocol) jsonSchema['x-protocol'] = def.protocol.source
    },
  }) as Node
}

const code = (v: string) => `\`${v.replaceAll('|', '\\|')}\``
const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ')
const flow = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(flow).join(', ')}]` : stringify(v, { lineWidth: 0 }).trim()
const inline = (v: unknown) => code(flow(v))

function variants(n: Node): { inner: Node; nullable: boolean } {
  const others = (n.anyOf ?? []).filter((a) => a.type !== 'null')
  if (n.anyOf && others.length === 1 && others[0])
    return { inner: { ...others[0], ...pick(n) }, nullable: true }
  return { inner: n, nullable: false }
}
const pick = (n: Node) => (n.description ? { description: n.description } : {})

/** A union of several kinds (swap.size: a word, a size or the number 0): each kind, in order. */
const several = (n: Node): Node[] => {
  const others = (n.anyOf ?? []).filter((a) => a.type !== 'null')
  return others.length > 1 ? others : []
}

function typeOf(n: Node): string {
  if (several(n).length > 0) return [...new Set(several(n).map(typeOf))].join(' or ')
  const { inner, nullable } = variants(n)
  let t: string
  if (inner.type === 'array') t = `list of ${inner.items ? typeOf(inner.items) : 'values'}`
  else if (inner.type === 'object') t = 'mapping'
  else if (inner.type === 'string' && inner.format === 'uri') t = 'URL'
  else if (inner.type === 'string' && inner.enum) t = 'string'
  else t = inner.type ?? 'any'
  return nullable ? `${t} or null` : t
}

function allowed(n: Node): string {
  if (several(n).length > 0) return several(n).map(allowed).join('; or ')
  const { inner, nullable } = variants(n)
  const parts: string[] = []
  const rules = [...(inner['x-rules'] ?? [])]
  if (inner.const !== undefined) return code(String(inner.const))
  if (inner.enum) parts.push(`one of ${inner.enum.map((v) => code(String(v))).join(', ')}`)
  if (inner.type === 'boolean') parts.push(`${code('true')} or ${code('false')}`)
  if (inner.type === 'integer' || inner.type === 'number') {
    const whole = inner.type === 'integer' ? 'a whole number' : 'a number'
    parts.push(`${whole} from ${inner.minimum ?? '-∞'} to ${inner.maximum ?? '∞'}`)
  }
  if (inner.format === 'uri') {
    const schemes =
      inner['x-protocol'] === '^https?$' ? 'http or https' : `scheme matching ${inner['x-protocol']}`
    parts.push(`a URL (${schemes})`)
  }
  if (inner.pattern) {
    // A regex with its own message is described by it; a bare one by the pattern.
    parts.push(rules.length > 0 ? (rules.shift() as string) : `text matching ${code(inner.pattern)}`)
  }
  if (inner.maxLength !== undefined) parts.push(`at most ${inner.maxLength} characters`)
  if (inner.type === 'array' && inner.items) {
    const item = variants(inner.items).inner
    if (item.enum) parts.push(`any of ${item.enum.map((v) => code(String(v))).join(', ')}`)
    else if (item.pattern) parts.push(`items matching ${code(item.pattern)}`)
    if (inner.minItems) parts.push(`at least ${inner.minItems} item${inner.minItems === 1 ? '' : 's'}`)
  }
  parts.push(...rules)
  if (nullable) parts.push(code('null'))
  return parts.join('; ')
}

interface Row {
  key: string
  node: Node
  fallback: unknown
}

/** Every key, depth first, with the default a parent object supplies when the key has none. */
function rows(node: Node, prefix: string, parentDefault: unknown): Row[] {
  const out: Row[] = []
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name
    const inherited =
      parentDefault && typeof parentDefault === 'object'
        ? (parentDefault as Record<string, unknown>)[name]
        : undefined
    out.push({ key, node: child, fallback: inherited })
    if (child.type === 'object') out.push(...rows(child, key, child.default ?? inherited))
  }
  return out
}

function settingsTable(): string[] {
  const overrides = new Map(SETTING_LIST.map((s) => [s.path.join('.'), s]))
  const lines = [
    '| key | type | default | allowed values | flag / variable | description |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const { key, node, fallback } of rows(jsonSchema(), '', undefined)) {
    const isObject = node.type === 'object'
    const dflt = node.default !== undefined ? node.default : fallback
    const shown = isObject || dflt === undefined ? '' : inline(dflt)
    const o = overrides.get(key)
    const via = o ? `${code(o.flag)}<br>${code(o.env)}` : ''
    const type = isObject ? 'mapping' : typeOf(node)
    lines.push(
      `| ${code(key)} | ${type} | ${shown} | ${isObject ? '' : cell(allowed(node))} | ${via} | ${cell(node.description ?? '')} |`,
    )
  }
  return lines
}

/** The text exactly as `npm run lint` wants it: biome formats Markdown (tables, code blocks) too. */
export function renderConfigDocs(): string {
  return execFileSync(join(root, 'node_modules/.bin/biome'), ['format', `--stdin-file-path=${CONFIG_DOCS}`], {
    input: rawConfigDocs(),
    encoding: 'utf8',
    cwd: root,
  })
}

function rawConfigDocs(): string {
  const defaults = stringify(defaultConfig(), { lineWidth: 0 }).trimEnd()
  return `# Configuration reference

<!-- Generated by \`npm run docs:config\` from src/config/schema.ts and src/config/settings.ts: edit
their descriptions, not this file. test/unit/config-docs.test.ts fails when they disagree. -->

vps-provision reads one YAML (or JSON) file, by default \`${DEFAULT_CONFIG_FILE}\`, which may be
missing: every setting has a default. \`--config FILE\` names another file, which must then exist.
Flags override environment variables, which override the file, which overrides the defaults; objects
merge key by key and lists are replaced whole ([cli.md](cli.md#precedence-flags--environment--file--defaults)).

The schema is strict: an unknown key, a wrong type or a value out of range stops the command with
exit 5 and one line per problem naming the key, what it allows, the value and where it came from
(\`file:line:col\`, the flag or the variable). \`vps-provision plan --config FILE\` checks a file
without changing anything. The file must be a regular file of at most ${MAX_CONFIG_BYTES / 1024} KiB and not
world-writable, because root follows the repository and download URLs it names.

The .deb installs an annotated example at
\`/usr/share/doc/vps-provision/examples/config.yaml\`. A minimal file:

\`\`\`yaml
username: alice
ides: [vscode, cursor]
rdp:
  firewall: tunnel # RDP only through an SSH tunnel
\`\`\`

## Settings

${settingsTable().join('\n')}

A URL for an apt repository or a download is fetched by root: point it only at sources you trust,
and pin downloads with their \`sha256\` where the schema offers one.

## Reserved usernames

\`username\` cannot be any of these, on any machine: Debian 13's own accounts and groups, those of
the packages a VPS runs or this run installs, the group \`devusers\` the run creates, and names that
would read as the machine's administrator. The run would always refuse them (an existing system
account) or fail creating the account (\`useradd --user-group\` and an existing group), so the
configuration refuses them with exit 5 before anything is written. What depends on the machine
(an existing account, and \`reuseUser\`) is checked by preflight.

${RESERVED_USERNAMES.map(code).join(', ')}

## Every setting at its default

This is what an empty or missing file means:

\`\`\`yaml
${defaults}
\`\`\`
`
}

const invoked = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href
if (invoked) {
  const text = renderConfigDocs()
  if (process.argv.includes('--check')) {
    const current = readFileSync(CONFIG_DOCS, 'utf8')
    if (current !== text) {
      process.stderr.write('docs/configuration.md is out of date: run npm run docs:config\n')
      process.exitCode = 1
    }
  } else {
    writeFileSync(CONFIG_DOCS, text)
    process.stdout.write(`wrote ${CONFIG_DOCS}\n`)
  }
}
