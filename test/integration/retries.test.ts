// Issue 22 item 6's proof on a real Debian 13 root: transient failures of a vendor download are
// retried with backoff, each retry is logged and kept for `status`, a failure past the retry budget
// fails that IDE alone (exit 7) with the URL, the attempts and the last error, and a 404 is never
// retried. The tool as users get it (dist/vps-provision.mjs) installs Cursor's stand-in .deb from
// the lab's server (test/lab/serve.ts), whose failNext() answers 503 to the next N requests; its
// request log counts what the tool really asked. Same setup as ide-faults.test.ts.
//
//   sudo npx vitest run --project integration test/integration/retries.test.ts
//
// Needs root and the host tools of `bash scripts/install-host-tools.sh`; skipped LOUDLY otherwise.
import { mkdtemp, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { type Chroot, type ChrootExecResult, withChroot } from '../lab/chroot.js'
import { mountsUnder } from '../lab/mounts.js'
import { lastLines, run } from '../lab/proc.js'
import { type ServedDir, serveDir } from '../lab/serve.js'
import { labSkipReason, warnSkip } from '../lab/skip.js'
import { buildStandIns, type StandIns, standInToolsMissing } from '../lab/stand-ins.js'
import { LAB_INCLUDE, type ScratchRoot, scratchRoot } from '../lab/trixie-root.js'
import { reliabilityCase } from '../support/reliability.js'

const REPO = path.resolve(import.meta.dirname, '../..')
const TOOL = '/usr/local/bin/vps-provision.mjs'
const CONFIG = '/etc/vps-provision/config.yaml'
const PARTLY_DONE = 7
const FILE = 'test/integration/retries.test.ts'
const AREA = 'issue 22.6 transient failures'

const skipReason = await labSkipReason(['setpriv'], await standInToolsMissing())
warnSkip('retries (issue 22 item 6: transient download failures, on a real trixie root)', skipReason)

const output = (r: ChrootExecResult) => `${r.stdout}\n${r.stderr}`
const tail = (r: ChrootExecResult) => `exit ${r.exitCode}:\n${lastLines(output(r), 40)}`

describe.skipIf(skipReason !== '')('retried vendor downloads on a real trixie root (issue 22.6)', () => {
  let scratch: ScratchRoot | undefined
  let srvDir: string | undefined
  let srv: ServedDir | undefined
  let s: StandIns

  beforeAll(async () => {
    await run([process.execPath, path.join(REPO, 'scripts/build.mjs')], { cwd: REPO, timeoutMs: 300_000 })
    scratch = await scratchRoot({ include: LAB_INCLUDE, label: 'retries' })
    srvDir = await mkdtemp('/var/tmp/vps-provision-retries-')
    s = await buildStandIns(path.join(srvDir, 'srv'))
    srv = await serveDir(s.dir)
    await inRoot(async (ch) => {
      await ch.copyIn(path.join(REPO, 'dist/vps-provision.mjs'), TOOL, { mode: 0o755 })
      await ch.exec(['mkdir', '-p', '/etc/vps-provision'])
    })
  }, 1_800_000)

  afterAll(async () => {
    await srv?.close()
    if (scratch) {
      const root = scratch.root
      await scratch.remove()
      expect(await mountsUnder(root)).toEqual([])
    }
    if (srvDir) await rm(srvDir, { recursive: true, force: true })
  })

  const inRoot = <T>(fn: (ch: Chroot) => Promise<T>) =>
    withChroot((scratch as ScratchRoot).root, fn, { defaultTimeoutMs: 10 * 60_000 })

  const debPath = () => `/${s.urlPaths.cursorDeb.replace(/^\//, '')}`

  /** Cursor alone, from the stand-in .deb (or `debUrlPath`), past the preflight probe: the download is what is tested. */
  async function provision(ch: Chroot, debUrlPath = debPath(), sha256: string | null = s.sha256.cursorDeb) {
    const url = `${(srv as ServedDir).url}${debUrlPath}`
    await ch.writeFile(CONFIG, stringify({ sources: { cursor: { url, sha256 } } }), { mode: 0o600 })
    const r = await ch.exec(
      [
        'node',
        TOOL,
        'run',
        '--yes',
        '--plain',
        '--only',
        'user-creation,ide-installations',
        '--ides',
        'cursor',
        '--skip-probe',
      ],
      { allowFailure: true, timeoutMs: 15 * 60_000 },
    )
    const id = /session (\d{8}-\d{6}-[a-z0-9]+)/.exec(r.stdout)?.[1] as string
    return { r, id, url }
  }

  async function rollback(ch: Chroot, id: string) {
    const r = await ch.exec(['node', TOOL, 'rollback', id, '--yes', '--plain'], {
      allowFailure: true,
      timeoutMs: 10 * 60_000,
    })
    expect(r.exitCode, tail(r)).toBe(0)
  }

  async function installed(ch: Chroot, pkg: string) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not ours
    const q = await ch.exec(['dpkg-query', '-W', '-f', '${Status}', pkg], { allowFailure: true })
    return q.stdout === 'install ok installed'
  }

  const retryLines = (text: string, url: string) =>
    text.split('\n').filter((l) => l.includes(`download of ${url} failed with HTTP 503 (try `))

  it('two 503s on the .deb: the run succeeds after 2 logged retries, and status shows them', async () => {
    await reliabilityCase(
      {
        id: 'retry.download.503x2',
        area: AREA,
        case: "a vendor's .deb answers 503 twice, then serves it",
        injection:
          'serveDir.failNext(cursor .deb, 503, 2); `run --only user-creation,ide-installations --ides cursor --skip-probe` in a trixie chroot',
        expected:
          'exit 0; 3 requests for the .deb (503, 503, 200); 2 retry warnings naming the URL; `status` shows 2 retries; cursor installed',
        backend: 'chroot',
        file: FILE,
      },
      async (seen) => {
        await inRoot(async (ch) => {
          const server = srv as ServedDir
          server.clearFaults()
          server.failNext(debPath(), 503, 2)
          const before = server.requestsFor(debPath()).length
          const { r, id, url } = await provision(ch)
          const asked = server.requestsFor(debPath()).slice(before)
          seen.push(`exit ${r.exitCode}`)
          seen.push(`requests ${asked.map((q) => q.status).join(',')}`)
          expect(r.exitCode, tail(r)).toBe(0)
          expect(asked.map((q) => q.status)).toEqual([503, 503, 200])
          const logged = retryLines(output(r), url)
          seen.push(`${logged.length} retries logged, e.g. "${(logged[0] ?? '').trim()}"`)
          expect(logged, tail(r)).toHaveLength(2)
          expect(logged[0]).toMatch(/\(try 1 of 4\); retrying in \d+ ms/)
          expect(logged[1]).toMatch(/\(try 2 of 4\); retrying in \d+ ms/)
          expect(await installed(ch, 'cursor')).toBe(true)
          const st = await ch.exec(['node', TOOL, 'status', id, '--no-color'], { allowFailure: true })
          expect(st.exitCode, tail(st)).toBe(0)
          const row = st.stdout.split('\n').find((l) => l.trimStart().startsWith('ide-installations')) ?? ''
          seen.push(`status row: ${row.trim()}`)
          expect(row).toMatch(/COMPLETED\s+\d.*?\s+\d+\s+2\s*$/)
          expect(st.stdout).toContain('Retried:')
          expect(retryLines(st.stdout, url)).toHaveLength(2)
          // status --wait on the ended session returns at once with its code.
          const w = await ch.exec(['node', TOOL, 'status', '--wait', '--timeout', '30', id], {
            allowFailure: true,
          })
          seen.push(`status --wait exit ${w.exitCode}`)
          expect(w.exitCode, tail(w)).toBe(0)
          await rollback(ch, id)
        })
      },
    )
  }, 1_800_000)

  it('503 on every request: Cursor fails alone (exit 7) with the URL, the attempts and the last error', async () => {
    await reliabilityCase(
      {
        id: 'retry.download.503-always',
        area: AREA,
        case: "a vendor's .deb answers 503 past the retry budget",
        injection:
          'serveDir.failNext(cursor .deb, 503, 100); `run --only user-creation,ide-installations --ides cursor --skip-probe` in a trixie chroot',
        expected:
          'exit 7 (partly done); 4 requests (1 + 3 retries), 3 retry warnings; the failure names the URL, "4 attempts" and HTTP 503; cursor not installed; `status --wait` exits 7',
        backend: 'chroot',
        file: FILE,
      },
      async (seen) => {
        await inRoot(async (ch) => {
          const server = srv as ServedDir
          server.clearFaults()
          server.failNext(debPath(), 503, 100)
          const before = server.requestsFor(debPath()).length
          const { r, id, url } = await provision(ch)
          server.clearFaults()
          const asked = server.requestsFor(debPath()).slice(before)
          seen.push(`exit ${r.exitCode}`)
          seen.push(`${asked.length} requests`)
          expect(r.exitCode, tail(r)).toBe(PARTLY_DONE)
          expect(asked.map((q) => q.status)).toEqual([503, 503, 503, 503])
          expect(retryLines(output(r), url), tail(r)).toHaveLength(3)
          const failed = output(r)
            .split('\n')
            .find((l) => l.includes('Failed: cursor'))
          seen.push(`"${(failed ?? '(no Failed line)').trim()}"`)
          expect(failed).toContain(`Unable to download ${url}: HTTP 503 (4 attempts)`)
          expect(await installed(ch, 'cursor')).toBe(false)
          const w = await ch.exec(['node', TOOL, 'status', '--wait', id], { allowFailure: true })
          seen.push(`status --wait exit ${w.exitCode}`)
          expect(w.exitCode, tail(w)).toBe(PARTLY_DONE)
          expect(retryLines(w.stdout, url)).toHaveLength(3)
          await rollback(ch, id)
        })
      },
    )
  }, 1_800_000)

  it('a 404 is not retried: one request', async () => {
    await reliabilityCase(
      {
        id: 'retry.download.404',
        area: AREA,
        case: "a vendor's .deb is not there (404): not transient",
        injection:
          'sources.cursor.url pointing at a path the server does not have; `run --only user-creation,ide-installations --ides cursor --skip-probe` in a trixie chroot',
        expected: 'exit 7; exactly 1 request in the server log; no retry warning; the failure says HTTP 404',
        backend: 'chroot',
        file: FILE,
      },
      async (seen) => {
        await inRoot(async (ch) => {
          const server = srv as ServedDir
          server.clearFaults()
          const gone = '/cursor-gone.deb'
          const { r, id, url } = await provision(ch, gone, null)
          const asked = server.requestsFor(gone)
          seen.push(`exit ${r.exitCode}`)
          seen.push(`${asked.length} request(s), status ${asked.map((q) => q.status).join(',')}`)
          expect(r.exitCode, tail(r)).toBe(PARTLY_DONE)
          expect(asked.map((q) => q.status)).toEqual([404])
          expect(output(r)).not.toContain(`download of ${url} failed`)
          expect(output(r)).toContain(`Unable to download ${url}: HTTP 404`)
          await rollback(ch, id)
        })
      },
    )
  }, 1_800_000)
})
