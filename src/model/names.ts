// Phase and IDE names as plain constants, without zod: --help, argument parsing and the shell
// completion list them without loading the schema library (which costs tens of milliseconds at
// startup). The zod enums in model/schemas.ts and config/schema.ts are built from these.
export const PHASE_NAMES = [
  'preflight',
  'system-prep',
  'desktop-install',
  'rdp-config',
  'user-creation',
  'ide-installations',
  'terminal-setup',
  'workspaces',
  'verification',
] as const
export type PhaseName = (typeof PHASE_NAMES)[number]

export const IDE_IDS = ['vscode', 'cursor', 'antigravity'] as const
export type IdeId = (typeof IDE_IDS)[number]
