import { describe, expect, it } from 'vitest'
import { systemdLiteral } from '../../src/util/systemd.js'

describe('systemdLiteral', () => {
  it('doubles every $ so systemd expands nothing', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's ${VAR}, not a template
    expect(systemdLiteral('${Package} $HOME pa$$')).toBe('$${Package} $$HOME pa$$$$')
  })

  it('leaves a word without $ as it is', () => {
    expect(systemdLiteral('--config=/etc/vps-provision.yaml')).toBe('--config=/etc/vps-provision.yaml')
  })
})
