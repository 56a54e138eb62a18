// One phase of the live terminal view: its track (what the events said so far) and the listr2
// task that shows it, which waits for the phase's result; and the ETA from all tracks' weights.
import type { PhaseOutline } from '../model/events.js'
import { duration } from './text.js'

export type Result =
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

export interface Track {
  outline: PhaseOutline
  resolve(r: Result): void
  result: Promise<Result>
  settled: boolean
  task: TaskHandle | null
  startedAt: number | null
  steps?: number
  step?: number
  output?: string
  /** --verbose: lines not yet handed to the task, each shown once and in order. */
  lines: string[]
  spentMs?: number
}

export function settle(t: Track, r: Result): void {
  if (t.settled) return
  t.settled = true
  t.resolve(r)
}

/** The listr2 task of track `t`: shows it (onStart) and ends as the phase's result says. */
export function phaseTask(t: Track, onStart: () => void) {
  return async (_ctx: unknown, task: TaskHandle) => {
    t.task = task
    onStart()
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
}

/** Seconds left, from the time the finished phases took per unit of weight. */
export function eta(tracks: Iterable<Track>, current: Track): string | null {
  let doneWeight = 0
  let doneMs = 0
  let leftWeight = 0
  for (const t of tracks) {
    if (!t.settled) leftWeight += t.outline.weight
    else if (t.spentMs) {
      doneWeight += t.outline.weight
      doneMs += t.spentMs
    }
  }
  if (doneWeight === 0) return null
  const inCurrent = current.startedAt ? Date.now() - current.startedAt : 0
  return duration(Math.max(0, (doneMs / doneWeight) * leftWeight - inCurrent) / 1000)
}
