// The docker CLI's volume commands, as Debian 13's docker.io 26 answers them. Volumes live where
// the real engine keeps their data (/var/lib/docker/volumes/NAME/_data); their labels, which the
// real engine keeps in its metadata.db, are a labels.json beside it here, so snapshots see them.
// Every command needs the daemon: docker.service active, as on the real machine.
import { posix } from 'node:path'
import { type Ctx, fail, type Handler, ok, Unsupported } from './types.js'

const DOCKER_ROOT = '/var/lib/docker'
const VOLUMES = `${DOCKER_ROOT}/volumes`
export const NO_DAEMON =
  'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'

const dir = (name: string) => posix.join(VOLUMES, name)
const labelsPath = (name: string) => posix.join(dir(name), 'labels.json')

function labels(ctx: Ctx, name: string): Record<string, string> | null {
  const node = ctx.fs.get(labelsPath(name))
  if (node?.kind !== 'file') return null
  return JSON.parse(node.data.toString('utf8')) as Record<string, string>
}

/** A volume made by a person or by the tests: what `docker volume create [--label k=v] NAME` leaves. */
export function createVolume(ctx: Ctx, name: string, withLabels: Record<string, string>): void {
  // dockerd makes its root 0710 when it first starts.
  ctx.fs.mkdirp(DOCKER_ROOT, { mode: 0o710 })
  ctx.fs.mkdirp(posix.join(dir(name), '_data'), { mode: 0o755 })
  ctx.fs.write(labelsPath(name), JSON.stringify(withLabels), { mode: 0o600, uid: 0, gid: 0 })
}

function volume(ctx: Ctx, args: string[]) {
  const [verb, ...rest] = args
  switch (verb) {
    case 'inspect': {
      if (rest[0] !== '--format' || rest[1] !== '{{json .Labels}}' || rest.length !== 3)
        throw new Unsupported(`docker volume ${args.join(' ')}`)
      const name = rest[2] as string
      const l = labels(ctx, name)
      if (!l) return fail(1, `Error response from daemon: get ${name}: no such volume\n`)
      return ok(`${Object.keys(l).length === 0 ? 'null' : JSON.stringify(l)}\n`)
    }
    case 'create': {
      const want: Record<string, string> = {}
      let i = 0
      for (; rest[i] === '--label'; i += 2) {
        const [k, ...v] = (rest[i + 1] ?? '').split('=')
        if (!k) throw new Unsupported(`docker volume ${args.join(' ')}`)
        want[k] = v.join('=')
      }
      const name = rest[i]
      if (!name || rest.length !== i + 1) throw new Unsupported(`docker volume ${args.join(' ')}`)
      // Like the real one: creating an existing volume succeeds and changes nothing.
      if (!labels(ctx, name)) createVolume(ctx, name, want)
      return ok(`${name}\n`)
    }
    case 'ls': {
      if (rest.join(' ') !== '--quiet') throw new Unsupported(`docker volume ${args.join(' ')}`)
      const names = ctx.fs.get(VOLUMES)?.kind === 'dir' ? ctx.fs.list(VOLUMES) : []
      return ok(names.map((n) => `${n}\n`).join(''))
    }
    case 'rm': {
      const [name] = rest
      if (!name || rest.length !== 1) throw new Unsupported(`docker volume ${args.join(' ')}`)
      if (!labels(ctx, name)) return fail(1, `Error response from daemon: get ${name}: no such volume\n`)
      ctx.fs.removeTree(dir(name))
      return ok(`${name}\n`)
    }
  }
  throw new Unsupported(`docker volume ${args.join(' ')}`)
}

export const docker: Handler = (ctx, args) => {
  if (!ctx.state.services.get('docker.service')?.active) return fail(1, NO_DAEMON)
  if (args[0] === 'volume') return volume(ctx, args.slice(1))
  // The fake engine holds no image and no container: it never pulls or runs one.
  if (args.join(' ') === 'image ls --all --quiet' || args.join(' ') === 'container ls --all --quiet')
    return ok()
  throw new Unsupported(`docker ${args.join(' ')}`)
}
