// ide-installations: each IDE's apt source, then one `apt-get update` and one transaction for all
// apt-based IDEs, the downloads (which the runner overlaps with apt: both take minutes on a fresh
// VPS), what turns a download into an installed IDE, and argv.json for each. src/ides.ts says
// what each IDE takes.
import { ideSpec } from '../src/ides.js'
import { homeFiles } from '../src/steps/home-files.js'
import { aptUpdate, packages } from '../src/steps/index.js'
import { definePhase } from '../src/steps/phase.js'
import type { Step } from '../src/steps/types.js'
import { template } from '../src/templates.js'

export { ANTIGRAVITY_KEYRING, ANTIGRAVITY_SOURCES, VSCODE_KEYRING, VSCODE_SOURCES } from '../src/ides.js'

export const ideInstallations = definePhase({
  name: 'ide-installations',
  title: 'IDEs',
  weight: 4,
  steps: ({ cfg }) => {
    const ides = cfg.ides.map((id) => ideSpec(id, cfg))
    const installs = ides.map((ide) => ide.install())
    return [
      ...installs.flatMap((i) => i.aptSource),
      ...aptTransaction(installs.flatMap((i) => i.aptPackages)),
      ...installs.flatMap((i) => i.downloads),
      ...installs.flatMap((i) => i.setup),
      ...homeFiles(
        'argv',
        cfg.username,
        ides.map((ide) => ({
          path: `${ide.argvDir}/argv.json`,
          content: template('argv.json'),
          mode: 0o644,
          // The editors add their own keys (a crash-reporter id) at the first start: a seed.
          seed: true,
        })),
      ),
    ]
  },
})

/** One update and one install for every apt-based IDE; none at all when no IDE comes from apt. */
function aptTransaction(names: readonly string[]): Step[] {
  if (names.length === 0) return []
  return [aptUpdate({ id: 'apt-update' }), packages(names, { id: 'packages' })]
}
