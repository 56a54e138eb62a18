// workspaces: what a small team shares one VPS for, each part opt-in (docs/workspaces.md): the
// Docker engine and its volumes, a code-server per developer, and each developer's repositories.
// Runs after terminal-setup, so git and every account exist; each part is its own file.
import { definePhase } from '../src/steps/phase.js'
import { codeServerSteps } from './workspaces/code-server.js'
import { dockerSteps } from './workspaces/docker.js'
import { repoSteps } from './workspaces/repos.js'

export const workspaces = definePhase({
  name: 'workspaces',
  title: 'Team workspaces',
  weight: 2,
  steps: (input) => [...dockerSteps(input), ...codeServerSteps(input), ...repoSteps(input)],
})
