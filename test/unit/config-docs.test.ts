import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONFIG_DOCS, renderConfigDocs } from '../../scripts/gen-config-docs.js'
import { defaultConfig } from '../../src/config/schema.js'

/** Every key path of the configuration, parents included ("rdp", "rdp.port", ...). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return []
  return Object.entries(value).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k
    // A per-architecture value ({ amd64, arm64 }) is one setting, documented in one row.
    if (isPerArch(v)) return [key]
    return [key, ...keyPaths(v, key)]
  })
}

function isPerArch(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.keys(v).join(',') === 'amd64,arm64'
}

describe('docs/configuration.md', () => {
  const generated = renderConfigDocs()

  it('is what `npm run docs:config` generates from the schema (run it after changing the schema)', () => {
    expect(readFileSync(CONFIG_DOCS, 'utf8')).toBe(generated)
  })

  it('has one row for every key of the configuration, with a description', () => {
    const rows = generated.split('\n').filter((l) => l.startsWith('| `'))
    const documented = rows.map((r) => /^\| `([^`]+)`/.exec(r)?.[1])
    expect(documented).toEqual(keyPaths(defaultConfig()))
    for (const row of rows) {
      const description = row.split(' | ').at(-1)?.replace(/ \|$/, '').trim()
      expect(description, row).not.toBe('')
    }
  })

  it('names the flag and the variable of every setting that has one', () => {
    const row = (key: string) =>
      generated
        .split('\n')
        .find((l) => l.startsWith(`| \`${key}\``))
        ?.split('|')
        .slice(1, -1)
        .map((c) => c.trim())
    expect(row('rdp.port')).toEqual([
      '`rdp.port`',
      'integer',
      '`3389`',
      'a whole number from 1 to 65535',
      '`--rdp-port`<br>`VPS_PROVISION_RDP_PORT`',
      'TCP port xrdp listens on',
    ])
    expect(row('rdp.firewall')?.[3]).toBe('one of `open`, `tunnel`')
    expect(row('ssh.disableRootLogin')?.[4]).toBe('')
  })
})
