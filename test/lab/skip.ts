// Why a test on a real Debian root cannot run here, or '' when it can. Those tests skip loudly,
// never silently: the reason goes to the console with the command that installs what is missing.
import { hostHas } from './proc.js'

const BASE_TOOLS = ['debootstrap', 'chroot', 'mount', 'umount', 'cp']

/** Root, the base tools and `extraTools`; `alsoMissing` adds what a caller checked itself. */
export async function labSkipReason(
  extraTools: readonly string[] = [],
  alsoMissing: readonly string[] = [],
): Promise<string> {
  if (process.getuid?.() !== 0) return 'not running as root (debootstrap, chroot and mount need root)'
  const missing: string[] = []
  for (const tool of [...BASE_TOOLS, ...extraTools]) if (!(await hostHas(tool))) missing.push(tool)
  missing.push(...alsoMissing)
  return missing.length > 0 ? `missing host tools: ${missing.join(', ')}` : ''
}

/** Prints the loud skip line for `what` when `reason` is set; true when skipped. */
export function warnSkip(what: string, reason: string): boolean {
  if (!reason) return false
  console.warn(
    `\n!!! SKIPPING ${what}: ${reason}.\n!!! Run as root after \`bash scripts/install-host-tools.sh\`.\n`,
  )
  return true
}
