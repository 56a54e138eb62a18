import { describe, expect, it } from 'vitest'
import { Prefetch, parsePrintUris } from '../../../src/steps/prefetch.js'
import type { DownloadResult, ExecResult, FileStat, System } from '../../../src/system/port.js'

const SHA = (c: string) => c.repeat(64)
/** A hex digit per name, so each stand-in .deb has a sha256 of its own. */
const hex = (name: string) => (name.length % 10).toString()
const line = (name: string, c: string) =>
  `'http://deb.debian.org/debian/pool/main/${name[0]}/${name}/${name}_1.0_amd64.deb' ${name}_1.0_amd64.deb 100 SHA256:${SHA(c)}`

describe('apt-get --print-uris', () => {
  it('reads URI, file name, size and sha256, and nothing else', () => {
    const out = ['Reading package lists...', line('curl', 'a'), line('libcurl4t64', 'b'), ''].join('\n')
    expect(parsePrintUris(out)).toEqual([
      {
        uri: 'http://deb.debian.org/debian/pool/main/c/curl/curl_1.0_amd64.deb',
        filename: 'curl_1.0_amd64.deb',
        size: 100,
        sha256: SHA('a'),
      },
      expect.objectContaining({ filename: 'libcurl4t64_1.0_amd64.deb' }),
    ])
  })

  it('refuses a file name that would leave the archive directory, and non-http URIs', () => {
    const out = [
      `'http://x/a.deb' ../../etc/a.deb 1 SHA256:${SHA('a')}`,
      `'file:/srv/b.deb' b.deb 1 SHA256:${SHA('b')}`,
    ].join('\n')
    expect(parsePrintUris(out)).toEqual([])
  })
})

/** Just what Prefetch uses of the System: apt-get and apt-config answers, downloads recorded. */
function stubSystem(opts: {
  uris: Record<string, string[]>
  proxy?: boolean
  failOn?: string
  wrongSha?: string
}) {
  const fetched: string[] = []
  const removed: string[] = []
  const sys = {
    name: 'stub',
    async exec(argv: readonly string[]): Promise<ExecResult> {
      if (argv[0] === 'apt-config') {
        const stdout = opts.proxy ? 'Acquire::http::Proxy "http://proxy:3128";\n' : 'Acquire::Retries "3";\n'
        return { exitCode: 0, stdout, stderr: '' }
      }
      const names = argv.slice(argv.indexOf('--no-install-recommends') + 1)
      const unknown = names.filter((n) => !(n in opts.uris))
      if (unknown.length > 0)
        return {
          exitCode: 100,
          stdout: '',
          stderr: unknown.map((n) => `E: Unable to locate package ${n}`).join('\n'),
        }
      const lines = [...new Set(names.flatMap((n) => opts.uris[n] ?? []))]
      // As apt does: the first hash the index lists (MD5 on Debian's mirror) unless one is forced.
      if (!argv.includes('Acquire::ForceHash=SHA256'))
        return {
          exitCode: 0,
          stdout: lines
            .map((n) => line(n, hex(n)).replace(/SHA256:.*/, `MD5Sum:${'0'.repeat(32)}`))
            .join('\n'),
          stderr: '',
        }
      return { exitCode: 0, stdout: lines.map((n) => line(n, hex(n))).join('\n'), stderr: '' }
    },
    async stat(): Promise<FileStat | null> {
      return null
    },
    async download(url: string): Promise<DownloadResult> {
      const name = url.split('/').at(-2) as string
      if (name === opts.failOn) throw new Error(`Unable to download ${url}: HTTP 403`)
      fetched.push(name)
      return { bytes: 100, sha256: name === opts.wrongSha ? SHA('f') : SHA(hex(name)) }
    },
    async removeFile(path: string) {
      removed.push(path)
    },
  }
  return { sys: sys as unknown as System, fetched, removed }
}

describe('Prefetch', () => {
  const uris = { curl: ['curl', 'libcurl'], xfce4: ['xfce4', 'libgtk', 'libcurl'], xrdp: ['xrdp'] }

  it("leaves the first transaction's .debs to apt and fetches every other planned one once", async () => {
    const { sys, fetched } = stubSystem({ uris })
    const p = new Prefetch(sys, ['curl', 'xfce4', 'xrdp', 'code'], () => {})
    await p.ready(['curl'])
    await p.ready(['xfce4'])
    // libcurl is curl's, which apt is fetching itself; code is not in the lists yet.
    expect(fetched.sort()).toEqual(['libgtk', 'xfce4', 'xrdp'])
  })

  it('removes a file whose sha256 is not what apt expects, so apt fetches it itself', async () => {
    const { sys, removed } = stubSystem({ uris, wrongSha: 'libgtk' })
    const p = new Prefetch(sys, ['curl', 'xfce4'], () => {})
    await p.ready(['curl'])
    await p.ready(['xfce4'])
    expect(removed).toEqual(['/var/cache/apt/archives/libgtk_1.0_amd64.deb'])
  })

  it('stops at the first failed download and says so; the install goes on', async () => {
    const log: string[] = []
    const { sys, fetched } = stubSystem({ uris, failOn: 'libgtk' })
    const p = new Prefetch(sys, ['curl', 'xfce4', 'xrdp'], (t) => log.push(t))
    await p.ready(['curl'])
    await p.ready(['xfce4'])
    expect(fetched.length).toBeLessThan(3)
    expect(log.join('\n')).toMatch(/Prefetch of \.debs stopped, apt fetches the rest: .*HTTP 403/)
  })

  it('leaves everything to apt when apt has a proxy configured', async () => {
    const log: string[] = []
    const { sys, fetched } = stubSystem({ uris, proxy: true })
    const p = new Prefetch(sys, ['curl', 'xfce4'], (t) => log.push(t))
    await p.ready(['curl'])
    await p.ready(['xfce4'])
    expect(fetched).toEqual([])
    expect(log.join('\n')).toMatch(/proxy/)
  })
})
