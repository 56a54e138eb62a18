// Removes what the test lab leaves under its cache directory, safely (processes in a root are
// ended and every mount under it is undone before anything is deleted).
//   npx tsx scripts/lab/clean.ts            clones and dead builders' half-built roots only
//   npx tsx scripts/lab/clean.ts --all      also the cached pristine roots (next run rebuilds, ~50 s)
//   --cache-dir DIR                         default /var/tmp/vps-provision-lab

import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { mountsUnder, removeTree } from '../../test/lab/mounts.js'
import { cleanStaleBuilds, DEFAULT_CACHE_DIR } from '../../test/lab/trixie-root.js'

const { values } = parseArgs({
  options: {
    'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
    all: { type: 'boolean', default: false },
  },
})
const cacheDir = path.resolve(values['cache-dir'] ?? DEFAULT_CACHE_DIR)
const entries = await readdir(cacheDir).catch(() => null)
if (entries === null) {
  console.log(`${cacheDir}: nothing to clean`)
} else {
  const mounted = await mountsUnder(cacheDir)
  if (mounted.length > 0) console.log(`unmounting: ${mounted.join(', ')}`)
  const log = (line: string) => console.log(line)
  if (values.all) {
    await removeTree(cacheDir, log)
    console.log(`removed ${cacheDir}`)
  } else {
    await cleanStaleBuilds(cacheDir)
    const clones = path.join(cacheDir, 'clones')
    for (const c of await readdir(clones).catch(() => [] as string[])) {
      await removeTree(path.join(clones, c), log)
      console.log(`removed ${path.join(clones, c)}`)
    }
  }
  const left = await mountsUnder(cacheDir)
  if (left.length > 0) {
    console.error(`still mounted: ${left.join(', ')}`)
    process.exitCode = 1
  }
}
