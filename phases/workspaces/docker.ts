import type { PhaseInput, Step } from '../../src/steps/types.js'

export function dockerSteps(_input: PhaseInput): Step[] {
  return []
}
