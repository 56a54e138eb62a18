// SIGINT/SIGTERM/SIGHUP become one AbortSignal: the engine finishes and records the action in
// progress, then stops. A second signal must not cut the journal writes short, so it only says that
// we are still stopping. The abort reason is the signal's name (the engine reads it).
export const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 }
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown
  off(signal: NodeJS.Signals, listener: () => void): unknown
}

/** 128 + the signal number, as shells report it; null when the abort was not a signal. */
export function signalExitCode(signal: AbortSignal): number | null {
  if (!signal.aborted) return null
  return typeof signal.reason === 'string' ? (SIGNAL_EXIT[signal.reason] ?? null) : null
}

/**
 * Lets an attached client (attach.ts) take the signals over: the first still aborts, silently (it
 * detaches instead of stopping work), and every one is handed to the client's listener, so a
 * second Ctrl-C can stop the detached run.
 */
export interface Interrupts {
  /** Returns a function that gives the signals back. */
  takeOver(listener: (signal: string) => void): () => void
}

export function createInterrupts(): Interrupts & { deliver(signal: string): boolean } {
  let current: ((signal: string) => void) | null = null
  return {
    takeOver(listener) {
      current = listener
      return () => {
        if (current === listener) current = null
      }
    },
    deliver(signal) {
      if (!current) return false
      current(signal)
      return true
    },
  }
}

export function wireSignals(
  proc: SignalSource,
  controller: AbortController,
  say: (line: string) => void,
  interrupts?: ReturnType<typeof createInterrupts>,
): () => void {
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      const first = !controller.signal.aborted
      if (first) controller.abort(name)
      if (interrupts?.deliver(name)) return
      if (first) say(`\nReceived ${name}: finishing the current action and recording it, then stopping…`)
      else say('still stopping… (the journal is being written; it will stop by itself in a moment)')
    }
    proc.on(name, handler)
    return [name, handler] as const
  })
  return () => {
    for (const [name, handler] of handlers) proc.off(name, handler)
  }
}

/** After an interrupted run or rollback: how to carry on from here. */
export function stoppedLines(command: string | null, reason: string, sessionId: string | null): string[] {
  const id = sessionId ?? 'latest'
  const lines = [`Stopped by ${reason}: the action in progress was finished and recorded.`]
  if (command === 'rollback') lines.push(`Resume the rollback: vps-provision rollback ${id}`)
  else if (command === 'run') {
    lines.push('Resume:  vps-provision run   (finished work is skipped)')
    lines.push(`Undo:    vps-provision rollback ${id}`)
  }
  return lines
}
