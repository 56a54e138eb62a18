// The real System against this host, limited to harmless programs (true, false, echo, cat, sleep,
// env) and files in a temp dir, plus downloads from a local HTTP server.
import * as fsp from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FIXED_PATH } from '../../src/system/env.js'
import { CommandError } from '../../src/system/port.js'
import { createRealSystem } from '../../src/system/real.js'
import { sha256 } from '../../src/util/hash.js'

const sys = createRealSystem({ retryBaseMs: 1 })
const isRoot = process.getuid?.() === 0
let dir = ''

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'real-system-'))
})
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true })
})

describe('exec', () => {
  it('returns the output of a successful command', async () => {
    expect(await sys.exec(['echo', 'hello', 'world'])).toEqual({
      exitCode: 0,
      stdout: 'hello world\n',
      stderr: '',
    })
  })

  it('throws CommandError on a non-zero exit, unless allowFailure', async () => {
    await expect(sys.exec(['false'])).rejects.toBeInstanceOf(CommandError)
    await expect(sys.exec(['false'], { allowFailure: true })).resolves.toMatchObject({ exitCode: 1 })
  })

  it('shows argv and stderr in the error but redacts secrets', async () => {
    const err = await sys
      .exec(['cat', '/nonexistent/hunter2-pw'], { secrets: ['hunter2-pw'] })
      .catch((e) => e)
    expect(err).toBeInstanceOf(CommandError)
    expect(err.message).toContain('cat /nonexistent/[REDACTED]')
    expect(err.message).toContain('No such file or directory')
    expect(err.message).not.toContain('hunter2-pw')
  })

  it('feeds stdin and otherwise closes it', async () => {
    expect((await sys.exec(['cat'], { stdin: 'dev:s3cret\n' })).stdout).toBe('dev:s3cret\n')
    expect((await sys.exec(['cat'])).stdout).toBe('')
  })

  it('kills a command that runs past its timeout', async () => {
    const err = await sys.exec(['sleep', '5'], { timeoutMs: 200 }).catch((e) => e)
    expect(err).toBeInstanceOf(CommandError)
    expect(err.message).toMatch(/timed out/)
  })

  it('reports a missing program as exit 127 "command not found"', async () => {
    const err = await sys.exec(['no-such-program-vps-provision']).catch((e) => e)
    expect(err).toBeInstanceOf(CommandError)
    expect(err.result.exitCode).toBe(127)
    expect(err.message).toMatch(/command not found/)
    const r = await sys.exec(['no-such-program-vps-provision'], { allowFailure: true })
    expect(r.exitCode).toBe(127)
  })

  it('streams each line to onLine', async () => {
    const lines: string[] = []
    const r = await sys.exec(['cat'], { stdin: 'one\ntwo\nthree', onLine: (l) => lines.push(l) })
    expect(lines).toEqual(['one', 'two', 'three'])
    expect(r.stdout).toBe('one\ntwo\nthree')
  })

  it('runs children in the fixed environment, whatever the caller environment says', async () => {
    const evil = join(dir, 'evil-bin')
    await fsp.mkdir(evil)
    await fsp.writeFile(join(evil, 'env'), '#!/bin/sh\necho EVIL\n', { mode: 0o755 })
    const saved = { ...process.env }
    process.env.PATH = `${evil}:${process.env.PATH}`
    process.env.LD_PRELOAD = '/nonexistent/evil.so'
    process.env.LD_LIBRARY_PATH = evil
    process.env.LANGUAGE = 'de'
    try {
      const { stdout } = await sys.exec(['env'], { env: { EXTRA: 'yes', LD_PRELOAD: '/x.so' } })
      const vars = Object.fromEntries(
        stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/=(.*)/s).slice(0, 2)),
      )
      expect(stdout).not.toContain('EVIL')
      expect(vars.PATH).toBe(FIXED_PATH)
      expect(vars).toMatchObject({
        LC_ALL: 'C',
        LANG: 'C',
        HOME: '/root',
        DEBIAN_FRONTEND: 'noninteractive',
        NEEDRESTART_SUSPEND: '1',
        EXTRA: 'yes',
      })
      expect(Object.keys(vars)).not.toContain('LD_PRELOAD')
      expect(Object.keys(vars)).not.toContain('LD_LIBRARY_PATH')
      expect(Object.keys(vars)).not.toContain('LANGUAGE')
    } finally {
      process.env = saved
    }
  })
})

describe('files', () => {
  it('writes atomically with mode, reads back, and leaves no temp file', async () => {
    const p = join(dir, 'a.conf')
    await sys.writeFile(p, 'one\n', { mode: 0o640 })
    await sys.writeFile(p, Buffer.from('two\n'), { mode: 0o600 })
    expect((await sys.readFile(p))?.toString()).toBe('two\n')
    expect(await sys.stat(p)).toMatchObject({ kind: 'file', mode: 0o600, size: 4 })
    expect(await sys.readDir(dir)).toEqual(['a.conf'])
  })

  it.skipIf(!isRoot)('sets owner and keeps setuid bits', async () => {
    const p = join(dir, 'chrome-sandbox')
    await sys.writeFile(p, 'x', { mode: 0o4755, uid: 1234, gid: 2345 })
    expect(await sys.stat(p)).toMatchObject({ mode: 0o4755, uid: 1234, gid: 2345 })
  })

  it('answers null for missing paths', async () => {
    expect(await sys.stat(join(dir, 'nope'))).toBeNull()
    expect(await sys.readFile(join(dir, 'nope'))).toBeNull()
    expect(await sys.readFile(join(dir, 'nope', 'deeper'))).toBeNull()
    expect(await sys.readDir(join(dir, 'nope'))).toEqual([])
  })

  it('refuses to write through a symlink and reports it as a symlink', async () => {
    const target = join(dir, 'target')
    const link = join(dir, 'link')
    await fsp.writeFile(target, 'original')
    await fsp.symlink(target, link)
    expect(await sys.stat(link)).toMatchObject({ kind: 'symlink' })
    await expect(sys.writeFile(link, 'evil', { mode: 0o644 })).rejects.toThrow(/symlink/)
    expect(await fsp.readFile(target, 'utf8')).toBe('original')
    await sys.removeFile(link)
    expect(await sys.stat(link)).toBeNull()
    expect(await sys.stat(target)).not.toBeNull()
  })

  it('removes files, tolerates missing ones and refuses directories', async () => {
    await sys.writeFile(join(dir, 'f'), 'x', { mode: 0o644 })
    await sys.removeFile(join(dir, 'f'))
    await sys.removeFile(join(dir, 'f'))
    await sys.mkdir(join(dir, 'd'), { mode: 0o755 })
    await expect(sys.removeFile(join(dir, 'd'))).rejects.toThrow(/directory/)
  })

  it('creates missing parents with the given mode and leaves existing ones alone', async () => {
    await fsp.chmod(dir, 0o711)
    await sys.mkdir(join(dir, 'a', 'b', 'c'), { mode: 0o750 })
    await sys.mkdir(join(dir, 'a', 'b', 'c'), { mode: 0o700 })
    expect(await sys.stat(dir)).toMatchObject({ kind: 'dir', mode: 0o711 })
    for (const p of ['a', 'a/b', 'a/b/c']) expect(await sys.stat(join(dir, p))).toMatchObject({ mode: 0o750 })
    await sys.writeFile(join(dir, 'file'), 'x', { mode: 0o644 })
    await expect(sys.mkdir(join(dir, 'file', 'sub'), { mode: 0o755 })).rejects.toThrow(/not a directory/)
  })

  it('removes empty directories only', async () => {
    await sys.mkdir(join(dir, 'd'), { mode: 0o755 })
    await sys.writeFile(join(dir, 'd', 'f'), 'x', { mode: 0o644 })
    await expect(sys.rmdir(join(dir, 'd'))).rejects.toMatchObject({ code: 'ENOTEMPTY' })
    await sys.removeFile(join(dir, 'd', 'f'))
    await sys.rmdir(join(dir, 'd'))
    await sys.rmdir(join(dir, 'd'))
    expect(await sys.stat(join(dir, 'd'))).toBeNull()
  })

  it('lists directories sorted', async () => {
    for (const n of ['b', 'a', 'c']) await sys.writeFile(join(dir, n), n, { mode: 0o644 })
    expect(await sys.readDir(dir)).toEqual(['a', 'b', 'c'])
  })
})

describe('download', () => {
  const body = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251))
  const sha = sha256(body)
  const requests: { url: string; headers: IncomingHttpHeaders }[] = []
  let server: Server
  let base = ''
  let flaky = 0

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers })
      if (req.url === '/flaky' && flaky++ === 0) return res.writeHead(500).end('oops')
      if (req.url === '/down') return res.writeHead(503).end()
      // A CDN's way: the "latest" URL answers with where the file really is.
      if (req.url === '/latest') return res.writeHead(302, { location: '/file.bin' }).end()
      if (req.url === '/norange') return res.writeHead(200, { 'content-length': body.length }).end(body)
      if (req.url !== '/file.bin' && req.url !== '/flaky') return res.writeHead(404).end('not found')
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0)
      const headers: Record<string, string | number> = { 'content-length': body.length - start }
      if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`
      res.writeHead(start > 0 ? 206 : 200, headers).end(body.subarray(start))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((r) => server.close(r))
  })
  beforeEach(() => {
    requests.length = 0
    flaky = 0
  })

  it('downloads into dest with mode and returns size and sha256', async () => {
    const dest = join(dir, 'file.bin')
    expect(await sys.download(`${base}/file.bin`, dest, { mode: 0o640 })).toEqual({
      bytes: body.length,
      sha256: sha,
    })
    expect(await fsp.readFile(dest)).toEqual(body)
    expect(await sys.stat(dest)).toMatchObject({ mode: 0o640 })
    expect(await sys.stat(`${dest}.part`)).toBeNull()
  })

  it('follows a redirect to the file', async () => {
    const dest = join(dir, 'latest.bin')
    expect((await sys.download(`${base}/latest`, dest, { mode: 0o644 })).sha256).toBe(sha)
    expect(requests.map((r) => r.url)).toEqual(['/latest', '/file.bin'])
  })

  it('resumes a half-written .part with a Range request', async () => {
    const dest = join(dir, 'file.bin')
    await fsp.writeFile(`${dest}.part`, body.subarray(0, 20_000))
    expect(await sys.download(`${base}/file.bin`, dest, { mode: 0o644 })).toEqual({
      bytes: body.length,
      sha256: sha,
    })
    expect(requests.map((r) => r.headers.range)).toEqual(['bytes=20000-'])
    expect(await fsp.readFile(dest)).toEqual(body)
  })

  it('starts over when the server ignores the Range header', async () => {
    const dest = join(dir, 'norange.bin')
    await fsp.writeFile(`${dest}.part`, Buffer.from('stale bytes from another file'))
    expect(await sys.download(`${base}/norange`, dest, { mode: 0o644 })).toEqual({
      bytes: body.length,
      sha256: sha,
    })
    expect(requests[0]?.headers.range).toBe('bytes=29-')
  })

  it('retries a 500 and then succeeds', async () => {
    const dest = join(dir, 'flaky.bin')
    expect((await sys.download(`${base}/flaky`, dest, { mode: 0o644 })).sha256).toBe(sha)
    expect(requests).toHaveLength(2)
  })

  it('tells the caller of each retry: the URL, the failed try, why and the wait', async () => {
    const notes: string[] = []
    const dest = join(dir, 'flaky2.bin')
    await sys.download(`${base}/flaky`, dest, { mode: 0o644 }, { onRetry: (t) => notes.push(t) })
    expect(notes).toEqual([
      expect.stringMatching(
        new RegExp(`^download of ${base}/flaky failed with HTTP 500 \\(try 1 of 4\\); retrying in \\d+ ms$`),
      ),
    ])
  })

  it('gives up on a persistent 503 after its retries', async () => {
    const quick = createRealSystem({ retryBaseMs: 1, retries: 2 })
    const notes: string[] = []
    const url = `${base}/down`
    await expect(
      quick.download(url, join(dir, 'x'), { mode: 0o644 }, { onRetry: (t) => notes.push(t) }),
    ).rejects.toThrow(`Unable to download ${url}: HTTP 503 (3 attempts)`)
    expect(requests).toHaveLength(3)
    expect(notes).toHaveLength(2)
  })

  it('fails at once on a 404', async () => {
    const url = `${base}/missing`
    const notes: string[] = []
    await expect(
      sys.download(url, join(dir, 'x'), { mode: 0o644 }, { onRetry: (t) => notes.push(t) }),
    ).rejects.toThrow(`Unable to download ${url}: HTTP 404`)
    expect(requests).toHaveLength(1)
    expect(notes).toEqual([])
  })
})

describe('probe', () => {
  it('tries a second time after a network error, and reports the second answer', async () => {
    let connections = 0
    const server = createServer((req, res) => {
      connections += 1
      if (connections === 1) {
        req.socket.destroy()
        return
      }
      res.writeHead(200, { date: 'Thu, 26 Nov 2026 10:00:00 GMT' })
      res.end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const { port } = server.address() as AddressInfo
      const r = await sys.probe(`http://127.0.0.1:${port}/dists/trixie/InRelease`)
      expect(r).toEqual({ status: 200, date: 'Thu, 26 Nov 2026 10:00:00 GMT', error: null })
      expect(connections).toBe(2)
    } finally {
      server.close()
    }
  })

  it('reports the error when both attempts fail', async () => {
    const server = createServer((req) => req.socket.destroy())
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const { port } = server.address() as AddressInfo
      const r = await sys.probe(`http://127.0.0.1:${port}/`)
      expect(r.status).toBeNull()
      expect(r.error).toMatch(/ECONNRESET|socket/i)
    } finally {
      server.close()
    }
  })
})
