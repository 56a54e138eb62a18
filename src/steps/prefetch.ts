// The .debs of the whole run, fetched ahead of apt. apt-get downloads one file at a time, and only
// once its own transaction starts, so a run of several transactions waits on the network several
// times while dpkg idles, and dpkg waits while the network idles. At the first package transaction
// of a run, `apt-get install --print-uris` lists the .debs every packages() step of the run will
// need but its own (apt is fetching those); they are fetched a few at a time into apt's own archive
// cache while that transaction works. Later transactions wait for them, and apt finds them there.
// It fills a cache and changes nothing else: nothing to journal or undo. Whatever goes wrong
// (a proxy only apt knows of, a mirror that refuses us) only means apt downloads the file itself.

import { posix } from 'node:path'
import { errorMessage } from '../model/errors.js'
import type { System } from '../system/port.js'
import { aptGet, missingPackages } from './apt.js'
import type { StepContext } from './types.js'

export const ARCHIVES = '/var/cache/apt/archives'

/** Enough to keep a mirror's connection busy, few enough to stay polite to it. */
const PARALLEL = 4

export interface DebFile {
  uri: string
  /** apt's name for the file in its archive cache. */
  filename: string
  size: number
  sha256: string
}

/** `'URI' FILENAME SIZE SHA256:HEX` lines of apt-get --print-uris; other lines are skipped. */
export function parsePrintUris(stdout: string): DebFile[] {
  const out: DebFile[] = []
  for (const m of stdout.matchAll(/^'(https?:\/\/[^']+)' (\S+\.deb) (\d+) SHA256:([0-9a-f]{64})$/gm)) {
    const [, uri, filename, size, sha256] = m as unknown as [string, string, string, string, string]
    // apt names the file; a name with a slash would leave the archive directory.
    if (filename.includes('/') || filename.startsWith('.')) continue
    out.push({ uri, filename, size: Number(size), sha256 })
  }
  return out
}

/** Waits until the .debs of `names` are fetched (or given up on): call before installing them. */
export function prefetched(ctx: StepContext, names: readonly string[]): Promise<void> {
  const planned = [...new Set(ctx.plannedPackages.flatMap((p) => p.names))]
  const prefetch = ctx.shared('deb-prefetch', () => new Prefetch(ctx.sys, planned, ctx.log))
  return prefetch.ready(names)
}

/** The fetching for one run. */
export class Prefetch {
  private all: Promise<void> | null = null
  private closed = false
  private readonly done = new Set<string>()
  private readonly fetched = { count: 0, bytes: 0 }

  constructor(
    private readonly sys: System,
    private readonly planned: readonly string[],
    private readonly log: (text: string) => void,
  ) {}

  /**
   * The first call (the run's first package transaction) starts the fetching and returns at once:
   * apt fetches that transaction's own files as fast as we would. Later calls wait for the rest.
   */
  ready(names: readonly string[]): Promise<void> {
    if (this.all) return this.all
    this.all = this.fetchTheRest(names).catch((e) =>
      this.log(`Prefetch of .debs skipped: ${errorMessage(e)}`),
    )
    return Promise.resolve()
  }

  /** Stops taking new files; what is in flight finishes (a download is bounded by its timeouts). */
  async close(): Promise<void> {
    this.closed = true
    await this.all
  }

  /** The run's .debs but those of `first`, which apt is fetching now into the same directory. */
  private async fetchTheRest(first: readonly string[]): Promise<void> {
    if (await aptHasProxy(this.sys)) {
      this.log('Prefetch of .debs skipped: apt is configured with a proxy, which only apt itself uses')
      return
    }
    const [mine, every] = await Promise.all([
      printUris(this.sys, first),
      printUris(this.sys, [...new Set([...first, ...this.planned])]),
    ])
    // Never a file apt may be writing: apt's partial/ and our .part differ, the final name not.
    const rest = every.filter((f) => !mine.some((m) => m.filename === f.filename))
    await this.fetchAll(rest)
    const { count, bytes } = this.fetched
    if (count > 0) this.log(`Fetched ${count} .debs (${mib(bytes)}) ahead of apt`)
  }

  private async fetchAll(files: readonly DebFile[]): Promise<void> {
    const queue = [...files]
    const worker = async () => {
      for (let f = queue.shift(); f && !this.closed; f = queue.shift()) await this.fetchOne(f)
    }
    await Promise.all(Array.from({ length: PARALLEL }, worker))
  }

  private async fetchOne(f: DebFile): Promise<void> {
    if (this.done.has(f.filename)) return
    this.done.add(f.filename)
    const dest = posix.join(ARCHIVES, f.filename)
    try {
      if ((await this.sys.stat(dest))?.size === f.size) return
      const got = await this.sys.download(f.uri, dest, { mode: 0o644 })
      // apt would refuse it too; removed, so that apt fetches a good copy itself.
      if (got.sha256 !== f.sha256) return await this.sys.removeFile(dest)
      this.fetched.count += 1
      this.fetched.bytes += got.bytes
    } catch (e) {
      // apt fetches it itself, and reports it if it fails there too. One failure is enough to
      // stop: a mirror that refuses us would refuse the next file too, after as many retries.
      if (!this.closed) this.log(`Prefetch of .debs stopped, apt fetches the rest: ${errorMessage(e)}`)
      this.closed = true
    }
  }
}

/** The .debs an install of `names` would download; names apt cannot locate (yet) are left out. */
async function printUris(sys: System, names: readonly string[]): Promise<DebFile[]> {
  let wanted = [...names]
  for (let attempt = 0; attempt < 2 && wanted.length > 0; attempt++) {
    // Without ForceHash apt prints the first hash the index lists, which may be MD5.
    const argv = [
      ...aptGet(),
      'install',
      '--print-uris',
      '-qq',
      '-o',
      'Acquire::ForceHash=SHA256',
      '--no-install-recommends',
      ...wanted,
    ]
    const r = await sys.exec(argv, { allowFailure: true })
    if (r.exitCode === 0) return parsePrintUris(r.stdout)
    const unknown = missingPackages(r)
    if (unknown.length === 0) throw new Error(`apt-get --print-uris exited ${r.exitCode}`)
    wanted = wanted.filter((n) => !unknown.includes(n))
  }
  return []
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`
}

async function aptHasProxy(sys: System): Promise<boolean> {
  const r = await sys.exec(['apt-config', 'dump', 'Acquire'], { allowFailure: true })
  return r.exitCode !== 0 || /^Acquire::(https?|ftp)::Proxy(-Auto-Detect|::\S+)? "[^"]+"/im.test(r.stdout)
}
