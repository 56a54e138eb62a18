// Builds (or reuses) the cached trixie root the integration tests clone, and reports timings.
//   npx tsx scripts/lab/prepare-root.ts [--cache-dir DIR] [--include pkg,pkg] [--clone]
// Run as root on a host with debootstrap (scripts/install-host-tools.sh installs it).

import { parseArgs } from 'node:util'
import { DEFAULT_CACHE_DIR, LAB_INCLUDE, readStamp, scratchRoot } from '../../test/lab/trixie-root.js'

const { values } = parseArgs({
  options: {
    'cache-dir': { type: 'string', default: DEFAULT_CACHE_DIR },
    include: { type: 'string', default: LAB_INCLUDE.join(',') },
    clone: { type: 'boolean', default: false },
  },
})

const include = (values.include ?? '').split(',').filter(Boolean)
const started = Date.now()
const scratch = await scratchRoot({
  cacheDir: values['cache-dir'],
  include,
  label: 'prepare',
  log: (line) => console.log(line),
})
const ensureMs = Date.now() - started - scratch.cloneMs
const stamp = await readStamp(scratch.pristine)
console.log(`pristine: ${scratch.pristine}`)
console.log(`  built ${stamp?.builtAt} from ${stamp?.mirror} (debootstrap ${stamp?.debootstrapMs} ms)`)
console.log(`  ensureTrixieRoot took ${ensureMs} ms this time`)
console.log(`clone: ${scratch.root} in ${scratch.cloneMs} ms`)
if (values.clone) {
  console.log('(clone kept)')
} else {
  const t = Date.now()
  await scratch.remove()
  console.log(`clone removed in ${Date.now() - t} ms`)
}
