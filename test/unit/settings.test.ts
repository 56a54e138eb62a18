// The table of settings (src/config/settings.ts) is the one place a flag, a variable and a default
// are declared: these check that what is built from it agrees with it.
import { Option } from 'commander'
import { describe, expect, it } from 'vitest'
import { bashCompletion } from '../../scripts/debian/assets.js'
import { renderConfigDocs } from '../../scripts/gen-config-docs.js'
import { flagLayer } from '../../src/cli/config-layers.js'
import { defaultConfig } from '../../src/config/schema.js'
import { SETTING_LIST } from '../../src/config/settings.js'

const valueAt = (data: unknown, path: readonly string[]) =>
  path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], data)

describe('the table of settings', () => {
  it('gives every setting its own flag and its own variable', () => {
    const flags = SETTING_LIST.map((s) => s.flag)
    const envs = SETTING_LIST.map((s) => s.env)
    expect(new Set(flags).size).toBe(flags.length)
    expect(new Set(envs).size).toBe(envs.length)
    for (const s of SETTING_LIST) expect(envs).not.toContain(`VPS_PROVISION_${s.flag.slice(2)}`)
  })

  it('names each setting as commander names its flag, at a path the schema has', () => {
    for (const s of SETTING_LIST) {
      expect(new Option(`${s.flag} <x>`).attributeName(), s.flag).toBe(s.key)
      expect(valueAt(defaultConfig(), s.path), s.path.join('.')).not.toBeUndefined()
      expect(valueAt(flagLayer({ [s.key]: 'x' }).data, s.path)).toBe('x')
    }
  })

  it('documents every flag and variable in the row of its setting in docs/configuration.md', () => {
    const docs = renderConfigDocs().split('\n')
    for (const s of SETTING_LIST) {
      const row = docs.find((l) => l.startsWith(`| \`${s.path.join('.')}\` `))
      expect(row, s.path.join('.')).toContain(`\`${s.flag}\`<br>\`${s.env}\``)
    }
  })

  it('the bash completion offers every flag (and --no- form) to run, and list words for lists', () => {
    const script = bashCompletion('0.0.0')
    const runFlags = /^ {6}run\) flags='([^']*)'/m.exec(script)?.[1]?.split(' ') ?? []
    const verifyFlags = /^ {6}verify\) flags='([^']*)'/m.exec(script)?.[1]?.split(' ') ?? []
    for (const s of SETTING_LIST) {
      const names = s.value === undefined ? [s.flag, `--no-${s.flag.slice(2)}`] : [s.flag]
      expect(runFlags).toEqual(expect.arrayContaining(names))
      if (s.selectsPhases) expect(verifyFlags).not.toContain(s.flag)
      else expect(verifyFlags).toEqual(expect.arrayContaining(names))
      if (s.listOf)
        expect(script).toMatch(new RegExp(`\\|?${s.flag}[|)].*_vps_provision_list '${s.listOf.join(' ')}'`))
      if (s.choices) expect(script).toMatch(new RegExp(`${s.flag}\\) .*compgen -W '${s.choices.join(' ')}'`))
    }
  })
})
