// Names the cloud-init user-data gives the first-boot run, in a module of their own: `status
// --wait` needs them without loading cloud-init.ts (the YAML writer and the config schema).
export const FIRST_BOOT_UNIT = 'vps-provision-first-boot'
export const FIRST_BOOT_LOG = '/var/log/vps-provision-first-boot.log'
/**
 * The one command an orchestrator runs over SSH (as root) to wait for the first-boot run; it exits
 * with the run's code (docs/cloud-init.md "Waiting for the run"). cloud-init first, because until
 * its runcmd has run vps-provision is not even installed; `;`, not `&&`, because cloud-init exits 2
 * for mere warnings. Then `status --wait` waits for the first-boot unit and its run (first-boot-wait.ts).
 */
export const FIRST_BOOT_WAIT_COMMAND =
  'cloud-init status --wait >/dev/null; vps-provision status --wait --timeout 5400'
