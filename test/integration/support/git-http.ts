// A git server over smart HTTP for the repository tests: the host's own `git http-backend` (CGI)
// behind a node:http server on 127.0.0.1, serving the bare repositories under `projectRoot`. A
// repository listed in `tokens` answers 401 (with a Basic challenge, as GitHub and Gitea do)
// unless the request carries `Authorization: Basic base64(any-user:token)`. Every request is
// logged with its status, so a test can count what a run asked, and failNext() answers the next
// N requests with a 503 before git sees them (a host that is not there yet).
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface GitRequest {
  method: string
  path: string
  query: string
  status: number
  /** The request came with an Authorization header (never its value). */
  authorized: boolean
}

export interface GitHttpServer {
  /** http://127.0.0.1:PORT, no trailing slash; a repository is `${url}/name.git`. */
  url: string
  requests: GitRequest[]
  failNext(times: number): void
  close(): Promise<void>
}

const BACKEND = '/usr/lib/git-core/git-http-backend'

export async function serveGit(projectRoot: string, tokens: Record<string, string>): Promise<GitHttpServer> {
  const requests: GitRequest[] = []
  let failures = 0
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1')
    const repo = u.pathname.split('/')[1] ?? ''
    const log = (status: number) =>
      requests.push({
        method: req.method ?? '',
        path: u.pathname,
        query: u.search.slice(1),
        status,
        authorized: req.headers.authorization !== undefined,
      })
    if (failures > 0) {
      failures -= 1
      log(503)
      res.writeHead(503, { 'content-type': 'text/plain' }).end('warming up\n')
      return
    }
    const wanted = tokens[repo]
    if (wanted !== undefined && !tokenMatches(req.headers.authorization, wanted)) {
      log(401)
      res
        .writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' })
        .end('401\n')
      return
    }
    cgi(projectRoot, req, res, u, log)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (times) => {
      failures = times
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Basic (.+)$/i.exec(header ?? '')
  if (!m) return false
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8')
  return decoded.slice(decoded.indexOf(':') + 1) === token
}

/** Runs git http-backend for one request and relays its CGI answer (Status: header, body). */
function cgi(root: string, req: IncomingMessage, res: ServerResponse, u: URL, log: (s: number) => void) {
  const child = spawn(BACKEND, [], {
    env: {
      PATH: '/usr/bin:/bin',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: '127.0.0.1',
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      ...(req.headers['content-encoding']
        ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) }
        : {}),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  req.pipe(child.stdin)
  let head = Buffer.alloc(0)
  let sent = false
  child.stdout.on('data', (chunk: Buffer) => {
    if (sent) {
      res.write(chunk)
      return
    }
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    const headers: Record<string, string> = {}
    let status = 200
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const i = line.indexOf(':')
      const [name, value] = [line.slice(0, i).trim(), line.slice(i + 1).trim()]
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10)
      else headers[name] = value
    }
    log(status)
    res.writeHead(status, headers)
    res.write(head.subarray(end + 4))
    sent = true
  })
  child.on('close', () => {
    if (!sent) {
      log(500)
      res.writeHead(500).end()
    } else res.end()
  })
}
