// The layers of docs/architecture.md as rules that fail `npm run lint`. Imports point one way:
//   bin → cli → engine → step kinds → facts → system port, with model, util and config at the
//   bottom; phases use step kinds and facts only; renderers read events (the model) only.
// A layer may import itself and any layer listed for it below; nothing else.
const layer = (name, from, mayUse) => ({
  name: `layer-${name}`,
  comment: `${name} (${from}) may import only: ${mayUse.join(', ') || 'itself'}`,
  severity: 'error',
  from: { path: from },
  to: {
    path: '^(src|phases|bin)/',
    pathNot: [from, ...mayUse.map((l) => LAYERS[l])],
  },
})

const LAYERS = {
  model: '^src/model/',
  util: '^src/util/',
  config: '^src/config/',
  system: '^src/system/',
  facts: '^src/facts/',
  steps: '^src/(steps/|ides\\.ts$|templates\\.ts$)',
  engine: '^src/engine/',
  'engine API': '^src/engine/index\\.ts$',
  render: '^src/render/',
  cli: '^src/cli/',
  phases: '^phases/',
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one: split what both need into the lower layer.',
      severity: 'error',
      from: { path: '^(src|phases|bin)/' },
      to: { circular: true },
    },
    layer('model', LAYERS.model, []),
    layer('util', LAYERS.util, ['model']),
    layer('config', LAYERS.config, ['model', 'util']),
    layer('system', LAYERS.system, ['model', 'util']),
    layer('facts', LAYERS.facts, ['system', 'model', 'util']),
    layer('steps', LAYERS.steps, ['facts', 'system', 'config', 'model', 'util']),
    layer('engine', LAYERS.engine, ['steps', 'facts', 'system', 'config', 'model', 'util']),
    layer('render', LAYERS.render, ['model', 'util']),
    layer('cli', LAYERS.cli, ['engine API', 'render', 'config', 'system', 'model', 'util']),
    layer('phases', LAYERS.phases, ['steps', 'facts', 'config', 'model', 'util']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
}
