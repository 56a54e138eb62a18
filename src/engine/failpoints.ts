// Named failpoints for the crash tests: when VPS_PROVISION_FAILPOINT names this point (optionally
// `name@N` for its N-th hit), the process kills itself with SIGKILL right there, exactly like a
// power cut or an OOM kill would. Unset in production, so each call is one string comparison.

const spec = process.env.VPS_PROVISION_FAILPOINT ?? ''
const [target, nth] = spec.split('@')
const wanted = nth ? Number(nth) : 1
let hits = 0

export const FAILPOINTS = [
  'action.before-begin',
  'action.after-begin',
  'action.after-change',
  'action.after-done',
  'checkpoint.before-rename',
  'checkpoint.after-rename',
  'undo.before-undone',
  'undo.after-undone',
] as const
export type Failpoint = (typeof FAILPOINTS)[number]

export function failpoint(name: Failpoint): void {
  if (!target || name !== target) return
  hits += 1
  if (hits === wanted) process.kill(process.pid, 'SIGKILL')
}
