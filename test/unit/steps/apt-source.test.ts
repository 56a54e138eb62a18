import { describe, expect, it } from 'vitest'
import type { AptSourceArgs } from '../../../src/steps/index.js'
import { aptSource, aptUpdate, packages, renderSources } from '../../../src/steps/index.js'
import { converge, expectContract, journaled } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'

const KEY_URL = 'https://packages.microsoft.com/keys/microsoft.asc'
// Armored "123456789" with its published CRC-24: dearmored it is those nine bytes.
const ARMORED =
  '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nMTIzNDU2Nzg5\n=Ic8C\n-----END PGP PUBLIC KEY BLOCK-----\n'

const vscode: AptSourceArgs = {
  name: 'vscode',
  uri: 'https://packages.microsoft.com/repos/code',
  suite: 'stable',
  components: ['main'],
  keyUrl: KEY_URL,
  keyringPath: '/usr/share/keyrings/microsoft.gpg',
  sourcePath: '/etc/apt/sources.list.d/vscode.sources',
  architectures: ['amd64'],
}

function fresh(key: string | Buffer = ARMORED) {
  const sys = FakeSystem.debian13()
  sys.web.set(KEY_URL, Buffer.from(key))
  sys.addPackage('code', { version: '1.105.0-1', source: 'vscode.sources', bin: ['/usr/bin/code'] })
  return sys
}

describe('aptSource', () => {
  it('writes a deb822 source and a binary keyring for that repository only', async () => {
    const { sys, h } = await expectContract(fresh, () => [aptSource(vscode)])
    expect(journaled(h)).toEqual([
      'FILE_CREATE /var/cache/vps-provision -> remove-dir',
      'FILE_CREATE /var/cache/vps-provision/keys -> remove-dir',
      'FILE_CREATE /var/cache/vps-provision/keys/vscode.key -> remove-file',
      'FILE_CREATE apt source vscode -> remove-apt-source',
    ])
    expect(h.changes[3]?.undo).toEqual({
      kind: 'remove-apt-source',
      sourcePath: vscode.sourcePath,
      keyringPath: vscode.keyringPath,
    })
    await converge(sys, [aptSource(vscode)])
    expect(sys.readText(vscode.keyringPath)).toBe('123456789')
    expect(sys.readText(vscode.sourcePath)).toBe(
      [
        `# Managed by vps-provision; key from ${KEY_URL}`,
        'Types: deb',
        'URIs: https://packages.microsoft.com/repos/code',
        'Suites: stable',
        'Components: main',
        'Architectures: amd64',
        'Signed-By: /usr/share/keyrings/microsoft.gpg',
        '',
      ].join('\n'),
    )
    expect((await sys.stat(vscode.keyringPath))?.mode).toBe(0o644)
  })

  it('installs a binary key as it is', async () => {
    const sys = fresh(Buffer.from([0x99, 1, 2, 3]))
    await converge(sys, [aptSource(vscode)])
    expect(await sys.readFile(vscode.keyringPath)).toEqual(Buffer.from([0x99, 1, 2, 3]))
  })

  it('backs up a source file that was there before, and restores it on rollback', async () => {
    const withOld = () => {
      const sys = fresh()
      sys.writeText(
        vscode.sourcePath,
        'Types: deb\nURIs: https://old.example\nSuites: stable\nComponents: main\n',
      )
      return sys
    }
    const { h } = await expectContract(withOld, () => [aptSource(vscode)])
    expect(journaled(h).slice(3)).toEqual([
      'FILE_CREATE /usr/share/keyrings/microsoft.gpg -> remove-file',
      'FILE_MODIFY /etc/apt/sources.list.d/vscode.sources -> restore-file',
    ])
  })

  it('is due again when the key URL or the keyring changes', async () => {
    const sys = fresh()
    await converge(sys, [aptSource(vscode)])
    const moved = aptSource({ ...vscode, keyUrl: 'https://example.com/other.asc' })
    expect((await moved.check(sys)).why).toContain('vscode.sources differs')
    sys.writeText(vscode.keyringPath, 'tampered')
    expect((await aptSource(vscode).check(sys)).why).toContain('is not the repository key')
  })

  it('refuses an empty key instead of installing it', async () => {
    await expect(converge(fresh(''), [aptSource(vscode)])).rejects.toThrow(
      `Unable to install the signing key of vscode: ${KEY_URL} returned an empty file`,
    )
  })

  it('renders optional architectures only when given', () => {
    expect(renderSources({ ...vscode, architectures: undefined })).not.toContain('Architectures')
  })
})

describe('aptUpdate', () => {
  it('runs once per set of sources and keyrings', async () => {
    const { sys, h } = await expectContract(fresh, () => [aptUpdate({ retry: { sleep: async () => {} } })])
    expect(journaled(h)).toEqual([
      'COMMAND_EXEC apt-get update -> irreversible',
      'FILE_CREATE /var/cache/vps-provision -> remove-dir',
      'FILE_CREATE /var/cache/vps-provision/apt-update.stamp -> remove-file',
    ])
    await converge(sys, [aptUpdate()])
    expect((await aptUpdate().check(sys)).done).toBe(true)
    // A new source makes it due; so does a changed keyring it names.
    await converge(sys, [aptSource(vscode)])
    expect(await aptUpdate().check(sys)).toMatchObject({
      done: false,
      why: 'apt sources changed since the last apt-get update',
    })
    await converge(sys, [aptUpdate()])
    sys.writeText(vscode.keyringPath, 'rotated')
    expect((await aptUpdate().check(sys)).done).toBe(false)
  })

  it('source, update and install: one run, a no-op re-run, and a rollback to the start', async () => {
    const steps = () => [aptSource(vscode), aptUpdate(), packages(['code'])]
    const { h } = await expectContract(fresh, steps)
    expect(journaled(h).filter((j) => !j.includes('/var/cache'))).toEqual([
      'FILE_CREATE apt source vscode -> remove-apt-source',
      'COMMAND_EXEC apt-get update -> irreversible',
      'PACKAGE_INSTALL code -> purge-packages',
      'FILE_MODIFY maintainer scripts of code -> remove-maintainer-files',
    ])
  })

  it('explains a failing update', async () => {
    const sys = fresh()
    sys.writeText(vscode.sourcePath, renderSources(vscode))
    sys.writeText(vscode.keyringPath, ARMORED) // apt 3 rejects an armored .gpg keyring
    await expect(converge(sys, [aptUpdate()])).rejects.toThrow(/Unable to refresh the apt package lists/)
  })
})
