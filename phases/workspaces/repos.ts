// Each developer's repositories (`users[].repos`), cloned into their home as them. Each repository
// is a part of the phase (Step.part): one whose URL or credentials are wrong is left out and named
// in the summary while the others are cloned. With `update: pull` a clean checkout is also
// fast-forwarded on every run; otherwise a re-run asks nothing of the network.
import { developers } from '../../src/config/developers.js'
import type { Config } from '../../src/config/schema.js'
import type { Repo } from '../../src/config/team-schema.js'
import { defaultCloneDirectory } from '../../src/facts/git.js'
import { usageError } from '../../src/model/errors.js'
import { gitClone, type RepoArgs } from '../../src/steps/git-clone.js'
import { credentialsVerdict } from '../../src/steps/git-credentials.js'
import { gitPull } from '../../src/steps/git-pull.js'
import { packages } from '../../src/steps/packages.js'
import { ownedBy } from '../../src/steps/phase.js'
import type { PreflightCheck } from '../../src/steps/premised-checks.js'
import type { PhaseInput, Step } from '../../src/steps/types.js'

/** Every repository of the config, with its directory resolved; refuses a directory named twice. */
export function plannedRepos(cfg: Config): (RepoArgs & { update: Repo['update'] })[] {
  const out: (RepoArgs & { update: Repo['update'] })[] = []
  for (const dev of developers(cfg)) {
    const seen = new Set<string>()
    for (const repo of dev.repos) {
      const directory = repoDirectory(repo)
      if (seen.has(directory))
        throw usageError(
          `Unable to plan the repositories of ${dev.name}: two of them go to ~/${directory}`,
          'Give one of them another directory',
        )
      seen.add(directory)
      const part = `repo ${dev.name}/${directory}`
      out.push({
        id: `repos.${dev.name}.${directory}`,
        user: dev.name,
        url: repo.url,
        branch: repo.branch,
        directory,
        credentials: repo.credentials,
        part,
        update: repo.update,
      })
    }
  }
  return out
}

function repoDirectory(repo: Repo): string {
  if (repo.directory) return repo.directory.replace(/\/+$/, '')
  const name = defaultCloneDirectory(repo.url)
  if (name === null)
    throw usageError(
      `Unable to name a directory for ${repo.url}: its last part is not a plain name`,
      'Set directory for this repository',
    )
  return name
}

export function repoSteps({ cfg }: PhaseInput): Step[] {
  const repos = plannedRepos(cfg)
  if (repos.length === 0) return []
  // terminal-setup installs git already; this holds when the phase runs alone (--only workspaces).
  return [
    packages(['git'], { id: 'repos.git' }),
    // Made for that developer (Step.user): `user remove NAME` removes their clones too, with the
    // same guard on local work as rollback.
    ...repos.flatMap(({ update, ...args }) =>
      ownedBy(args.user, update === 'pull' ? [gitClone(args), gitPull(args)] : [gitClone(args)]),
    ),
  ]
}

/** Preflight, before any change: each credentials file is root's and readable by no one else. */
export function repoCredentialChecks(cfg: Config): PreflightCheck[] {
  return developers(cfg).flatMap((d) =>
    d.repos
      .filter((r) => r.credentials !== null)
      .map((r, i) => ({
        id: `repo-credentials-${d.name}-${i}`,
        title: `Credentials for ${r.url}`,
        check: (sys) => credentialsVerdict(sys, r.credentials as string, r.url),
      })),
  )
}
