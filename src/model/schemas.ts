// The data model of docs/data-model (the seed), as zod schemas. Names and enums are kept as the seed
// spells them, so session files stay readable by anyone who knows the model. Where the seed was unsafe
// (rollback_command as an executable string) we keep the field for people and never execute it.
import { z } from 'zod'
import { PHASE_NAMES } from './names.js'

export { PHASE_NAMES }
export const PhaseName = z.enum(PHASE_NAMES)
export type PhaseName = z.infer<typeof PhaseName>

export const SessionStatus = z.enum(['INITIALIZING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'ROLLED_BACK'])
export type SessionStatus = z.infer<typeof SessionStatus>

export const PhaseStatus = z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'SKIPPED', 'FAILED'])
export type PhaseStatus = z.infer<typeof PhaseStatus>

export const ActionStatus = z.enum(['PENDING', 'COMPLETED', 'FAILED'])
export type ActionStatus = z.infer<typeof ActionStatus>

export const ActionType = z.enum([
  'PACKAGE_INSTALL',
  'PACKAGE_REMOVE',
  'FILE_MODIFY',
  'FILE_CREATE',
  'SERVICE_ENABLE',
  'SERVICE_START',
  'USER_CREATE',
  'USER_MODIFY',
  'COMMAND_EXEC',
])
export type ActionType = z.infer<typeof ActionType>

const isoTime = z.iso.datetime()

export const ProvisioningAction = z.object({
  sequence_number: z.number().int().positive(),
  action_type: ActionType,
  target: z.string(),
  status: ActionStatus,
  /** Human-readable rendering of the typed undo. Never executed. */
  rollback_command: z.string(),
  timestamp: isoTime,
  output: z.string().default(''),
})
export type ProvisioningAction = z.infer<typeof ProvisioningAction>

export const PhaseExecution = z.object({
  phase_name: PhaseName,
  status: PhaseStatus,
  start_time: isoTime.nullable(),
  end_time: isoTime.nullable(),
  duration_seconds: z.number().nonnegative(),
  checkpoint_exists: z.boolean(),
  actions: z.array(ProvisioningAction),
  error_message: z.string().nullable(),
  /** Network attempts retried in this phase ("step: why"), so `status` shows a flaky mirror or CDN. */
  retries: z.array(z.string()).optional(),
})
export type PhaseExecution = z.infer<typeof PhaseExecution>

export const VPSInstance = z.object({
  hostname: z.string(),
  ip_address: z.string(),
  os_name: z.string(),
  os_version: z.string(),
  kernel_version: z.string(),
  architecture: z.string(),
  virtualization: z.string(),
  cpu_cores: z.number().int().nonnegative(),
  ram_mb: z.number().int().nonnegative(),
  disk_space_gb: z.number().nonnegative(),
  disk_available_gb: z.number().nonnegative(),
  validated: z.boolean(),
})
export type VPSInstance = z.infer<typeof VPSInstance>

export const DeveloperUser = z.object({
  username: z.string(),
  full_name: z.string().nullable(),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
  home_directory: z.string(),
  shell: z.string(),
  groups: z.array(z.string()),
  password_expires: z.boolean(),
  ssh_key_auth_enabled: z.boolean(),
  /** Where the generated password can be read once; the password itself is never stored here. */
  credentials_location: z.string().nullable(),
  created_at: isoTime,
})
export type DeveloperUser = z.infer<typeof DeveloperUser>

export const IdeName = z.enum(['VSCODE', 'CURSOR', 'ANTIGRAVITY'])
export type IdeName = z.infer<typeof IdeName>

export const IDEInstallation = z.object({
  ide_name: IdeName,
  version: z.string(),
  installation_method: z.enum(['APT_REPOSITORY', 'DEB_PACKAGE', 'APPIMAGE', 'TARBALL', 'SNAP']),
  installation_path: z.string(),
  executable_path: z.string(),
  desktop_launcher_path: z.string(),
  command_name: z.string(),
  installed_at: isoTime,
  verified: z.boolean(),
  verification_errors: z.array(z.string()),
})
export type IDEInstallation = z.infer<typeof IDEInstallation>

/** The certificate xrdp presents, so a person can compare it with what the RDP client shows. */
export const RdpCertificate = z.object({
  path: z.string(),
  /** Colon-separated uppercase hex (FreeRDP shows the same digits, in lowercase). */
  sha256_fingerprint: z.string(),
  /** What Windows' certificate viewer shows as the Thumbprint (mstsc: View certificate, Details). */
  sha1_fingerprint: z.string(),
  subject: z.string(),
  not_after: isoTime,
})
export type RdpCertificate = z.infer<typeof RdpCertificate>

/** What every session and checkpoint file records about its writer (src/model/format.ts). */
const written = {
  /** The file's format; absent in files of releases up to 0.1.0, which are format 1. */
  format: z.number().int().positive().optional(),
  /** `vps-provision <version>` that last wrote the file. */
  written_by: z.string().optional(),
}

export const ProvisioningSession = z.object({
  ...written,
  session_id: z.string(),
  command: z.enum(['run', 'rollback']).default('run'),
  start_time: isoTime,
  end_time: isoTime.nullable(),
  status: SessionStatus,
  phases: z.array(PhaseExecution),
  error_details: z.string().nullable(),
  duration_seconds: z.number().nonnegative(),
  vps_info: VPSInstance.nullable(),
  developer_user: DeveloperUser.nullable().default(null),
  ide_installations: z.array(IDEInstallation).default([]),
  rdp_certificate: RdpCertificate.nullable().default(null),
})
export type ProvisioningSession = z.infer<typeof ProvisioningSession>

export const Checkpoint = z.object({
  ...written,
  phase_name: PhaseName,
  completed_at: isoTime,
  session_id: z.string(),
  /** sha256 over the state the phase verified (package versions, file hashes, users). */
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
})
export type Checkpoint = z.infer<typeof Checkpoint>

/** The seed's TransactionLog entry, derived from journal records (see src/engine/journal.ts). */
export const TransactionLogEntry = z.object({
  sequence_number: z.number().int().positive(),
  timestamp: isoTime,
  action_type: ActionType,
  target: z.string(),
  rollback_command: z.string(),
  executed: z.boolean(),
})
export type TransactionLogEntry = z.infer<typeof TransactionLogEntry>
