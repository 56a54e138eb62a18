// A static file server for the lab (node:http, loopback, ephemeral port) that behaves like the
// download hosts the tool talks to: Content-Length, ETag/Last-Modified, conditional requests (304),
// single byte ranges (206, 416) so download resume can be tested, HEAD, and injectable failures:
//
//   srv.failNext('/cursor_0.50.0_amd64.deb', 503)            next request gets a 503
//   srv.failNext('/x.deb', { kind: 'truncate', afterBytes: 1000 })  200 with the full length
//                                                             announced, connection cut after 1000 bytes
//   srv.failNext('/x.deb', { kind: 'reset' })                 connection closed without a response
//   srv.failNext('/x.deb', { kind: 'delay', ms: 5000 })        answer late (timeouts)
//   srv.failNext('/x', 500, 3)                                the next 3 requests
//
// Every request is logged in srv.requests (method, path, range, status, bytes sent, fault).

import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'reset' }
  | { kind: 'truncate'; afterBytes: number }
  | { kind: 'delay'; ms: number }

export interface RequestLogEntry {
  at: number
  method: string
  /** Decoded path, e.g. /apt/dists/stable/InRelease. */
  path: string
  range?: string
  status: number
  /** Body bytes written (before a cut). */
  bytes: number
  fault?: Fault['kind']
  userAgent?: string
}

export interface ServeOptions {
  /** Default 127.0.0.1: never listen beyond loopback. */
  host?: string
  /** Default 0 (ephemeral). */
  port?: number
}

export interface ServedDir {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:40123 */
  url: string
  port: number
  requests: RequestLogEntry[]
  /** Injects `times` failures for requests of `urlPath` (a path, leading / optional). */
  failNext(urlPath: string, fault: number | Fault, times?: number): void
  clearFaults(): void
  /** Requests for one path (leading / optional). */
  requestsFor(urlPath: string): RequestLogEntry[]
  close(): Promise<void>
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

export async function serveDir(dir: string, opts: ServeOptions = {}): Promise<ServedDir> {
  const host = opts.host ?? '127.0.0.1'
  if (!LOOPBACK.test(host)) throw new Error(`serveDir: refusing to listen on ${host}: loopback only`)
  const root = await realpath(dir)
  const requests: RequestLogEntry[] = []
  const faults = new Map<string, { fault: Fault; left: number }[]>()
  const norm = (p: string) => (p.startsWith('/') ? p : `/${p}`)

  const takeFault = (p: string): Fault | undefined => {
    const queue = faults.get(p)
    const head = queue?.[0]
    if (!queue || !head) return undefined
    head.left--
    if (head.left <= 0) queue.shift()
    if (queue.length === 0) faults.delete(p)
    return head.fault
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    let urlPath: string
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://lab').pathname)
    } catch {
      urlPath = '\0bad'
    }
    const entry: RequestLogEntry = { at: Date.now(), method, path: urlPath, status: 0, bytes: 0 }
    if (req.headers.range) entry.range = req.headers.range
    if (req.headers['user-agent']) entry.userAgent = req.headers['user-agent']
    requests.push(entry)
    const send = (status: number, body = '', headers: Record<string, string> = {}) => {
      entry.status = status
      const buf = Buffer.from(body)
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': buf.length,
        ...headers,
      })
      if (method !== 'HEAD') {
        res.end(buf)
        entry.bytes = buf.length
      } else res.end()
    }

    const fault = takeFault(urlPath)
    if (fault) {
      entry.fault = fault.kind
      if (fault.kind === 'reset') {
        entry.status = 0
        req.socket.destroy()
        return
      }
      if (fault.kind === 'status') return send(fault.status, `injected failure ${fault.status}\n`)
      if (fault.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms))
    }
    if (method !== 'GET' && method !== 'HEAD')
      return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' })
    if (urlPath.includes('\0') || urlPath.split('/').includes('..')) return send(400, 'bad path\n')

    let file: string
    let size: number
    let mtime: Date
    try {
      file = await realpath(path.join(root, urlPath))
      if (file !== root && !file.startsWith(`${root}${path.sep}`)) return send(404, 'not found\n')
      const st = await stat(file)
      if (!st.isFile()) return send(404, 'not found\n')
      size = st.size
      mtime = st.mtime
    } catch {
      return send(404, 'not found\n')
    }
    const etag = `"${size.toString(16)}-${Math.floor(mtime.getTime()).toString(16)}"`
    const lastModified = mtime.toUTCString()
    const common = { ETag: etag, 'Last-Modified': lastModified, 'Accept-Ranges': 'bytes' }

    if (notModified(req, etag, mtime)) {
      entry.status = 304
      res.writeHead(304, common)
      res.end()
      return
    }

    let start = 0
    let end = size - 1
    let status = 200
    const range = req.headers.range
    if (range && ifRangeMatches(req, etag, lastModified)) {
      const parsed = parseRange(range, size)
      if (parsed === 'unsatisfiable') {
        return send(416, 'range not satisfiable\n', { 'Content-Range': `bytes */${size}`, ...common })
      }
      if (parsed) {
        ;[start, end] = parsed
        status = 206
      }
    }
    const length = size === 0 ? 0 : end - start + 1
    const headers: Record<string, string | number> = {
      ...common,
      'Content-Type': 'application/octet-stream',
      'Content-Length': length,
    }
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
    entry.status = status
    res.writeHead(status, headers)
    if (method === 'HEAD' || length === 0) {
      res.end()
      return
    }
    const cut = fault?.kind === 'truncate' ? Math.max(0, Math.min(fault.afterBytes, length)) : undefined
    const last = cut === undefined ? end : start + cut - 1
    if (cut === 0) {
      res.flushHeaders()
      setImmediate(() => req.socket.destroy())
      return
    }
    const stream = createReadStream(file, { start, end: last })
    stream.on('data', (chunk) => {
      entry.bytes += chunk.length
    })
    stream.on('error', () => req.socket.destroy())
    if (cut === undefined) {
      stream.pipe(res)
    } else {
      stream.pipe(res, { end: false })
      stream.on('end', () => {
        // Let the bytes reach the socket, then cut the connection mid-body.
        req.socket.end()
      })
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500)
        res.end()
      } else req.socket.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const hostInUrl = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    requests,
    failNext(urlPath, fault, times = 1) {
      const f: Fault = typeof fault === 'number' ? { kind: 'status', status: fault } : fault
      const p = norm(urlPath)
      const queue = faults.get(p) ?? []
      queue.push({ fault: f, left: Math.max(1, times) })
      faults.set(p, queue)
    },
    clearFaults() {
      faults.clear()
    },
    requestsFor(urlPath) {
      const p = norm(urlPath)
      return requests.filter((r) => r.path === p)
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

/** [start, end] (inclusive) for a single `bytes=` range; null to ignore it (serve 200). */
export function parseRange(header: string, size: number): [number, number] | null | 'unsatisfiable' {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim())
  if (!m) return null // multiple ranges or another unit: a full 200 is a valid answer
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return null
  if (a === '') {
    const suffix = Number(b)
    if (suffix === 0) return 'unsatisfiable'
    return size === 0 ? 'unsatisfiable' : [Math.max(0, size - suffix), size - 1]
  }
  const start = Number(a)
  if (start >= size) return 'unsatisfiable'
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (end < start) return null
  return [start, end]
}

function notModified(req: IncomingMessage, etag: string, mtime: Date): boolean {
  const inm = req.headers['if-none-match']
  if (inm) return inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')
  const ims = req.headers['if-modified-since']
  if (ims) {
    const t = Date.parse(ims)
    return !Number.isNaN(t) && Math.floor(mtime.getTime() / 1000) <= Math.floor(t / 1000)
  }
  return false
}

function ifRangeMatches(req: IncomingMessage, etag: string, lastModified: string): boolean {
  const v = req.headers['if-range']
  if (typeof v !== 'string' || v === '') return true
  return v.trim() === etag || v.trim() === lastModified
}
