// The contract between the CLI and the three renderers (TTY, plain, NDJSON). A renderer reads only
// RunEvents while the engine works, then prints the final summary once the engine returns.
import type { ChalkInstance } from 'chalk'
import type { EventSink, Summary } from '../engine/events.js'
import type { Out } from './text.js'

export type RendererKind = 'tty' | 'plain' | 'json'

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
}

/** --json wins, then --plain or a non-terminal stdout, then the live TTY view. */
export function chooseRenderer(flags: { json?: boolean; plain?: boolean }, isTTY: boolean): RendererKind {
  if (flags.json) return 'json'
  if (flags.plain || !isTTY) return 'plain'
  return 'tty'
}

export async function createRenderer(kind: RendererKind, opts: RenderOptions): Promise<Renderer> {
  switch (kind) {
    case 'json':
      return (await import('./json.js')).jsonRenderer(opts)
    case 'plain':
      return (await import('./plain.js')).plainRenderer(opts)
    case 'tty':
      // listr2 is only loaded when a terminal will show it.
      return (await import('./tty.js')).ttyRenderer(opts)
  }
}
