import { describe, expect, it } from 'vitest'
import { snapshotTree } from '../../src/facts/tree.js'
import { FakeSystem } from '../support/fake/index.js'

describe('the record of /etc', () => {
  it("leaves out dpkg's work files, which a killed unpack leaves and no rollback may put back", async () => {
    const sys = FakeSystem.debian13()
    await sys.writeFile('/etc/services.dpkg-new', 'new services\n', { mode: 0o644 })
    await sys.writeFile('/etc/mime.types.dpkg-tmp', 'half\n', { mode: 0o644 })
    await sys.writeFile('/etc/kept.dpkg-old', 'a backup dpkg made of a changed conffile\n', { mode: 0o644 })
    const { paths } = await snapshotTree(sys, '/etc')
    const names = paths.map((p) => p.path)
    expect(names).not.toContain('/etc/services.dpkg-new')
    expect(names).not.toContain('/etc/mime.types.dpkg-tmp')
    expect(names).toContain('/etc/kept.dpkg-old')
    expect(names).toContain('/etc/passwd')
  })
})
