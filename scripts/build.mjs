// Builds dist/vps-provision.mjs: one self-contained ES module that runs on Debian 13's own nodejs
// with no node_modules, templates inlined, so a VPS needs nothing but this file.
// `--outfile PATH` writes it elsewhere (the .deb build puts it straight into its package tree).
// `--version X` builds it as version X without touching package.json (the release script's
// version bump: the bundle reads its version, and the state formats their writer, from there).
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

const vat = process.argv.indexOf('--version')
const version = vat > 0 ? process.argv[vat + 1] : undefined
if (vat > 0 && !/^\d+\.\d+\.\d+([-+~][0-9A-Za-z.+~-]+)?$/.test(version ?? '')) {
  throw new Error(`Unable to build version ${version}: not a version such as 1.2.3 or 1.2.3+rc1`)
}
const packageJson = join(root, 'package.json')
/** Hands every import of package.json the --version, so the bundle says what it was built as. */
const versionPlugin = {
  name: 'version-override',
  setup(b) {
    if (!version) return
    b.onLoad({ filter: /[\\/]package\.json$/ }, (args) => {
      if (resolve(args.path) !== packageJson) return undefined
      const pkg = JSON.parse(readFileSync(packageJson, 'utf8'))
      return { contents: JSON.stringify({ ...pkg, version }), loader: 'json' }
    })
  },
}

await build({
  plugins: [versionPlugin],
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
