// The live terminal view: one listr2 task per phase, the current step as the task's output, elapsed
// time and an ETA from the phase weights. The engine drives progress through events, not through
// listr tasks, so each phase task just waits for its phase-end/phase-skip event. Events may run ahead
// of listr (it starts the next task a tick later), so everything is buffered per phase.
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput } from 'listr2'
import type { PhaseOutline, RunEvent, Summary } from '../model/events.js'
import { printSummary } from './summary.js'
import { clean, duration } from './text.js'
import type { Renderer, RenderOptions } from './types.js'

type Result =
  | { kind: 'completed'; actions: number }
  | { kind: 'failed'; error: string }
  | { kind: 'skipped'; reason: string }
  /** The client detached: the run goes on without this view (started: the phase was running). */
  | { kind: 'detached'; started: boolean }

/** The part of listr2's TaskWrapper we use: its setters redraw the task. */
interface TaskHandle {
  title: string
  output: string
  skip(message?: string): void
}

interface Track {
  outline: PhaseOutline
  resolve(r: Result): void
  result: Promise<Result>
  settled: boolean
  task: TaskHandle | null
  startedAt: number | null
  steps?: number
  step?: number
  output?: string
  spentMs?: number
}

export function ttyRenderer(opts: RenderOptions): Renderer {
  const tracks = new Map<string, Track>()
  const notes: string[] = []
  const c = opts.color
  let running: Promise<unknown> | null = null
  let ticker: NodeJS.Timeout | null = null
  let current: Track | null = null
  /** A real, wide enough terminal: listr2's redrawing view, with a clock. */
  let live = false

  const settle = (t: Track, r: Result) => {
    if (t.settled) return
    t.settled = true
    t.resolve(r)
  }

  /** Seconds left, from the time the finished phases took per unit of weight. */
  const eta = (current: Track): string | null => {
    let doneWeight = 0
    let doneMs = 0
    let leftWeight = 0
    for (const t of tracks.values()) {
      if (t.settled) {
        if (t.spentMs) {
          doneWeight += t.outline.weight
          doneMs += t.spentMs
        }
      } else leftWeight += t.outline.weight
    }
    if (doneWeight === 0) return null
    const inCurrent = current.startedAt ? Date.now() - current.startedAt : 0
    return duration(Math.max(0, (doneMs / doneWeight) * leftWeight - inCurrent) / 1000)
  }

  const refresh = (t: Track) => {
    if (!t.task || t.settled) return
    const bits = [t.steps ? `step ${t.step ?? 0}/${t.steps}` : null]
    if (live && t.startedAt) bits.push(duration((Date.now() - t.startedAt) / 1000))
    const left = live ? eta(t) : null
    if (left) bits.push(`about ${left} left`)
    const info = bits.filter(Boolean).join(', ')
    t.task.title = info ? `${t.outline.title} ${c.dim(`[${info}]`)}` : t.outline.title
    if (t.output) t.task.output = t.output
  }

  const taskFor = (t: Track) => async (_ctx: unknown, task: TaskHandle) => {
    t.task = task
    refresh(t)
    const r = await t.result
    switch (r.kind) {
      case 'completed':
        task.title = `${t.outline.title} (${r.actions} ${r.actions === 1 ? 'change' : 'changes'})`
        return
      case 'skipped':
        task.skip(`${t.outline.title} (skipped: ${r.reason})`)
        return
      case 'failed':
        task.title = `${t.outline.title}: FAILED`
        throw new Error(r.error)
      case 'detached':
        // listr2's "skipped" mark: this view stops here, the phase is neither done nor failed.
        task.skip(`${t.outline.title} (${r.started ? 'still running in the background' : 'not started yet'})`)
        return
    }
  }

  const start = (phases: PhaseOutline[]) => {
    for (const outline of phases) {
      let resolve: (r: Result) => void = () => {}
      const result = new Promise<Result>((r) => (resolve = r))
      const track: Track = { outline, resolve, result, settled: false, task: null, startedAt: null }
      tracks.set(outline.name, track)
    }
    if (tracks.size === 0) return
    const stream = opts.out.stream as NodeJS.WriteStream
    // A terminal that reports no width (some serial consoles, `script`) would wrap every character.
    live = opts.tty && (stream.columns ?? 0) >= 40
    const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream), useIcons: true })
    const listr = new Listr(
      [...tracks.values()].map((t) => ({ title: t.outline.title, task: taskFor(t) })),
      {
        concurrent: false,
        exitOnError: false,
        registerSignalListeners: false,
        renderer: 'default',
        rendererOptions: { logger, timer: PRESET_TIMER, collapseErrors: false },
        fallbackRenderer: 'simple',
        fallbackRendererOptions: { logger, timer: PRESET_TIMER },
        fallbackRendererCondition: !live,
      },
    )
    running = listr.run().catch(() => undefined)
    if (live) {
      ticker = setInterval(() => {
        for (const t of tracks.values()) if (t.startedAt && !t.settled) refresh(t)
      }, 1000)
      ticker.unref()
    }
  }

  /** Events for phases outside the outline (verify's checks) are shown as lines. */
  const line = (text: string) => {
    if (running) notes.push(text)
    else opts.out.line(text)
  }

  const emit = (event: RunEvent) => {
    const t = 'phase' in event && event.phase ? tracks.get(event.phase) : undefined
    switch (event.type) {
      case 'session-start':
        if (!running) start(event.phases)
        return
      case 'phase-start':
        if (!t) return line(c.bold(event.title))
        t.startedAt = Date.now()
        t.steps = event.steps
        current = t
        return refresh(t)
      case 'phase-skip':
        if (t) settle(t, { kind: 'skipped', reason: clean(event.reason) })
        else line(`${event.phase}: skipped, ${clean(event.reason)}`)
        return
      case 'phase-end':
        if (!t) return line(`${event.phase}: ${event.status}`)
        t.spentMs = event.durationMs > 0 ? event.durationMs : t.startedAt ? Date.now() - t.startedAt : 0
        if (event.status === 'COMPLETED') settle(t, { kind: 'completed', actions: event.actions })
        else settle(t, { kind: 'failed', error: clean(event.error ?? 'no reason given') })
        return
      case 'step-start':
        if (!t) return
        t.step = (t.step ?? 0) + 1
        t.output = clean(event.title)
        return refresh(t)
      case 'step-end':
        if (t) {
          if (event.outcome === 'failed')
            t.output = `${clean(event.step)}: FAILED ${clean(event.detail ?? '')}`
          return refresh(t)
        }
        return line(stepLine(event, c))
      case 'action':
        return
      case 'output':
        if (t) {
          t.output = clean(event.line)
          refresh(t)
        }
        return
      case 'message': {
        if (event.level === 'info') return line(clean(event.text))
        const text = `${event.level === 'warn' ? c.yellow('Warning:') : c.red('Error:')} ${clean(event.text)}`
        if (!running) return opts.out.line(text)
        // Shown under the running phase now, and again after the live view where it cannot scroll away.
        notes.push(text)
        if (current && !current.settled) {
          current.output = text
          refresh(current)
        }
        return
      }
      case 'session-end':
        for (const other of tracks.values()) settle(other, { kind: 'skipped', reason: 'not run' })
        return
    }
    // Every case returns: a new event type fails to compile here until it is handled.
    event satisfies never
  }

  return {
    emit,
    async close(summary: Summary | null, how?: { detached?: boolean }) {
      for (const t of tracks.values()) {
        if (how?.detached) settle(t, { kind: 'detached', started: t.startedAt !== null })
        else
          settle(
            t,
            t.startedAt ? { kind: 'failed', error: 'stopped' } : { kind: 'skipped', reason: 'not run' },
          )
      }
      await running
      if (ticker) clearInterval(ticker)
      for (const note of notes) opts.out.line(note)
      if (summary) printSummary(summary, opts)
    },
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
  }
}
