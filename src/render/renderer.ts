// The contract between the CLI and the three renderers (TTY, plain, NDJSON). A renderer reads only
// RunEvents while the engine works, then prints the final summary once the engine returns.
import type { Renderer, RendererKind, RenderOptions } from './types.js'

export type { Renderer, RendererKind, RenderOptions }

/**
 * --json wins (its stream is a contract for scripts: --quiet does not thin it), then --quiet, then
 * --plain or a non-terminal stdout, then the live TTY view.
 */
export function chooseRenderer(
  flags: { json?: boolean; plain?: boolean; quiet?: boolean },
  isTTY: boolean,
): RendererKind {
  if (flags.json) return 'json'
  if (flags.quiet) return 'quiet'
  if (flags.plain || !isTTY) return 'plain'
  return 'tty'
}

export async function createRenderer(kind: RendererKind, opts: RenderOptions): Promise<Renderer> {
  switch (kind) {
    case 'json':
      return (await import('./json.js')).jsonRenderer(opts)
    case 'plain':
      return (await import('./plain.js')).plainRenderer(opts)
    case 'quiet':
      return (await import('./quiet.js')).quietRenderer(opts)
    case 'tty':
      // listr2 is only loaded when a terminal will show it.
      return (await import('./tty.js')).ttyRenderer(opts)
  }
}
