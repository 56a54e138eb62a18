// Builds dist/vps-provision.mjs: one self-contained ES module that runs on Debian 13's own nodejs
// with no node_modules, templates inlined, so a VPS needs nothing but this file.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const templatesDir = join(root, 'templates')
const templates = Object.fromEntries(
  readdirSync(templatesDir).map((name) => [name, readFileSync(join(templatesDir, name), 'utf8')]),
)

await build({
  entryPoints: [join(root, 'bin/vps-provision.ts')],
  outfile: join(root, 'dist/vps-provision.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'esm',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  define: { __VPS_PROVISION_TEMPLATES__: JSON.stringify(templates) },
  banner: {
    // Bundled CommonJS dependencies still call require(); give them one.
    js: "import { createRequire as __vpsCreateRequire } from 'node:module';\nconst require = __vpsCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
