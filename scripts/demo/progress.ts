// What of the demo's log reaches the screen, and how a stage's progress line reads. Pure: the log
// (keeper.log) keeps every byte; these functions only decide which lines a person sees, so the
// raw apt/dpkg/debootstrap output (most of the log) stays out of the way unless --verbose.
//
// The log has three kinds of lines:
//   <iso> demo: @stage <id> | @note <text> | @error <text>   markers the demo writes for the screen
//   <iso> demo: <text>                                        the demo's and the harness's details
//   <iso-seconds>Z [<phase>] <text>                           vps-provision run --plain
// and, untimestamped, raw command output (npm, debootstrap, apt) and vps-provision's final summary.

export type Level = 'normal' | 'verbose' | 'quiet'

export const STAGES = [
  { id: 'package', title: 'Build the .deb (npm run package)' },
  { id: 'root', title: 'Debian 13 root (debootstrap; cached after the first time)' },
  { id: 'boot', title: 'Boot the container (systemd-nspawn) and its apt proxy' },
  { id: 'install', title: 'Install the .deb in it (apt-get install ./vps-provision_*.deb)' },
  { id: 'provision', title: 'Provision it (vps-provision run --yes)' },
] as const

export type StageId = (typeof STAGES)[number]['id']

export type Shown =
  | { kind: 'stage'; stage: StageId }
  | { kind: 'note'; text: string }
  | { kind: 'error'; text: string }
  /** A progress line of vps-provision itself (a step's outcome, a phase, its summary). */
  | { kind: 'step'; text: string }
  /** A step started: names what the stage is busy with, on the live line only. */
  | { kind: 'current'; text: string }
  /** Log only, unless --verbose; `current`: what it says the stage is busy with. */
  | { kind: 'raw'; text: string; current?: string }

const MARKER = /^\S+ demo: @(stage|note|error) ?(.*)$/
const KEEPER = /^\S+ demo: /
const PLAIN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (\[[^\]]+\]) (.*)$/
/**
 * vps-provision's own login lines name the container's address as if it were a VPS you reach
 * directly (its Tunnel line says root@10.213.N.2): the demo prints a login that works instead.
 */
const OWN_LOGIN = /^(RDP|Tunnel|Username|Password):/
const DPKG = /^(Unpacking|Setting up) (\S+) \(/

export function isStage(id: string): id is StageId {
  return STAGES.some((s) => s.id === id)
}

/** Where one log line goes; `stage` is the stage the log is in (raw output depends on it). */
export function classify(line: string, stage: StageId | null): Shown {
  const marker = MARKER.exec(line)
  if (marker) {
    const [, kind, text = ''] = marker
    if (kind === 'stage' && isStage(text)) return { kind: 'stage', stage: text }
    return kind === 'error' ? { kind: 'error', text } : { kind: 'note', text }
  }
  if (KEEPER.test(line)) return { kind: 'raw', text: line }
  const plain = PLAIN.exec(line)
  if (plain) {
    const [, phase = '', text = ''] = plain
    if (text.startsWith('| ') || text.startsWith('action #')) return { kind: 'raw', text: line }
    const started = /^step (\S+): started \((.*)\)$/.exec(text)
    // A title may list a dozen packages: enough of it to recognise the step.
    const title = started?.[2] && started[2].length > 48 ? `${started[2].slice(0, 47)}…` : started?.[2]
    if (started) return { kind: 'current', text: `${started[1]} (${title})` }
    if (/^(ERROR|phase FAILED)|: FAILED\b/.test(text)) return { kind: 'error', text: `${phase} ${text}` }
    return { kind: 'step', text: `${phase} ${text}` }
  }
  // After the run's last event comes its summary (phase table); every other bare line is raw.
  if (stage === 'provision' && !OWN_LOGIN.test(line)) return { kind: 'step', text: line }
  // debootstrap's and apt's dpkg lines say how far a long, otherwise silent stage is.
  const dpkg = stage === 'root' || stage === 'install' ? DPKG.exec(line) : null
  if (dpkg) return { kind: 'raw', text: line, current: `${dpkg[1]} ${dpkg[2]}` }
  return { kind: 'raw', text: line }
}

/** 42s, 4m 09s, 1h 02m. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`
}

function stageOf(id: StageId): { n: number; title: string } {
  const i = STAGES.findIndex((s) => s.id === id)
  return { n: i + 1, title: STAGES[i]?.title ?? id }
}

/** `[2/5] Debian 13 root (...)`: the line a stage starts with. */
export function stageLine(id: StageId): string {
  const { n, title } = stageOf(id)
  return `[${n}/${STAGES.length}] ${title}`
}

/** The live line on a terminal, redrawn every second: the stage, its time, what it is doing. */
export function liveLine(id: StageId, stageMs: number, current: string | null, width: number): string {
  const line = `${stageLine(id)}  ${elapsed(stageMs)}${current ? `  ${current}` : ''}`
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line
}

/** The line a stage ends with: its time, and the demo's total so far. */
export function doneLine(id: StageId, stageMs: number, totalMs: number): string {
  const { n } = stageOf(id)
  return `[${n}/${STAGES.length}] done in ${elapsed(stageMs)} (total ${elapsed(totalMs)})`
}

/** Without a terminal (a pipe, a CI log): a line now and then says it is still going. */
export function heartbeatLine(stageMs: number, current: string | null): string {
  return `      ... ${elapsed(stageMs)}${current ? `, now: ${current}` : ''}`
}
