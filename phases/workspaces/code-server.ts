import type { PhaseInput, Step } from '../../src/steps/types.js'

export function codeServerSteps(_input: PhaseInput): Step[] {
  return []
}
