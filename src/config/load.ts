// Loads the configuration from layers (file < env < flags, over the schema's defaults), deep-merged,
// then parsed by the strict schema. Every problem becomes one line naming the field, what is
// allowed and where the value came from. The file is treated as hostile input: only a small regular
// file is read, and YAML alias bombs are cut short.
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { type Document, LineCounter, parseDocument } from 'yaml'
import type { z } from 'zod'
import { errorMessage, usageError } from '../model/errors.js'
import { type Config, ConfigSchema } from './schema.js'
import { DEFAULT_CONFIG_FILE } from './settings.js'

export const MAX_CONFIG_BYTES = 64 * 1024
/** Enough for a hand-written file to reuse an anchor; far too few for an expansion attack. */
const MAX_ALIASES = 16

export type Path = readonly PropertyKey[]

export interface ConfigLayer {
  data: Record<string, unknown>
  /** Where the value at `path` came from: "--rdp-port", "VPS_PROVISION_RDP_PORT", "config.yaml:3:9". */
  origin(path: Path): string
}

export interface LoadConfigInput {
  /** --config, or null for DEFAULT_CONFIG_FILE (which may be missing). */
  file: string | null
  defaultFile?: string
  /** Env then flags: later layers win. */
  overrides: readonly ConfigLayer[]
}

export async function loadConfig(input: LoadConfigInput): Promise<{ config: Config; file: string | null }> {
  const path = input.file ?? input.defaultFile ?? DEFAULT_CONFIG_FILE
  const fileLayer = await readConfigFile(path, input.file !== null)
  const layers = fileLayer ? [fileLayer, ...input.overrides] : [...input.overrides]
  return { config: validateConfig(layers), file: fileLayer ? path : null }
}

const fail = (path: string, reason: string, hint?: string) =>
  usageError(`Unable to read the configuration file ${path}: ${reason}`, hint)

/** null when `path` is the default file and it does not exist. */
export async function readConfigFile(path: string, explicit: boolean): Promise<ConfigLayer | null> {
  let text: string
  // O_NONBLOCK: opening a FIFO must not wait for a writer. fstat on the open descriptor, so what
  // we check is what we read.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY).catch(
    (err) => {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' && !explicit) return null
      if (code === 'ENOENT') throw fail(path, 'no such file', 'Check the path given to --config')
      if (code === 'EACCES')
        throw fail(path, 'permission denied', 'Run as root (sudo), or make the file readable')
      throw fail(path, errorMessage(err))
    },
  )
  if (!handle) return null
  try {
    const st = await handle.stat()
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'a device or special file'
      throw fail(path, `it is ${kind}, not a regular file`, 'Point --config at a YAML or JSON file')
    }
    if (st.size > MAX_CONFIG_BYTES)
      throw fail(path, `it is ${st.size} bytes; the limit is ${MAX_CONFIG_BYTES}`)
    // Root follows this file's apt sources and download URLs, so nobody else may edit it.
    if (st.mode & 0o002) throw fail(path, 'it is writable by every user', `chmod o-w ${path}`)
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1)
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0)
    if (bytesRead > MAX_CONFIG_BYTES) throw fail(path, `it is over ${MAX_CONFIG_BYTES} bytes`)
    text = buf.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
  return parseConfigText(text, path)
}

/** YAML 1.2 also reads JSON, so one parser gives line:col for both. */
export function parseConfigText(text: string, label: string): ConfigLayer {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false })
  const problem = doc.errors[0] ?? doc.warnings[0]
  if (problem) {
    const { line, col } = lines.linePos(problem.pos[0])
    throw usageError(`Unable to parse the configuration file ${label}:${line}:${col}: ${problem.message}`)
  }
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES })
  } catch (err) {
    throw usageError(`Unable to parse the configuration file ${label}: ${errorMessage(err)}`)
  }
  if (data === null || data === undefined) data = {}
  if (!isPlainObject(data)) {
    const found = Array.isArray(data) ? 'a list' : `a ${typeof data}`
    throw usageError(
      `Unable to use the configuration file ${label}: expected a mapping of settings, found ${found}`,
    )
  }
  return { data, origin: (path) => `${label}${position(doc, lines, path)}` }
}

function position(doc: Document, lines: LineCounter, path: Path): string {
  const node = doc.getIn(path as unknown[], true) as { range?: [number, number, number] } | undefined
  if (!node?.range) return ''
  const { line, col } = lines.linePos(node.range[0])
  return `:${line}:${col}`
}

export function validateConfig(layers: readonly ConfigLayer[]): Config {
  const merged = layers.reduce<Record<string, unknown>>((acc, l) => deepMerge(acc, l.data), {})
  const parsed = ConfigSchema.safeParse(merged)
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.flatMap((issue) => describeIssue(issue, merged, layers))
  const head = 'Unable to use the configuration'
  const hint =
    'See docs/configuration.md; `vps-provision plan` checks a configuration without changing anything'
  if (problems.length === 1) throw usageError(`${head}: ${problems[0]}`, hint)
  throw usageError(`${head} (${problems.length} problems):\n  ${problems.join('\n  ')}`, hint)
}

/** Objects merge key by key; lists and scalars are replaced whole. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  // defineProperty keeps a "__proto__" key an own property, so the strict schema rejects it
  // instead of it silently changing the object's prototype.
  const put = (k: string, v: unknown) =>
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true })
  for (const [k, v] of Object.entries(base)) put(k, v)
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue
    const prev = out[k]
    put(k, isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v)
  }
  return out
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function valueAt(data: unknown, path: Path): unknown {
  let v = data
  for (const k of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return undefined
    v = (v as Record<PropertyKey, unknown>)[k]
  }
  return v
}

function originOf(path: Path, layers: readonly ConfigLayer[]): string {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i] as ConfigLayer
    if (valueAt(layer.data, path) !== undefined) return layer.origin(path)
  }
  return 'default'
}

const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}

export const pathText = (path: Path) =>
  path.reduce<string>(
    (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)),
    '',
  )

function describeIssue(issue: z.core.$ZodIssue, merged: unknown, layers: readonly ConfigLayer[]): string[] {
  const where = issue.path.length > 0 ? `${pathText(issue.path)}: ` : ''
  if (issue.code === 'unrecognized_keys') {
    const allowed = Object.keys(schemaAt(issue.path)?.shape ?? {})
    return issue.keys.map((key) => {
      const near = allowed.find(
        (a) => a.toLowerCase().replace(/[-_]/g, '') === key.toLowerCase().replace(/[-_]/g, ''),
      )
      const guess = near ? ` did you mean "${near}"?` : ''
      const from = originOf([...issue.path, key], layers)
      return `${where}unknown key ${show(key)}${guess} (allowed: ${allowed.join(', ')}) (${from})`
    })
  }
  const got = valueAt(merged, issue.path)
  return [`${where}${expectation(issue)}, got ${show(got)} (${originOf(issue.path, layers)})`]
}

function expectation(issue: z.core.$ZodIssue): string {
  const s = schemaAt(issue.path)
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}`
    case 'too_big':
    case 'too_small': {
      if (issue.origin === 'number' && s) {
        return `expected ${s.isInt ? 'a whole number' : 'a number'} from ${s.minValue ?? '-∞'} to ${s.maxValue ?? '∞'}`
      }
      const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`
      return `expected ${bound} ${issue.origin === 'array' ? 'item(s)' : 'characters'}`
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => String(v)).join(', ')}`
    case 'invalid_format':
      if (issue.format === 'url') return 'expected an http(s) URL'
      if (issue.format === 'regex' && !issue.message.startsWith('Invalid')) return `expected ${issue.message}`
      return `expected text matching ${'pattern' in issue ? issue.pattern : issue.format}`
    default:
      return `expected ${issue.message}`
  }
}

const TYPE_WORDS: Record<string, string> = {
  boolean: 'true or false',
  number: 'a number',
  string: 'text',
  array: 'a list',
  object: 'a mapping',
}

interface SchemaView {
  shape?: Record<string, unknown>
  def?: { type: string; innerType?: unknown; element?: unknown }
  minValue?: number | null
  maxValue?: number | null
  isInt?: boolean
}

/** The (unwrapped) schema of a field, to say what it allows. */
function schemaAt(path: Path): SchemaView | undefined {
  const unwrap = (s: unknown): SchemaView | undefined => {
    let v = s as SchemaView | undefined
    while (v?.def && ['default', 'prefault', 'nullable', 'optional'].includes(v.def.type)) {
      v = v.def.innerType as SchemaView
    }
    return v
  }
  let s = unwrap(ConfigSchema)
  for (const k of path) s = unwrap(typeof k === 'number' ? s?.def?.element : s?.shape?.[String(k)])
  return s
}
