// The only thing a test container can reach: an HTTP server on the host side of its veth that
//   /debian/...            reverse-proxies the host's Debian mirror (the container's apt sources and
//                          the tool's preflight mirror check point here: no NAT, no DNS needed);
//   /standins/<alias>/...  proxies the lab's stand-in server (serveDir on loopback). The alias lets
//                          one stand-in repository appear under two URIs, as VS Code's and
//                          Antigravity's repositories are two sources with two keyrings in apt's
//                          eyes (one URI with two Signed-By values is an apt error).
// Files under /debian/pool/ never change for a given name, so they are kept in a cache directory
// shared by all runs (like apt-cacher-ng): a warm cache takes the mirror's speed out of repeated
// runs. dists/ (indices, InRelease) are always fetched live. Every request is logged.
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import path from 'node:path'

export interface ProxyRequest {
  at: number
  method: string
  path: string
  status: number
  bytes: number
  ms: number
  cache?: 'hit' | 'stored'
}

export interface AptProxy {
  url: string
  port: number
  requests: ProxyRequest[]
  debianUrl: string
  standInUrl(alias: string): string
  close(): Promise<void>
}

export interface AptProxyOptions {
  host: string
  /** e.g. http://deb.debian.org/debian */
  mirror: string
  /** Base URL of the stand-in server (serveDir), e.g. http://127.0.0.1:40123 */
  standIns: string
  /** Where /debian/pool/ files are kept between runs; null: no cache. */
  poolCache: string | null
}

const HOP = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
])

function forwardHeaders(h: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v
  return out
}

export async function startAptProxy(opts: AptProxyOptions): Promise<AptProxy> {
  const requests: ProxyRequest[] = []
  const mirror = new URL(opts.mirror.replace(/\/+$/, ''))
  const standIns = new URL(opts.standIns.replace(/\/+$/, ''))
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }),
  }

  const upstream = (
    target: URL,
    req: IncomingMessage,
    res: ServerResponse,
    entry: ProxyRequest,
    store?: string,
  ) =>
    new Promise<void>((resolve) => {
      const mod = target.protocol === 'https:' ? https : http
      const up = mod.request(
        target,
        {
          method: req.method,
          headers: { ...forwardHeaders(req.headers), host: target.host },
          agent: agents[target.protocol as 'http:' | 'https:'],
          timeout: 120_000,
        },
        (upRes) => {
          entry.status = upRes.statusCode ?? 502
          const headers = forwardHeaders(upRes.headers)
          res.writeHead(entry.status, headers)
          upRes.on('data', (c: Buffer) => {
            entry.bytes += c.length
          })
          const expected = Number(upRes.headers['content-length'] ?? Number.NaN)
          if (store && entry.status === 200 && req.method === 'GET' && Number.isFinite(expected)) {
            const tmp = `${store}.${process.pid}.${Math.random().toString(16).slice(2)}.part`
            const file = createWriteStream(tmp)
            upRes.pipe(file)
            file.on('finish', () => {
              if (entry.bytes === expected) {
                rename(tmp, store).then(
                  () => {
                    entry.cache = 'stored'
                  },
                  () => rm(tmp, { force: true }),
                )
              } else void rm(tmp, { force: true })
            })
            file.on('error', () => void rm(tmp, { force: true }))
          }
          upRes.pipe(res)
          upRes.on('end', () => resolve())
          upRes.on('error', () => {
            res.destroy()
            resolve()
          })
        },
      )
      up.on('timeout', () => up.destroy(new Error('upstream timeout')))
      up.on('error', (e) => {
        entry.status = 502
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' })
          res.end(`upstream error: ${e.message}\n`)
        } else res.destroy()
        resolve()
      })
      req.pipe(up)
    })

  const handle = async (req: IncomingMessage, res: ServerResponse, entry: ProxyRequest) => {
    const u = new URL(req.url ?? '/', 'http://proxy')
    const p = decodeURIComponent(u.pathname)
    if (p.split('/').includes('..') || p.includes('\0')) {
      entry.status = 400
      res.writeHead(400).end('bad path\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      entry.status = 405
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    const debian = /^\/debian(\/.*)$/.exec(p)
    if (debian?.[1]) {
      const rest = debian[1]
      const target = new URL(`${mirror.pathname.replace(/\/+$/, '')}${rest}${u.search}`, mirror)
      const cacheable =
        opts.poolCache !== null &&
        rest.startsWith('/pool/') &&
        /\.(deb|udeb)$/.test(rest) &&
        !req.headers.range
      if (!cacheable) return upstream(target, req, res, entry)
      const cached = path.join(opts.poolCache as string, rest)
      const st = await stat(cached).catch(() => null)
      if (st?.isFile()) {
        entry.status = 200
        entry.cache = 'hit'
        res.writeHead(200, {
          'content-type': 'application/vnd.debian.binary-package',
          'content-length': st.size,
        })
        if (req.method === 'HEAD') {
          res.end()
          return
        }
        entry.bytes = st.size
        await new Promise<void>((resolve) => {
          createReadStream(cached)
            .on('end', () => resolve())
            .on('error', () => resolve())
            .pipe(res)
        })
        return
      }
      await mkdir(path.dirname(cached), { recursive: true })
      return upstream(target, req, res, entry, cached)
    }
    const standin = /^\/standins\/[a-z0-9-]+(\/.*)$/.exec(p)
    if (standin?.[1]) {
      return upstream(new URL(`${standin[1]}${u.search}`, standIns), req, res, entry)
    }
    entry.status = 404
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  }

  const server = http.createServer((req, res) => {
    const entry: ProxyRequest = {
      at: Date.now(),
      method: req.method ?? '?',
      path: req.url ?? '',
      status: 0,
      bytes: 0,
      ms: 0,
    }
    requests.push(entry)
    res.on('close', () => {
      entry.ms = Date.now() - entry.at
    })
    handle(req, res, entry).catch((e: Error) => {
      entry.status = 500
      if (!res.headersSent) res.writeHead(500).end(`${e.message}\n`)
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, opts.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${opts.host}:${port}`
  return {
    url,
    port,
    requests,
    debianUrl: `${url}/debian`,
    standInUrl: (alias) => `${url}/standins/${alias}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        agents['http:'].destroy()
        agents['https:'].destroy()
      }),
  }
}
