// Prometheus metrics through node-exporter's textfile collector: after a run and after `verify`, the
// outcome goes into a *.prom file in the collector's directory, when that directory exists (the
// Debian package prometheus-node-exporter creates it; metrics.nodeExporter installs it). Nothing
// else is needed to scrape us: no daemon of ours, no port. The collector reads only *.prom files,
// and System.writeFile writes a temp file then renames it, so a scrape never sees half a file.
// Writing the metrics never fails a run or a verify: a problem is a warning.
import { errorMessage } from '../model/errors.js'
import { now, type Summary } from '../model/events.js'
import { PhaseStatus } from '../model/schemas.js'
import type { System } from '../system/port.js'
import type { EngineDeps } from './api.js'

/** Where Debian's prometheus-node-exporter reads *.prom files (--collector.textfile.directory). */
export const TEXTFILE_DIR = '/var/lib/prometheus/node-exporter'
export const RUN_FILE = 'vps_provision.prom'
export const VERIFY_FILE = 'vps_provision_verify.prom'

export type Labels = Readonly<Record<string, string>>
export interface Sample {
  labels?: Labels
  value: number
}
export interface Family {
  name: string
  help: string
  type: 'gauge' | 'counter'
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** The text exposition format's escapes: a label value escapes \ " and newline, HELP \ and newline. */
export const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

/** One HELP and one TYPE line per family, then its samples; ends with a newline as the format asks. */
export function exposition(families: readonly Family[]): string {
  const out: string[] = []
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`)
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) {
      const pairs = Object.entries(s.labels ?? {}).map(([k, v]) => {
        if (!LABEL.test(k) || k.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(k)}`)
        return `${k}="${escapeLabel(v)}"`
      })
      out.push(`${f.name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(s.value)}`)
    }
  }
  return `${out.join('\n')}\n`
}

const PHASE_STATUSES = PhaseStatus.options

const SUCCESS = /^vps_provision_last_success_timestamp_seconds (\S+)$/m

/**
 * The run's families. `previous` is the file this replaces: a failed run keeps the time of the last
 * success it recorded, so an alert on "no success for a day" keeps working across failures.
 */
export function runFamilies(summary: Summary, endedAt: number, previous: string | null): Family[] {
  const ok = summary.status === 'COMPLETED'
  const before = previous?.match(SUCCESS)?.[1]
  const lastSuccess = ok ? endedAt : before !== undefined ? Number(before) : null
  const statuses = [...new Set([...PHASE_STATUSES, ...summary.phases.map((p) => p.status)])]
  return [
    {
      name: 'vps_provision_last_run_success',
      help: 'Whether the last vps-provision run completed (1) or not (0).',
      type: 'gauge',
      samples: [{ value: ok ? 1 : 0 }],
    },
    {
      name: 'vps_provision_last_run_exit_code',
      help: 'Exit code of the last vps-provision run (docs/cli.md).',
      type: 'gauge',
      samples: [{ value: summary.exitCode }],
    },
    {
      name: 'vps_provision_last_run_timestamp_seconds',
      help: 'When the last vps-provision run ended, in seconds since the epoch.',
      type: 'gauge',
      samples: [{ value: endedAt }],
    },
    {
      name: 'vps_provision_last_run_duration_seconds',
      help: 'How long the last vps-provision run took.',
      type: 'gauge',
      samples: [{ value: summary.durationSeconds }],
    },
    ...(lastSuccess !== null && Number.isFinite(lastSuccess)
      ? [
          {
            name: 'vps_provision_last_success_timestamp_seconds',
            help: 'When a vps-provision run last completed, in seconds since the epoch.',
            type: 'gauge' as const,
            samples: [{ value: lastSuccess }],
          },
        ]
      : []),
    {
      name: 'vps_provision_last_run_actions',
      help: 'Changes the last vps-provision run made (journaled actions; 0 on a converged machine).',
      type: 'gauge',
      samples: [{ value: summary.phases.reduce((n, p) => n + p.actions, 0) }],
    },
    {
      name: 'vps_provision_phase_duration_seconds',
      help: 'How long each phase of the last run took.',
      type: 'gauge',
      samples: summary.phases.map((p) => ({ labels: { phase: p.name }, value: p.durationSeconds })),
    },
    {
      name: 'vps_provision_phase_actions',
      help: 'Changes each phase of the last run made.',
      type: 'gauge',
      samples: summary.phases.map((p) => ({ labels: { phase: p.name }, value: p.actions })),
    },
    {
      // One series per possible status, 1 for the phase's own: the usual enum-as-gauge shape.
      name: 'vps_provision_phase_status',
      help: 'Outcome of each phase of the last run: 1 for its status, 0 for the others.',
      type: 'gauge',
      samples: summary.phases.flatMap((p) =>
        statuses.map((status) => ({ labels: { phase: p.name, status }, value: p.status === status ? 1 : 0 })),
      ),
    },
  ]
}

export interface CheckResult {
  name: string
  title: string
  ok: boolean
  detail: string | null
}

export function verifyFamilies(checks: readonly CheckResult[], endedAt: number): Family[] {
  return [
    {
      name: 'vps_provision_verify_success',
      help: 'Whether every check of the last vps-provision verify passed (1) or not (0).',
      type: 'gauge',
      samples: [{ value: checks.every((c) => c.ok) ? 1 : 0 }],
    },
    {
      name: 'vps_provision_verify_timestamp_seconds',
      help: 'When vps-provision verify last ran, in seconds since the epoch.',
      type: 'gauge',
      samples: [{ value: endedAt }],
    },
    {
      name: 'vps_provision_verify_check_ok',
      help: 'Each check of the last vps-provision verify: 1 passed, 0 failed.',
      type: 'gauge',
      samples: checks.map((c) => ({ labels: { check: c.name }, value: c.ok ? 1 : 0 })),
    },
  ]
}

/**
 * Writes `file` in the textfile directory, 0644 (node-exporter runs as its own user), when that
 * directory exists. Returns the path written, null when there is no directory; throws on a failure.
 */
export async function writeTextfile(
  sys: System,
  file: string,
  body: (previous: string | null) => string,
  dir: string = TEXTFILE_DIR,
): Promise<string | null> {
  const st = await sys.stat(dir)
  if (st?.kind !== 'dir') return null
  const path = `${dir}/${file}`
  const previous = (await sys.readFile(path))?.toString('utf8') ?? null
  await sys.writeFile(path, body(previous), { mode: 0o644 })
  return path
}

/**
 * Writes the metrics into node-exporter's textfile directory (engine/metrics.ts) when it exists. A
 * failure to write is a warning: the run's or verify's own outcome stands.
 */
export async function recordMetrics(
  deps: EngineDeps,
  file: string,
  body: (previous: string | null) => string,
): Promise<void> {
  try {
    await writeTextfile(deps.sys, file, body, deps.textfileDir)
  } catch (err) {
    deps.emit({
      type: 'message',
      ts: now(),
      level: 'warn',
      text: `Unable to write the Prometheus metrics (${file}): ${errorMessage(err)}`,
    })
  }
}
