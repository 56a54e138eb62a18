// run --quiet: errors only. Progress, warnings and a successful run's summary are not shown (the
// exit code says it went well; `vps-provision status latest` tells the rest). The CLI hands this
// renderer stderr as its `out`, because everything it says is an error; a failed run's reason
// (its summary from "Failed:" on) reaches stderr through the CLI, as in every other mode.
import type { Summary } from '../model/events.js'
import { clean } from './text.js'
import type { Renderer, RenderOptions } from './types.js'

export function quietRenderer(opts: RenderOptions): Renderer {
  return {
    emit(event) {
      if (event.type === 'message' && event.level === 'error') opts.out.line(`error: ${clean(event.text)}`)
    },
    async close(_summary: Summary | null) {},
  }
}
