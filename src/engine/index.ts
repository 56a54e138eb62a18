// The engine's surface for the CLI: types, where state lives, and the event log of detached runs.
// bin/ loads createEngine (engine.ts) itself, on first use, so that --help and status never load
// the runner, its phases or zod. Everything else in this folder is the engine's own business (the
// layer rule in .dependency-cruiser.cjs keeps it so).
// parsePasswd, dpkgQuery, isInstalled: read-only facts the CLI looks at before a first run, to ask
// before it changes a machine someone already uses (cli/first-run.ts).
export { parsePasswd } from '../facts/accounts.js'
export type { Facts } from '../facts/environment.js'
export { dpkgQuery, isInstalled } from '../facts/packages.js'
export type {
  ConfirmResult,
  Engine,
  EngineDeps,
  RevertResult,
  RollbackOptions,
  RunOptions,
  SshOrigin,
  Workstation,
} from './api.js'
export { type FollowEnd, type FollowOptions, followEventLog } from './event-follow.js'
export { EventLog, type EventRecord, eventLogPath, parseEventLine, type WorkerEnd } from './event-log.js'
export { type StatePaths, statePaths } from './paths.js'
