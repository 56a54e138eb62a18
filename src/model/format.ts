// Every file of state names its format, so that a newer vps-provision reads what any older release
// wrote (lifting it to today's format in memory, never rewriting it on disk behind the person's
// back) and refuses, by name, a format it does not know, instead of misreading someone's undo data.
// docs/recovery.md ("Sessions from another version") says what a person sees.
import pkg from '../../package.json' with { type: 'json' }
import { EXIT, ProvisionError } from './errors.js'

/** The version of this build (package.json, or the release script's --version at bundle time). */
export const TOOL_VERSION: string = pkg.version
/** What a session or checkpoint records as its writer. */
export const WRITTEN_BY = `vps-provision ${TOOL_VERSION}`

export type StateKind = 'session' | 'checkpoint' | 'journal'

/**
 * The format each kind is written in today. Files from before formats were recorded (releases up
 * to 0.1.0) carry none and are format 1. Raise a number only together with a migration below and a
 * new fixture directory (test/fixtures/state/).
 */
export const FORMAT = { session: 1, checkpoint: 1, journal: 1 } as const satisfies Record<StateKind, number>

/** Where each kind keeps its number: the journal's records have carried `v` since the first release. */
export const FORMAT_FIELD = { session: 'format', checkpoint: 'format', journal: 'v' } as const

type Raw = Record<string, unknown>
export type Migrations = Record<StateKind, Record<number, (raw: Raw) => Raw>>
/** MIGRATIONS[kind][n] turns format n into n + 1, in memory. Empty while every format is 1. */
const MIGRATIONS: Migrations = { session: {}, checkpoint: {}, journal: {} }

export class FutureFormatError extends ProvisionError {
  constructor(
    readonly what: string,
    readonly kind: StateKind,
    readonly found: unknown,
    readonly writtenBy: string | null,
    /** The newest format of `kind` the refusing build reads. */
    readonly newest: number = FORMAT[kind],
  ) {
    const by = writtenBy ?? 'a vps-provision other than this one'
    const format =
      typeof found === 'number'
        ? `${kind} format ${found}`
        : `an unknown ${kind} format (${JSON.stringify(found)})`
    super(
      `Unable to read ${what}: it was written by ${by} in ${format}; this is vps-provision ${TOOL_VERSION}, which reads ${kind} formats 1..${newest}`,
      EXIT.usage,
      `Upgrade vps-provision to the version that wrote it or newer (apt-get install --only-upgrade vps-provision), then run the command again`,
    )
    this.name = 'FutureFormatError'
  }

  /** The same refusal, naming the file once the caller knows which it was. */
  about(what: string): FutureFormatError {
    return new FutureFormatError(what, this.kind, this.found, this.writtenBy, this.newest)
  }
}

/** A reader of the formats up to `current`, lifting older ones with `migrations` (tests build others). */
export function formatReader(current: Record<StateKind, number>, migrations: Migrations) {
  return (kind: StateKind, what: string, raw: Raw): Raw => {
    const field = FORMAT_FIELD[kind]
    const found = raw[field] ?? 1
    const writtenBy = typeof raw.written_by === 'string' ? raw.written_by : null
    if (typeof found !== 'number' || !Number.isInteger(found) || found < 1 || found > current[kind])
      throw new FutureFormatError(what, kind, found, writtenBy, current[kind])
    let out = raw
    for (let n = found; n < current[kind]; n++) {
      const step = migrations[kind][n]
      if (!step) throw new Error(`Unable to read ${what}: no migration from ${kind} format ${n} (a bug)`)
      out = step(out)
    }
    return { ...out, [field]: current[kind] }
  }
}

/**
 * `raw` (a parsed JSON object of `kind`) lifted to today's format, or a FutureFormatError when it
 * names a format this build does not know. `what` names it in the message ("session 2026…").
 */
export const upgradeFormat = formatReader(FORMAT, MIGRATIONS)
