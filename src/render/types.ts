// What every renderer is: a sink for RunEvents while the engine works, then the summary.
import type { ChalkInstance } from 'chalk'
import type { EventSink, Summary } from '../model/events.js'
import type { Out } from './text.js'

export type RendererKind = 'tty' | 'plain' | 'json' | 'quiet'

export interface Renderer {
  emit: EventSink
  /**
   * Stops live output and prints the summary (null when the engine threw instead). `detached`: an
   * attached client let go of a run that goes on, so unfinished phases are not shown as failed.
   */
  close(summary: Summary | null, how?: { detached?: boolean }): Promise<void>
}

export interface RenderOptions {
  out: Out
  color: ChalkInstance
  /** stdout is a terminal: decides whether credentials may be shown. */
  tty: boolean
  /**
   * run --verbose: the terminal view keeps every line apt and dpkg print (plain lines and NDJSON
   * carry them anyway).
   */
  verbose?: boolean
}
