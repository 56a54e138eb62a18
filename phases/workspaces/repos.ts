import type { PhaseInput, Step } from '../../src/steps/types.js'

export function repoSteps(_input: PhaseInput): Step[] {
  return []
}
