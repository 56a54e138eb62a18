// `plan` for people: per phase, the steps that would change the machine with their reason and the
// file diff, and the ones already done. Diff lines keep their +/- so they read without colour.
import type { PlanReport } from '../model/reports.js'
import type { RenderOptions } from './renderer.js'
import { clean, cleanLines } from './text.js'

export function planLines(report: PlanReport, opts: RenderOptions): string[] {
  const c = opts.color
  const out: string[] = []
  let todo = 0
  let done = 0
  for (const phase of report.phases) {
    const skip = phase.skipped ? c.dim(` (skipped: ${clean(phase.skipped)})`) : ''
    out.push(c.bold(`${phase.name}: ${phase.title}`) + skip)
    for (const step of phase.steps) {
      if (step.done) {
        done += 1
        out.push(`  ${c.dim('ok'.padEnd(11))}  ${step.step}: ${clean(step.title)}`)
        continue
      }
      todo += 1
      const why = step.why ? ` (${clean(step.why)})` : ''
      out.push(`  ${c.yellow('would apply')}  ${step.step}: ${clean(step.title)}${why}`)
      if (step.diff) out.push(...cleanLines(step.diff.trimEnd()).map((l) => `      ${diffColor(l, c)}`))
    }
    if (phase.steps.length === 0) out.push(c.dim('  (no steps)'))
  }
  out.push('', `${todo} ${todo === 1 ? 'step' : 'steps'} would change this machine; ${done} already done.`)
  out.push('Nothing was changed. Apply with: vps-provision run')
  return out
}

function diffColor(line: string, c: RenderOptions['color']): string {
  if (line.startsWith('+') && !line.startsWith('+++')) return c.green(line)
  if (line.startsWith('-') && !line.startsWith('---')) return c.red(line)
  if (line.startsWith('@@')) return c.cyan(line)
  return line
}
