// NDJSON: one RunEvent per line, then the session-end's summary on the last line, so a script can
// `tail -n1 | jq` for the result or stream the rest. Credentials never go into JSON: it is for logs
// and pipes, and the engine only hands them over for a person at a terminal.
import type { RunEvent, Summary } from '../model/events.js'
import type { Renderer, RenderOptions } from './types.js'

export function redactSummary(summary: Summary): Summary {
  return summary.credentials ? { ...summary, credentials: null } : summary
}

function redactEvent(event: RunEvent): RunEvent {
  switch (event.type) {
    case 'session-end':
      return { ...event, summary: redactSummary(event.summary) }
    case 'session-start':
    case 'phase-start':
    case 'phase-skip':
    case 'phase-end':
    case 'step-start':
    case 'step-end':
    case 'action':
    case 'output':
    case 'message':
      return event
  }
}

export function jsonRenderer(opts: RenderOptions): Renderer {
  return {
    emit(event) {
      opts.out.line(JSON.stringify(redactEvent(event)))
    },
    async close(summary: Summary | null) {
      if (summary) opts.out.line(JSON.stringify(redactSummary(summary)))
    },
  }
}
