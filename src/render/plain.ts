// Plain timestamped lines for logs (cloud-init, `| tee`), one event per line:
//   2026-11-26T10:00:00Z [system-prep] step system-prep.apt-update: applied
// No colour and no cursor control; every state is a word.
import { Chalk } from 'chalk'
import type { RunEvent, Summary } from '../model/events.js'
import { printSummary } from './summary.js'
import { clean, duration, plainTime } from './text.js'
import type { Renderer, RenderOptions } from './types.js'

const OUTCOME: Record<Extract<RunEvent, { type: 'step-end' }>['outcome'], string> = {
  applied: 'applied',
  'already-done': 'already done',
  'would-apply': 'would apply',
  failed: 'FAILED',
  skipped: 'skipped',
}

/** The line for one event; `phase` is the phase last started, for events that do not carry one. */
export function plainLine(event: RunEvent, phase: string | null): string {
  const at = (where: string, text: string) => `${plainTime(event.ts)} [${where}] ${clean(text)}`
  switch (event.type) {
    case 'session-start': {
      const what = event.phases.length > 0 ? `: ${event.phases.map((p) => p.name).join(', ')}` : ''
      const id = event.sessionId === '-' ? '' : ` session ${event.sessionId}`
      return at('session', `${event.command}${id} started${what}`)
    }
    case 'phase-start':
      return at(event.phase, `phase started: ${event.title} (${event.steps} steps)`)
    case 'phase-skip':
      return at(event.phase, `phase skipped: ${event.reason}`)
    case 'phase-end': {
      const took = duration(event.durationMs / 1000)
      if (event.status === 'COMPLETED')
        return at(event.phase, `phase completed in ${took} (${event.actions} actions)`)
      return at(event.phase, `phase FAILED after ${took}: ${event.error ?? 'no reason given'}`)
    }
    case 'step-start':
      return at(event.phase, `step ${event.step}: started (${event.title})`)
    case 'step-end':
      return at(
        event.phase,
        `step ${event.step}: ${OUTCOME[event.outcome]}${event.detail ? ` (${event.detail})` : ''}`,
      )
    case 'action': {
      const detail = event.detail ? ` (${event.detail})` : ''
      return at(
        phase ?? 'session',
        `action #${event.seq} ${event.actionType} ${event.target}: ${event.status}${detail}`,
      )
    }
    case 'output':
      return at(event.phase ?? phase ?? 'session', `| ${event.line}`)
    case 'message': {
      const level = event.level === 'info' ? 'info' : event.level === 'warn' ? 'WARNING' : 'ERROR'
      return at(phase ?? 'session', `${level}: ${event.text}`)
    }
    case 'session-end': {
      const s = event.summary
      const id = s.sessionId === '-' ? '' : ` ${s.sessionId}`
      return at(
        'session',
        `session${id} finished: ${s.status} in ${duration(s.durationSeconds)} (exit ${s.exitCode})`,
      )
    }
  }
}

export function plainRenderer(options: RenderOptions): Renderer {
  // Plain means no colour even on a terminal: these lines end up in log files.
  const opts = { ...options, color: new Chalk({ level: 0 }) }
  let phase: string | null = null
  return {
    emit(event) {
      if (event.type === 'phase-start') phase = event.phase
      opts.out.line(plainLine(event, phase))
      if (event.type === 'phase-end' || event.type === 'phase-skip') phase = null
    },
    async close(summary: Summary | null) {
      if (summary) printSummary(summary, opts)
    },
  }
}
