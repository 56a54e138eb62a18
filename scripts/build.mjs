// Builds dist/vps-provision.mjs: one self-contained ES module that runs on Debian 13's own nodejs
// with no node_modules, templates inlined, so a VPS needs nothing but this file.
// `--outfile PATH` writes it elsewhere (the .deb build puts it straight into its package tree).
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { nodeGuard } from './node-guard.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const templatesDir = join(root, 'templates')
const templates = Object.fromEntries(
  readdirSync(templatesDir).map((name) => [name, readFileSync(join(templatesDir, name), 'utf8')]),
)

const at = process.argv.indexOf('--outfile')
const outfile =
  at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, 'dist/vps-provision.mjs')

await build({
  entryPoints: [join(root, 'bin/vps-provision.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'esm',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  define: { __VPS_PROVISION_TEMPLATES__: JSON.stringify(templates) },
  banner: {
    // First the Node.js version check (scripts/node-guard.mjs), so an old Node says why it cannot
    // run this instead of failing somewhere later. Then: bundled CommonJS dependencies still call
    // require(); give them one.
    js: `${nodeGuard}\nimport { createRequire as __vpsCreateRequire } from 'node:module';\nconst require = __vpsCreateRequire(import.meta.url);`,
  },
  logLevel: 'warning',
})
