// One HTTP(S) request with node:http, following redirects. Node's global fetch would do, but it
// loads undici, which costs a run ~14 MiB of its peak RSS for two kinds of request (a probe and a
// download) that need none of what undici adds.
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import https from 'node:https'

export interface HttpAnswer {
  status: number
  headers: IncomingHttpHeaders
  /** The body as a stream: read it, or call `discard()`. */
  body: IncomingMessage
  discard(): void
}

export interface HttpOptions {
  method?: 'GET' | 'HEAD'
  headers?: Record<string, string>
  /** The connection may stay silent this long before the request fails. */
  idleTimeoutMs: number
}

const MAX_REDIRECTS = 10

/** Resolves with the final answer after redirects; rejects on a network error (with its `code`). */
export async function httpRequest(url: string, opts: HttpOptions): Promise<HttpAnswer> {
  let target = new URL(url)
  for (let hops = 0; ; hops++) {
    const answer = await once(target, opts)
    const location = answer.headers.location
    if (answer.status < 300 || answer.status >= 400 || answer.status === 304 || !location) return answer
    answer.discard()
    if (hops >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`)
    target = new URL(location, target)
  }
}

function once(url: URL, opts: HttpOptions): Promise<HttpAnswer> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return Promise.reject(new Error(`unsupported URL scheme ${url.protocol}`))
  const client = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      res.on('error', () => undefined)
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, discard: () => res.destroy() })
    })
    req.setTimeout(opts.idleTimeoutMs, () =>
      req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
    )
    req.on('error', reject)
    req.end()
  })
}
