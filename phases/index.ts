// The phases, in the order they run. Names are the data model's; the order puts the SSH hardening
// (end of user-creation) after a working sudo user exists.
import type { Phase } from '../src/steps/types.js'
import { desktopInstall } from './desktop-install.js'
import { ideInstallations } from './ide-installations.js'
import { preflight } from './preflight.js'
import { rdpConfig } from './rdp-config.js'
import { describeWorkstation } from './report.js'
import { systemPrep } from './system-prep.js'
import { terminalSetup } from './terminal-setup.js'
import { userCreation } from './user-creation.js'
import { verification } from './verification.js'
import { workspaces } from './workspaces.js'

export { describeWorkstation }

export const ALL_PHASES: readonly Phase[] = [
  preflight,
  systemPrep,
  desktopInstall,
  rdpConfig,
  userCreation,
  ideInstallations,
  terminalSetup,
  workspaces,
  verification,
]

/** The workstation bin/ hands the engine. */
export const workstation = { phases: ALL_PHASES, describe: describeWorkstation }
