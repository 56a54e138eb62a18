// A private git host on a machine's own loopback, for the tests that clone with a token: git from
// the machine's apt (installed before the test's baseline), one bare repository per name with one
// commit, and git-http-server.mjs as a transient unit answering 401 without the token. The token
// goes in a 0600 file on the server side; the request log counts what a run asked.
import path from 'node:path'
import type { Machine } from './machine.js'

export const GIT_REQUEST_LOG = '/var/log/git-http-requests.log'

export async function serveGitOverHttp(
  m: Machine,
  opts: { port: number; token: string; repos: readonly string[] },
): Promise<{ url: (name: string) => string; requests: () => Promise<number> }> {
  await m.exec(['apt-get', 'update', '-q'], { timeoutMs: 10 * 60_000 })
  await m.exec(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'git'], {
    timeoutMs: 15 * 60_000,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  })
  for (const name of opts.repos) {
    // $0: the name, as one word; no % in the script (systemd would read a specifier).
    await m.exec([
      'sh',
      '-euc',
      [
        'git init -q --bare --initial-branch=main "/srv/http/$0.git"',
        'w=$(mktemp -d) && git clone -q "/srv/http/$0.git" "$w" && cd "$w"',
        'echo "# $0" > README.md && git add README.md',
        'git -c user.name=t -c user.email=t@example.test commit -qm first && git push -q origin HEAD:main',
        'cd / && rm -rf "$w"',
      ].join('\n'),
      name,
    ])
  }
  await m.writeFile('/srv/git-http-token', `${opts.token}\n`, 0o600)
  await m.copyIn(path.join(import.meta.dirname, 'git-http-server.mjs'), '/srv/git-http-server.mjs')
  await m.exec([
    'systemd-run',
    '--unit=git-http',
    'node',
    '/srv/git-http-server.mjs',
    '/srv/http',
    String(opts.port),
    '/srv/git-http-token',
    GIT_REQUEST_LOG,
  ])
  return {
    url: (name) => `http://127.0.0.1:${opts.port}/${name}.git`,
    requests: async () => ((await m.readFile(GIT_REQUEST_LOG)) ?? '').split('\n').filter(Boolean).length,
  }
}
