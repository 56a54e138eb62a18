// The screen while the demo starts or stops: it follows the log file (which keeps everything) and
// shows what progress.ts lets through. On a terminal the running stage is one live line with its
// time and current step; without one (a pipe, CI) a line every 30 s says it is still going, so a
// four-minute debootstrap is never four silent minutes.
import { open } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import {
  classify,
  doneLine,
  heartbeatLine,
  type Level,
  liveLine,
  type StageId,
  stageLine,
} from './progress.js'

const HEARTBEAT_MS = 30_000

export interface Screen {
  out(text: string): void
  err(text: string): void
  /** Columns of the terminal, or null when the output is not one (no live line then). */
  columns(): number | null
}

export const processScreen: Screen = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  columns: () => (process.stdout.isTTY ? process.stdout.columns || 80 : null),
}

export class View {
  private stage: StageId | null = null
  private stageStart = 0
  private current: string | null = null
  private lastBeat = 0
  private live = false

  constructor(
    private readonly level: Level,
    private readonly screen: Screen = processScreen,
    private readonly startedAt = Date.now(),
  ) {}

  /** The stage the log is in (raw lines are told apart by it). */
  get stageId(): StageId | null {
    return this.stage
  }

  line(raw: string, now = Date.now()): void {
    const shown = classify(raw, this.stage)
    if (shown.kind === 'stage') this.begin(shown.stage, now)
    else if (shown.kind === 'error') this.print(`${shown.text}\n`, 'err')
    else if (shown.kind === 'current') {
      this.current = shown.text
      if (this.level === 'verbose') this.print(`${raw}\n`)
    } else if (shown.kind === 'raw') {
      if (shown.current) this.current = shown.current
      if (this.level === 'verbose') this.print(`${shown.text}\n`)
    } else if (this.level !== 'quiet') this.print(shown.text ? `      ${shown.text}\n` : '\n')
  }

  /** Called about once a second: redraws the live line, or prints a heartbeat now and then. */
  tick(now = Date.now()): void {
    if (!this.stage || this.level !== 'normal') return
    const width = this.screen.columns()
    if (width !== null) {
      this.screen.out(`\r\x1b[2K${liveLine(this.stage, now - this.stageStart, this.current, width)}`)
      this.live = true
    } else if (now - this.lastBeat >= HEARTBEAT_MS) {
      this.lastBeat = now
      this.screen.out(`${heartbeatLine(now - this.stageStart, this.current)}\n`)
    }
  }

  /** Ends the running stage (the next one, the summary or a failure follows). */
  end(now = Date.now()): void {
    if (!this.stage) return
    const done = doneLine(this.stage, now - this.stageStart, now - this.startedAt)
    this.stage = null
    if (this.level !== 'quiet') this.print(`${done}\n`)
  }

  /** Drops the running stage without calling it done (it failed; the error says why). */
  abort(): void {
    this.stage = null
    if (this.live) this.screen.out('\r\x1b[2K')
    this.live = false
  }

  private begin(stage: StageId, now: number): void {
    this.end(now)
    this.stage = stage
    this.stageStart = now
    this.lastBeat = now
    this.current = null
    if (this.level !== 'quiet') this.print(`${stageLine(stage)}\n`)
  }

  /** Prints above the live line: clear it, print, and let the next tick draw it again. */
  private print(text: string, to: 'out' | 'err' = 'out'): void {
    if (this.live) {
      this.screen.out('\r\x1b[2K')
      this.live = false
    }
    this.screen[to](text)
  }
}

/** Reads what was appended to a file since the last call, as whole lines. */
export class LogTail {
  private partial = ''
  // A UTF-8 character split across two reads is kept until its second half arrives.
  private readonly decoder = new StringDecoder('utf8')

  constructor(
    private readonly file: string,
    private offset = 0,
  ) {}

  async lines(): Promise<string[]> {
    const fh = await open(this.file, 'r').catch(() => null)
    if (!fh) return []
    let text = ''
    try {
      const buf = Buffer.alloc(64 * 1024)
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset)
        if (bytesRead === 0) break
        this.offset += bytesRead
        text += this.decoder.write(buf.subarray(0, bytesRead))
      }
    } finally {
      await fh.close()
    }
    const all = (this.partial + text).split('\n')
    this.partial = all.pop() ?? ''
    return all
  }

  /** The last line even without its newline (when the writer is gone). */
  rest(): string[] {
    const r = this.partial ? [this.partial] : []
    this.partial = ''
    return r
  }
}

/** Feeds the log's new lines to the view about twice a second until stopped (then once more). */
export function follow(tail: LogTail, view: View): { stop(): Promise<void> } {
  let done = false
  const pump = async () => {
    for (const l of await tail.lines()) view.line(l)
    view.tick()
  }
  const loop = (async () => {
    while (!done) {
      await pump()
      await new Promise((r) => setTimeout(r, 500))
    }
    await pump()
    for (const l of tail.rest()) view.line(l)
  })()
  return {
    async stop() {
      done = true
      await loop
    },
  }
}
