// A git server over smart HTTP for the repository tests: the host's own `git http-backend` (CGI)
// behind a node:http server on 127.0.0.1, serving the bare repositories under `projectRoot`. A
// repository listed in `tokens` answers 401 (with a Basic challenge, as GitHub and Gitea do)
// unless the request carries `Authorization: Basic base64(any-user:token)`. Every request is
// logged with its status, so a test can count what a run asked, and failNext() answers the next
// N requests with a 503 before git sees them (a host that is not there yet). The CGI bridge is the
// container server's (test/e2e/harness/git-http-server.mjs), imported.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gitCgi, tokenMatches } from '../../e2e/harness/git-http-server.mjs'

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
    gitCgi(projectRoot, req, res, u, log)
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
