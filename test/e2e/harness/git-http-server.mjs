// A git host over smart HTTP for the repository e2e test, run INSIDE the container with its own
// node (plain JavaScript: nothing to compile there) as a transient unit:
//
//   node git-http-server.mjs PROJECT_ROOT PORT TOKEN_FILE REQUEST_LOG
//
// It listens on 127.0.0.1:PORT, hands each request to `git http-backend` (CGI), answers 401 with
// a Basic challenge unless the request carries Authorization: Basic base64(any-name:token) (the
// token is read from TOKEN_FILE, so it is on no command line and in no unit's journal), and
// appends "METHOD PATH STATUS" per request to REQUEST_LOG, so the test counts what a run asked.
// test/integration/support/git-http.ts serves the chroot test in-process with the same two
// functions, tokenMatches and gitCgi, which this file exports for it.
import { spawn } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'

/** The request's `Authorization: Basic base64(any-name:token)` carries `token`. */
export function tokenMatches(header, token) {
  const m = /^Basic (.+)$/i.exec(header ?? '')
  if (!m) return false
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  return decoded.slice(decoded.indexOf(':') + 1) === token
}

/** Runs git http-backend for one request and relays its CGI answer (Status: header, body). */
export function gitCgi(root, req, res, u, log) {
  const child = spawn('/usr/lib/git-core/git-http-backend', [], {
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
  child.stdout.on('data', (chunk) => {
    if (sent) return void res.write(chunk)
    head = Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) return
    const headers = {}
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
    if (sent) return void res.end()
    log(500)
    res.writeHead(500).end()
  })
}

/** The container's server: every repository under `root` behind the one token in `tokenFile`. */
function main() {
  const [root, port, tokenFile, requestLog] = process.argv.slice(2)
  const token = readFileSync(tokenFile, 'utf8').trim()
  createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1')
    const log = (status) => appendFileSync(requestLog, `${req.method} ${u.pathname} ${status}\n`)
    if (!tokenMatches(req.headers.authorization, token)) {
      log(401)
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('401\n')
      return
    }
    gitCgi(root, req, res, u, log)
  }).listen(Number(port), '127.0.0.1')
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main()
