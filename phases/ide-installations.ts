// ide-installations: each IDE on its own (Step.part): its apt source, the update of that source
// alone and its package; the downloads, which the runner overlaps with apt (both take minutes on a
// fresh VPS); what turns a download into an installed IDE; and argv.json for each. One IDE that
// fails is undone and named in the summary while the others install. src/ides.ts says what each
// IDE takes.
import { developers } from '../src/config/developers.js'
import { ideSpec, retryIde, withoutBuildFor } from '../src/ides.js'
import { homeFiles } from '../src/steps/home-files.js'
import { definePhase, ownedBy } from '../src/steps/phase.js'
import { template } from '../src/templates.js'

export { ANTIGRAVITY_KEYRING, ANTIGRAVITY_SOURCES, VSCODE_KEYRING, VSCODE_SOURCES } from '../src/ides.js'

export const ideInstallations = definePhase({
  name: 'ide-installations',
  title: 'IDEs',
  weight: 4,
  retryPart: retryIde,
  steps: ({ cfg, facts }) => {
    // An IDE without a build for this machine is refused by name in preflight, not planned here.
    const unbuilt = withoutBuildFor(cfg, facts.architecture)
    const ides = cfg.ides
      .filter((id) => !unbuilt.includes(id))
      .map((id) => ideSpec(id, cfg, facts.architecture))
    const installs = ides.map((ide) => ide.install())
    return [
      ...installs.flatMap((i) => i.apt),
      ...installs.flatMap((i) => i.downloads),
      ...installs.flatMap((i) => i.setup),
      ...developers(cfg).flatMap((dev, i) =>
        ownedBy(
          dev.name,
          homeFiles(
            i === 0 ? 'argv' : `argv.${dev.name}`,
            dev.name,
            ides.map((ide) => ({
              path: `${ide.argvDir}/argv.json`,
              content: template('argv.json'),
              mode: 0o644,
              // The editors add their own keys (a crash-reporter id) at the first start: a seed.
              seed: true,
            })),
          ),
        ),
      ),
    ]
  },
})
