// Templates ship next to the code (templates/) and inside the single-file bundle, where the build
// inlines them. Reading is synchronous and cached: they are tiny and phases are built synchronously.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

declare const __VPS_PROVISION_TEMPLATES__: Record<string, string> | undefined

const cache = new Map<string, string>()

function templatesDir(): string {
  // src/templates.ts in a checkout, or dist/vps-provision.mjs when bundled without inlining.
  const here = dirname(fileURLToPath(import.meta.url))
  return join(here, '..', 'templates')
}

export function template(name: string, vars: Record<string, string | number> = {}): string {
  let text = cache.get(name)
  if (text === undefined) {
    const inlined =
      typeof __VPS_PROVISION_TEMPLATES__ === 'undefined' ? undefined : __VPS_PROVISION_TEMPLATES__[name]
    text = inlined ?? readFileSync(join(templatesDir(), name), 'utf8')
    cache.set(name, text)
  }
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => (key in vars ? String(vars[key]) : whole))
}
