// A fact judged against what we want: ok or not, what was seen, and what to do about it. Checks
// that several places ask (is the RDP port free, is a unit active) return one, and assert() steps
// turn it into a pass or a failure with the hint.
export interface AssertResult {
  ok: boolean
  /** What was seen; stable text (it is hashed into checkpoints when ok). */
  detail: string
  hint?: string
}
