// One dpkg pass for the packages of several phases. Each apt transaction runs the triggers (ldconfig,
// desktop database, icon and font caches...) and dpkg's own start once more, so the first package
// step of a run also installs what later steps that allow it (Step.joinsEarlier) will want. Each
// later step's part is journaled as that step's own change, with its own undo (what it newly adds),
// so `rollback --to PHASE` and resume see exactly what they saw with one transaction per phase.
// The parts come from cumulative simulations: part i is what apt installs for the first i+1 sets
// and not for the first i. A later set that apt cannot install now (a vendor source not added yet,
// a conflict) stays with its own step, and so do the ones after it.

import { dpkgQuery, isInstalled, parseSimulatedInstalls } from '../facts/packages.js'
import type { ExecResult } from '../system/port.js'
import type { PlannedPackages, StepContext } from './types.js'

/** A later step's share of this transaction. */
export interface JoinedPart {
  phase: PlannedPackages['phase']
  step: string
  /** Its packages not installed yet: apt arguments. */
  missing: string[]
  /** What apt newly installs for it (its undo). */
  adds: string[]
}

/** The later steps (in run order) that may join this step's transaction, with what they miss. */
export async function joinableSteps(ctx: StepContext): Promise<Omit<JoinedPart, 'adds'>[]> {
  const at = ctx.plannedPackages.findIndex((p) => p.step === ctx.place.step)
  if (at < 0) return []
  const later = ctx.plannedPackages.slice(at + 1).filter((p) => p.joinsEarlier)
  const state = await dpkgQuery(ctx.sys, [...new Set(later.flatMap((p) => p.names))])
  const taken = new Set(ctx.plannedPackages[at]?.names)
  const out: Omit<JoinedPart, 'adds'>[] = []
  for (const p of later) {
    const missing = p.names.filter((n) => !isInstalled(state.get(n)) && !taken.has(n))
    for (const n of missing) taken.add(n)
    if (missing.length > 0) out.push({ phase: p.phase, step: p.step, missing })
  }
  return out
}

/**
 * Splits what the simulations say: `sims[0]` is for this step's own targets, `sims[i]` for those
 * plus the first i joining steps' (all succeeded). Returns this step's own adds and each part's.
 */
export function splitSimulations(
  sims: readonly ExecResult[],
  joining: readonly Omit<JoinedPart, 'adds'>[],
): { own: string[]; parts: JoinedPart[] } {
  const sets = sims.map((s) => parseSimulatedInstalls(s.stdout))
  const all = new Set(sets.at(-1))
  const seen = new Set<string>()
  const newIn = (i: number) => {
    const fresh = (sets[i] ?? []).filter((n) => all.has(n) && !seen.has(n))
    for (const n of fresh) seen.add(n)
    return fresh
  }
  const own = newIn(0)
  const parts = joining.map((j, i) => ({ ...j, adds: newIn(i + 1) }))
  return { own, parts }
}

/** How many joining steps apt can take along: the simulations up to the first that failed. */
export function installableCount(sims: readonly ExecResult[]): number {
  const failed = sims.findIndex((s) => s.exitCode !== 0)
  return (failed < 0 ? sims.length : failed) - 1
}
