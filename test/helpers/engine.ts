// The engine with the real workstation phases, wired as bin/ wires it.
import { workstation } from '../../phases/index.js'
import { createEngine } from '../../src/engine/engine.js'

export const engine = createEngine(async () => workstation)
