import { describe, expect, it } from 'vitest'
import { download } from '../../../src/steps/index.js'
import { sha256 } from '../../../src/util/hash.js'
import { converge, expectContract, journaled, makeHarness } from '../../helpers/step-harness.js'
import { FakeSystem } from '../../support/fake/index.js'

const URL = 'https://downloads.example.com/cursor.deb'
const BODY = Buffer.from('cursor deb bytes')
const DEST = '/var/cache/vps-provision/downloads/cursor.deb'

function fresh() {
  const sys = FakeSystem.debian13()
  sys.web.set(URL, BODY)
  return sys
}

describe('download', () => {
  it.each([
    { name: 'pinned', pin: sha256(BODY) },
    { name: 'unpinned', pin: null },
  ])('fetches into the cache ($name) and removes it on rollback', async ({ pin }) => {
    const step = () => [download({ id: 'cursor-deb', url: URL, dest: 'cursor.deb', sha256: pin })]
    const { sys, h } = await expectContract(fresh, step)
    expect(journaled(h)).toEqual([
      'FILE_CREATE /var/cache/vps-provision -> remove-dir',
      'FILE_CREATE /var/cache/vps-provision/downloads -> remove-dir',
      `FILE_CREATE ${DEST} -> remove-file`,
    ])
    expect(h.changes[2]?.result?.files).toEqual({ [DEST]: sha256(BODY) })
    await converge(sys, step())
    expect(await sys.readFile(DEST)).toEqual(BODY)
  })

  it('deletes a download whose sha256 does not match, and says which is which', async () => {
    const sys = fresh()
    const wrong = 'a'.repeat(64)
    const h = makeHarness(sys)
    await expect(
      converge(sys, [download({ id: 'd', url: URL, dest: DEST, sha256: wrong })], h),
    ).rejects.toThrow(`Unable to verify ${URL}: sha256 is ${sha256(BODY)}, expected ${wrong}`)
    expect(await sys.stat(DEST)).toBeNull()
    expect(h.changes.at(-1)?.status).toBe('failed')
  })

  it('fetches again when the cached file no longer matches its pin', async () => {
    const sys = fresh()
    sys.writeText(DEST, 'stale')
    const step = download({ id: 'd', url: URL, dest: DEST, sha256: sha256(BODY) })
    expect((await step.check(sys)).why).toContain(`has sha256 ${sha256('stale')}`)
    const h = await converge(sys, [step])
    expect(journaled(h)).toEqual([`FILE_MODIFY ${DEST} -> restore-file`])
  })
})
