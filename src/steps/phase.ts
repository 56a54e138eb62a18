// definePhase turns a phase file's short, declarative step list into a Phase whose step ids are
// prefixed with the phase name ("rdp-config.xrdp-ini"), and refuses duplicate ids: ids are what
// resume and the journal key on.
import type { PhaseName } from '../model/schemas.js'
import type { Phase, PhaseInput, Step } from './types.js'

interface PhaseDefinition {
  name: PhaseName
  title: string
  weight: number
  needsSystemd?: boolean
  readOnly?: boolean
  steps(input: PhaseInput): Step[]
  retryPart?(part: string): string
}

export function definePhase(def: PhaseDefinition): Phase {
  return {
    name: def.name,
    title: def.title,
    weight: def.weight,
    needsSystemd: def.needsSystemd ?? false,
    readOnly: def.readOnly ?? false,
    ...(def.retryPart ? { retryPart: def.retryPart } : {}),
    steps(input) {
      const steps = def.steps(input).map((s) => ({ ...s, id: `${def.name}.${s.id}` }))
      const seen = new Set<string>()
      for (const s of steps) {
        if (seen.has(s.id)) throw new Error(`Phase ${def.name} declares step ${s.id} twice`)
        seen.add(s.id)
      }
      return steps
    },
  }
}

/** Marks `steps` as made for developer `user` (Step.user): what `user remove` undoes. */
export function ownedBy(user: string, steps: readonly Step[]): Step[] {
  return steps.map((s) => ({ ...s, user }))
}
