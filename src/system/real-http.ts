// The network side of the real System: reachability probes and resumable downloads, both retried
// through util/retry.ts. A download grows `dest.part` (resumed with a Range request after a cut),
// and only a complete one is renamed to `dest`.
import { constants, createReadStream } from 'node:fs'
import * as fsp from 'node:fs/promises'
import { dirname } from 'node:path'
import { sha256OfChunks } from '../util/hash.js'
import { type RetryPolicy, realClock, retry } from '../util/retry.js'
import { fsyncDir, setOwnership } from './atomic.js'
import { type HttpAnswer, httpRequest } from './http-request.js'
import type { DownloadHooks, DownloadResult, ProbeResult, WriteOptions } from './port.js'
import { requireFileOrNothing, stat } from './real-files.js'

export interface NetworkRetry extends DownloadHooks {
  /** First retry delay of download(), doubled on each retry. Tests pass a few milliseconds. */
  retryBaseMs?: number
  /** Retries after the first attempt for transient failures (network errors, 5xx, 429). */
  retries?: number
}

// Jitter: many VPSes booted together from one image would otherwise retry a vendor's CDN in step.
const NETWORK: RetryPolicy = {
  ...realClock,
  tries: 4,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  deadlineMs: 30 * 60_000,
  jitter: 0.25,
}

const PROBE_TIMEOUT_MS = 30_000
/** A download whose server sends nothing for this long is cut, and retried from where it stopped. */
const DOWNLOAD_IDLE_TIMEOUT_MS = 60_000
const USER_AGENT = { 'user-agent': 'vps-provision' }

/**
 * HEAD, or GET when the server refuses HEAD; never throws. 30 seconds per attempt, and a second
 * attempt 2 s after a network error: a first-boot VPS (or a slow emulated one) may answer late once.
 */
export async function probe(url: string): Promise<ProbeResult> {
  const policy = { ...NETWORK, tries: 2, baseDelayMs: 2000 }
  const noAnswer = (r: ProbeResult) => (r.status === null ? r.error : null)
  return (await retry(policy, () => probeOnce(url), noAnswer)).result
}

async function probeOnce(url: string): Promise<ProbeResult> {
  const ask = async (method: 'HEAD' | 'GET') => {
    const res = await httpRequest(url, { method, headers: USER_AGENT, idleTimeoutMs: PROBE_TIMEOUT_MS })
    res.discard()
    return res
  }
  try {
    let res = await ask('HEAD')
    if (res.status === 405 || res.status === 501) res = await ask('GET')
    return { status: res.status, date: header(res.headers.date), error: null }
  } catch (e) {
    const err = e as Error & { code?: string }
    return { status: null, date: null, error: err.code ?? err.message }
  }
}

export async function download(
  url: string,
  dest: string,
  opts: WriteOptions,
  options: NetworkRetry,
): Promise<DownloadResult> {
  await requireFileOrNothing(dest, `download ${url}`)
  const part = `${dest}.part`
  // A planted .part (a symlink to /etc/shadow) would otherwise be resumed into, or appended to.
  await requireFileOrNothing(part, `download ${url}`)
  const policy = { ...NETWORK, tries: (options.retries ?? 3) + 1, baseDelayMs: options.retryBaseMs ?? 1000 }
  const { result: why, attempts } = await retry(
    policy,
    () => fetchOnce(url, part),
    (why) => why,
    (note) =>
      options.onRetry?.(
        `download of ${url} failed with ${note.why} (try ${note.attempt} of ${note.tries}); retrying in ${note.waitMs} ms`,
      ),
  )
  if (why !== null) throw new Error(`Unable to download ${url}: ${why} (${attempts} attempts)`)
  const result = await sha256OfChunks(createReadStream(part))
  const fh = await fsp.open(part, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    await setOwnership(fh, opts)
  } finally {
    await fh.close()
  }
  await fsp.rename(part, dest)
  await fsyncDir(dirname(dest))
  return result
}

/** One request into `part`, resuming what is there. null when complete, else why it may be retried. */
async function fetchOnce(url: string, part: string): Promise<string | null> {
  const offset = (await stat(part))?.size ?? 0
  const headers: Record<string, string> = { ...USER_AGENT }
  if (offset > 0) headers.range = `bytes=${offset}-`
  let res: HttpAnswer
  try {
    res = await httpRequest(url, { headers, idleTimeoutMs: DOWNLOAD_IDLE_TIMEOUT_MS })
  } catch (e) {
    const err = e as Error & { code?: string }
    return `network error: ${err.code ?? err.message}`
  }
  if (res.status === 429 || res.status >= 500 || res.status === 416) {
    res.discard()
    // 416: the partial file no longer fits what the server has; start over.
    if (res.status === 416) await fsp.rm(part, { force: true })
    return `HTTP ${res.status}`
  }
  if (res.status !== 200 && res.status !== 206) {
    res.discard()
    throw new Error(`Unable to download ${url}: HTTP ${res.status}`)
  }
  const start = Number(/^bytes (\d+)-/.exec(header(res.headers['content-range']) ?? '')?.[1] ?? Number.NaN)
  const append = res.status === 206 && start === offset
  if (res.status === 206 && !append) {
    res.discard()
    await fsp.rm(part, { force: true })
    return 'unexpected partial content'
  }
  return writeBody(res, part, append)
}

/** Streams the body into `part` (appended or from scratch) and fsyncs it; why not, if it fell short. */
async function writeBody(res: HttpAnswer, part: string, append: boolean): Promise<string | null> {
  const mode = append ? constants.O_APPEND : constants.O_TRUNC
  const fh = await fsp.open(part, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | mode, 0o600)
  let received = 0
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      await fh.write(chunk)
      received += chunk.byteLength
    }
    await fh.sync()
  } catch (e) {
    return `interrupted: ${(e as Error).message}`
  } finally {
    await fh.close()
  }
  const expected = Number(header(res.headers['content-length']) ?? Number.NaN)
  if (Number.isFinite(expected) && received < expected) return `short read (${received} of ${expected} bytes)`
  return null
}

function header(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null
}
