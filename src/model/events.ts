// The runner's typed event stream. Every renderer (listr2 TTY, plain lines, NDJSON) reads only
// these events, and each renderer's switch is exhaustive, so a new event cannot be silently ignored.
import type { ActionType, PhaseName, SessionStatus } from './schemas.js'

export type Command = 'run' | 'rollback' | 'plan' | 'verify'

export interface PhaseOutline {
  name: PhaseName
  title: string
  weight: number
}

export interface Summary {
  sessionId: string
  status: SessionStatus
  exitCode: number
  durationSeconds: number
  phases: { name: PhaseName; status: string; durationSeconds: number; actions: number }[]
  /** Lines for people: RDP address, tunnel command, username, where the password is. */
  lines: string[]
  /** Shown once on a TTY, never written anywhere by the engine. */
  credentials: { username: string; password: string } | null
  /** verify only: every check, by its step id, with what it found (the health check's answer). */
  checks?: { name: string; title: string; ok: boolean; detail: string | null }[]
}

export type RunEvent =
  | { type: 'session-start'; ts: string; command: Command; sessionId: string; phases: PhaseOutline[] }
  | { type: 'phase-start'; ts: string; phase: PhaseName; title: string; steps: number }
  | { type: 'phase-skip'; ts: string; phase: PhaseName; reason: string }
  | {
      type: 'phase-end'
      ts: string
      phase: PhaseName
      status: 'COMPLETED' | 'FAILED'
      durationMs: number
      actions: number
      error?: string
    }
  | { type: 'step-start'; ts: string; phase: PhaseName; step: string; title: string }
  | {
      type: 'step-end'
      ts: string
      phase: PhaseName
      step: string
      outcome: 'applied' | 'already-done' | 'would-apply' | 'failed' | 'skipped'
      detail?: string
    }
  | {
      type: 'action'
      ts: string
      seq: number
      actionType: ActionType
      target: string
      status: 'begin' | 'done' | 'failed' | 'undone' | 'undo-skipped'
      detail?: string
    }
  | { type: 'output'; ts: string; phase?: PhaseName; line: string }
  | { type: 'message'; ts: string; level: 'info' | 'warn' | 'error'; text: string }
  | { type: 'session-end'; ts: string; summary: Summary }

export type EventSink = (event: RunEvent) => void

export const now = (): string => new Date().toISOString()
