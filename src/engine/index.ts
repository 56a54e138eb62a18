// The engine's public surface: all that the CLI and bin/ may use. Everything else in this folder is
// the engine's own business (the layer rule in .dependency-cruiser.cjs keeps it so).
export type { Facts } from '../facts/environment.js'
export type { Engine, EngineDeps, RollbackOptions, RunOptions, Workstation } from './api.js'
export { createEngine } from './engine.js'
export { type FollowEnd, type FollowOptions, followEventLog } from './event-follow.js'
export { EventLog, type EventRecord, eventLogPath, parseEventLine, type WorkerEnd } from './event-log.js'
export { type StatePaths, statePaths } from './paths.js'
