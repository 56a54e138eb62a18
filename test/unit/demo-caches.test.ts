// `npm run demo -- --down --purge` removes the demo's caches and nothing else: paths are chosen by
// exact name directly in the lab directory, and anything else is refused before a file goes.
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cachesReport, demoCacheNames, purge, refusePurge } from '../../scripts/demo/caches.js'

const LAB = '/var/tmp/vps-provision-lab'
const ROOT = 'trixie-minbase-9534ace140d3'

describe('refusePurge', () => {
  it("accepts the demo's caches directly in the lab directory", () => {
    for (const n of ['demo', 'e2e-pool-cache', ROOT, `${ROOT}.log`, `${ROOT}.lock`])
      expect(refusePurge(LAB, `${LAB}/${n}`), n).toBeNull()
  })

  it('refuses everything else', () => {
    const bad = [
      '/',
      '/var/tmp',
      LAB,
      `${LAB}/`,
      `${LAB}/e2e`,
      `${LAB}/clones`,
      `${LAB}/vm`,
      `${LAB}/bookworm-minbase-32bfa754a93d`,
      `${LAB}/trixie-minbase-xyz`,
      `${LAB}/demo/../../../etc`,
      `${LAB}/../vps-provision-lab/demo`,
      `${LAB}//demo`,
      `${LAB}/demo/state.json`,
      `${LAB}/e2e-pool-cache/debian`,
      '/var/tmp/vps-provision-lab-other/demo',
      '/var/tmp/vps-provision-faults',
      '/home/demo',
      'demo',
      `.${LAB}/demo`,
    ]
    for (const p of bad) expect(refusePurge(LAB, p), p).not.toBeNull()
    expect(refusePurge('/', '/demo')).not.toBeNull()
    expect(refusePurge('relative', 'relative/demo')).not.toBeNull()
  })
})

describe('demoCacheNames', () => {
  it("picks the demo's root, its log and lock, the pool cache and the demo dir; not other roots", () => {
    const entries = [
      'bookworm-minbase-32bfa754a93d',
      'clones',
      'demo',
      'e2e',
      'e2e-pool-cache',
      'trixie-minbase-1c3c4dcddaa0',
      'trixie-minbase-1c3c4dcddaa0.log',
      ROOT,
      `${ROOT}.log`,
    ]
    expect(demoCacheNames(entries, ROOT)).toEqual(['demo', 'e2e-pool-cache', ROOT, `${ROOT}.log`])
    expect(demoCacheNames(['clones'], ROOT)).toEqual([])
  })
})

describe('cachesReport', () => {
  it('says where, how big and how to remove them', () => {
    const text = cachesReport(
      [
        { path: `${LAB}/${ROOT}`, what: 'the root', bytes: 400e6 },
        { path: `${LAB}/e2e-pool-cache`, what: 'debs', bytes: 295e6 },
      ],
      1.2e9,
    )
    expect(text).toContain(`695 MB in ${LAB}`)
    expect(text).toMatch(/400 MB {2}trixie-minbase-9534ace140d3 +the root/)
    expect(text).toContain('npm run demo -- --down --purge')
    expect(text).toContain("1.2 GB more there are the tests' caches")
    expect(cachesReport([], 0)).toMatch(/No demo caches/)
  })
})

describe('purge', () => {
  let lab = ''
  afterEach(async () => {
    if (lab) await rm(lab, { recursive: true, force: true })
  })

  async function fakeLab(): Promise<string> {
    lab = await mkdtemp(path.join(tmpdir(), 'demo-purge-'))
    for (const d of [
      'demo',
      'e2e-pool-cache/debian/pool',
      `${ROOT}/etc`,
      'e2e/scenario-a-1-abcdef',
      'bookworm-minbase-32bfa754a93d',
    ])
      await mkdir(path.join(lab, d), { recursive: true })
    await writeFile(path.join(lab, `${ROOT}.log`), 'log')
    await writeFile(path.join(lab, 'demo/keeper.log'), 'log')
    return lab
  }

  const cache = (p: string) => ({ path: p, what: '', bytes: 0 })

  it("removes exactly the demo's caches", async () => {
    await fakeLab()
    const own = demoCacheNames(await readdir(lab), ROOT).map((n) => cache(path.join(lab, n)))
    await purge(own, lab)
    expect((await readdir(lab)).sort()).toEqual(['bookworm-minbase-32bfa754a93d', 'e2e'])
  })

  it('removes nothing when one path is not a demo cache, or is a symlink', async () => {
    await fakeLab()
    await expect(purge([cache(path.join(lab, 'demo')), cache(path.join(lab, 'e2e'))], lab)).rejects.toThrow(
      /not one of the demo's caches/,
    )
    await expect(purge([cache('/etc')], lab)).rejects.toThrow(/not directly in/)
    const outside = await mkdtemp(path.join(tmpdir(), 'demo-purge-outside-'))
    try {
      await rm(path.join(lab, 'e2e-pool-cache'), { recursive: true })
      await symlink(outside, path.join(lab, 'e2e-pool-cache'))
      await expect(purge([cache(path.join(lab, 'e2e-pool-cache'))], lab)).rejects.toThrow(/symlink/)
      expect(await readdir(outside)).toEqual([])
    } finally {
      await rm(outside, { recursive: true, force: true })
    }
    expect(await readdir(lab)).toContain('demo')
  })
})
