// The live terminal view: one listr2 task per phase, the current step as the task's output, elapsed
// time and an ETA from the phase weights. The engine drives progress through events, not through
// listr tasks, so each phase task just waits for its phase-end/phase-skip event. Events may run ahead
// of listr (it starts the next task a tick later), so everything is buffered per phase.
// --verbose keeps every line apt and dpkg print: a redrawing view can only show the latest, so it
// uses listr2's line-by-line form, which prints each task output as its own line.
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput } from 'listr2'
import type { PhaseOutline, RunEvent, Summary } from '../model/events.js'
import { printSummary } from './summary.js'
import { clean, duration } from './text.js'
import { eta, phaseTask, type Result, settle, type Track } from './tty-tracks.js'
import type { Renderer, RenderOptions } from './types.js'

type EventOf<K extends RunEvent['type']> = Extract<RunEvent, { type: K }>

export function ttyRenderer(opts: RenderOptions): Renderer {
  const view = new TtyView(opts)
  return { emit: (event) => view.emit(event), close: (summary, how) => view.close(summary, how) }
}

class TtyView {
  private readonly tracks = new Map<string, Track>()
  private readonly notes: string[] = []
  private running: Promise<unknown> | null = null
  private ticker: NodeJS.Timeout | null = null
  private current: Track | null = null
  /** A real, wide enough terminal: listr2's redrawing view, with a clock. */
  private live = false

  constructor(private readonly opts: RenderOptions) {}

  emit(event: RunEvent) {
    const t = 'phase' in event && event.phase ? this.tracks.get(event.phase) : undefined
    switch (event.type) {
      case 'session-start':
        if (!this.running) this.start(event.phases)
        return
      case 'phase-start':
        return this.phaseStart(t, event)
      case 'phase-skip':
        if (t) settle(t, { kind: 'skipped', reason: clean(event.reason) })
        else this.line(`${event.phase}: skipped, ${clean(event.reason)}`)
        return
      case 'phase-end':
        return this.phaseEnd(t, event)
      case 'step-start':
        if (!t) return
        t.step = (t.step ?? 0) + 1
        return this.say(t, clean(event.title))
      case 'step-end':
        return this.stepEnd(t, event)
      case 'action':
        return
      case 'output':
        if (t) this.say(t, clean(event.line))
        return
      case 'message':
        return this.message(event)
      case 'session-end':
        for (const other of this.tracks.values()) settle(other, { kind: 'skipped', reason: 'not run' })
        return
    }
    // Every case returns: a new event type fails to compile here until it is handled.
    event satisfies never
  }

  async close(summary: Summary | null, how?: { detached?: boolean }): Promise<void> {
    for (const t of this.tracks.values()) {
      if (how?.detached) settle(t, { kind: 'detached', started: t.startedAt !== null })
      else
        settle(t, t.startedAt ? { kind: 'failed', error: 'stopped' } : { kind: 'skipped', reason: 'not run' })
    }
    await this.running
    if (this.ticker) clearInterval(this.ticker)
    for (const note of this.notes) this.opts.out.line(note)
    if (summary) printSummary(summary, this.opts)
  }

  private start(phases: PhaseOutline[]) {
    for (const outline of phases) {
      let resolve: (r: Result) => void = () => {}
      const result = new Promise<Result>((r) => (resolve = r))
      const track = { outline, resolve, result, settled: false, task: null, startedAt: null, lines: [] }
      this.tracks.set(outline.name, track)
    }
    if (this.tracks.size === 0) return
    const stream = this.opts.out.stream as NodeJS.WriteStream
    // A terminal that reports no width (some serial consoles, `script`) would wrap every character.
    this.live = this.opts.tty && (stream.columns ?? 0) >= 40 && !this.opts.verbose
    const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream), useIcons: true })
    const listr = new Listr(
      [...this.tracks.values()].map((t) => ({
        title: t.outline.title,
        task: phaseTask(t, () => this.refresh(t)),
      })),
      {
        concurrent: false,
        exitOnError: false,
        registerSignalListeners: false,
        renderer: 'default',
        rendererOptions: { logger, timer: PRESET_TIMER, collapseErrors: false },
        fallbackRenderer: 'simple',
        fallbackRendererOptions: { logger, timer: PRESET_TIMER },
        fallbackRendererCondition: !this.live,
      },
    )
    this.running = listr.run().catch(() => undefined)
    if (this.live) {
      this.ticker = setInterval(() => {
        for (const t of this.tracks.values()) if (t.startedAt && !t.settled) this.refresh(t)
      }, 1000)
      this.ticker.unref()
    }
  }

  /** The task's current line: under --verbose every one is kept, otherwise only the latest. */
  private say(t: Track, text: string) {
    if (this.opts.verbose) t.lines.push(text)
    else t.output = text
    this.refresh(t)
  }

  private refresh(t: Track) {
    // Lines that came before listr started the task are shown even if the phase already ended.
    if (t.task && this.opts.verbose) for (const line of t.lines.splice(0)) t.task.output = line
    if (!t.task || t.settled) return
    const bits = [t.steps ? `step ${t.step ?? 0}/${t.steps}` : null]
    if (this.live && t.startedAt) bits.push(duration((Date.now() - t.startedAt) / 1000))
    const left = this.live ? eta(this.tracks.values(), t) : null
    if (left) bits.push(`about ${left} left`)
    const info = bits.filter(Boolean).join(', ')
    t.task.title = info ? `${t.outline.title} ${this.opts.color.dim(`[${info}]`)}` : t.outline.title
    if (t.output) t.task.output = t.output
  }

  /** Events for phases outside the outline (verify's checks) are shown as lines. */
  private line(text: string) {
    if (this.running) this.notes.push(text)
    else this.opts.out.line(text)
  }

  private phaseStart(t: Track | undefined, event: EventOf<'phase-start'>) {
    if (!t) return this.line(this.opts.color.bold(event.title))
    t.startedAt = Date.now()
    t.steps = event.steps
    this.current = t
    this.refresh(t)
  }

  private phaseEnd(t: Track | undefined, event: EventOf<'phase-end'>) {
    if (!t) return this.line(`${event.phase}: ${event.status}`)
    t.spentMs = event.durationMs > 0 ? event.durationMs : t.startedAt ? Date.now() - t.startedAt : 0
    if (event.status === 'COMPLETED') settle(t, { kind: 'completed', actions: event.actions })
    else settle(t, { kind: 'failed', error: clean(event.error ?? 'no reason given') })
  }

  private stepEnd(t: Track | undefined, event: EventOf<'step-end'>) {
    if (!t) return this.line(stepLine(event, this.opts.color))
    if (event.outcome === 'failed') this.say(t, `${clean(event.step)}: FAILED ${clean(event.detail ?? '')}`)
    else this.refresh(t)
  }

  private message(event: EventOf<'message'>) {
    const c = this.opts.color
    if (event.level === 'info') return this.line(clean(event.text))
    const text = `${event.level === 'warn' ? c.yellow('Warning:') : c.red('Error:')} ${clean(event.text)}`
    if (!this.running) return this.opts.out.line(text)
    // Shown under the running phase now, and again after the live view where it cannot scroll away.
    this.notes.push(text)
    if (this.current && !this.current.settled) this.say(this.current, text)
  }
}

function stepLine(event: Extract<RunEvent, { type: 'step-end' }>, c: RenderOptions['color']): string {
  const detail = event.detail ? `: ${clean(event.detail)}` : ''
  switch (event.outcome) {
    case 'already-done':
      return `  ${c.green('ok')}    ${clean(event.step)}`
    case 'applied':
      return `  ${c.green('done')}  ${clean(event.step)}${detail}`
    case 'would-apply':
      return `  ${c.yellow('todo')}  ${clean(event.step)}${detail}`
    case 'failed':
      return `  ${c.red('FAIL')}  ${clean(event.step)}${detail}`
    case 'skipped':
      return `  ${c.yellow('skip')}  ${clean(event.step)}${detail}`
  }
}
