// Each step's check runs once per run: what the checkpoint test (or the warm-up at the start of a
// re-run) saw is what the walk through the steps uses, until an apply, which may change what any
// check would see. Checks are pure queries, so several run at once, and two checks that ask the
// machine the same question (the same argv, the same file) share one answer until that apply.
import type { Check, Phase, Step } from '../steps/types.js'
import type { ExecOptions, System } from '../system/port.js'
import { limited } from '../util/limited.js'
import type { CheckpointStore } from './checkpoints.js'

/** Checks running at once. */
const PARALLEL_CHECKS = 8

export class CheckMemo {
  private readonly seen = new Map<Step, Promise<Check>>()
  private readonly answers = new Map<string, Promise<unknown>>()
  private readonly slot = limited(PARALLEL_CHECKS)
  /** The System the checks see: reads shared while nothing is applied. */
  readonly querySys: System

  constructor(sys: System) {
    this.querySys = sharedReads(sys, this.answers)
  }

  of(step: Step): Promise<Check> {
    const known = this.seen.get(step)
    if (known) return known
    const c = this.slot(() => step.check(this.querySys))
    this.seen.set(step, c)
    // A failed check is asked again next time rather than remembered as an error.
    c.catch(() => this.seen.get(step) === c && this.seen.delete(step))
    return c
  }

  /** Starts the checks of `steps` without waiting: a re-run then finds most answers ready. */
  warm(steps: readonly Step[]): void {
    for (const step of steps) this.of(step).catch(() => undefined)
  }

  /** An apply is about to change the machine: from now on every check asks the machine again. */
  applying(): void {
    this.seen.clear()
    this.answers.clear()
  }
}

/** `sys` with its reads answered once per question; writes and commands with input go through. */
function sharedReads(sys: System, answers: Map<string, Promise<unknown>>): System {
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    const known = answers.get(key) as Promise<T> | undefined
    if (known) return known
    const p = read()
    answers.set(key, p)
    return p
  }
  const execKey = (argv: readonly string[], o: ExecOptions) =>
    JSON.stringify([argv, o.env ?? null, o.allowFailure ?? false, o.timeoutMs ?? null])
  return {
    name: sys.name,
    exec: (argv, o = {}) =>
      o.stdin !== undefined || o.onLine
        ? sys.exec(argv, o)
        : once(`exec ${execKey(argv, o)}`, () => sys.exec(argv, o)),
    stat: (path) => once(`stat ${path}`, () => sys.stat(path)),
    readFile: (path) => once(`read ${path}`, () => sys.readFile(path)),
    readDir: (path) => once(`dir ${path}`, () => sys.readDir(path)),
    probe: (url) => once(`probe ${url}`, () => sys.probe(url)),
    writeFile: (path, data, o) => sys.writeFile(path, data, o),
    removeFile: (path) => sys.removeFile(path),
    mkdir: (path, o) => sys.mkdir(path, o),
    rmdir: (path) => sys.rmdir(path),
    download: (url, dest, o, hooks) => sys.download(url, dest, o, hooks),
  }
}

/**
 * A re-run mostly finds every phase's checkpoint still holding, which takes every check of those
 * phases: they start at once, so that they run side by side rather than one after another.
 */
export async function warmCheckpointedPhases(
  phases: readonly Phase[],
  stepsOf: readonly (readonly Step[])[],
  checkpoints: CheckpointStore,
  checks: CheckMemo,
): Promise<void> {
  const held = await Promise.all(
    phases.map(async (p) => p.readOnly || Boolean(await checkpoints.read(p.name))),
  )
  // The read-only phases too when nothing will be applied: verification then finds its answers.
  const nothingToApply = held.every(Boolean)
  for (const [i, phase] of phases.entries()) {
    if (held[i] && (!phase.readOnly || nothingToApply)) checks.warm(stepsOf[i] ?? [])
  }
}
