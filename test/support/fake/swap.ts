// Swap on the fake: fallocate, mkswap, swapon, swapoff over /proc/swaps, as util-linux does them.
// A file's bytes stand for its size ("fallocated <bytes>"), so a 2 GiB swap file costs nothing
// here. Inside a container swapon fails with EPERM, as systemd-nspawn's and LXC's kernels do.
import { type Ctx, fail, type Handler, isContainer, ok, Unsupported } from './types.js'

export const SWAPS_HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n'

const UNITS: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

/** The size a file of the fake stands for: what fallocate recorded, else its real length. */
function sizeOf(ctx: Ctx, path: string): number {
  const text = ctx.fs.text(path) ?? ''
  const m = /^(?:fallocated|SWAPSPACE2) (\d+)/.exec(text)
  return m ? Number(m[1]) : text.length
}

export const fallocate: Handler = (ctx, args) => {
  const [flag, length, path, ...extra] = args
  const m = /^(\d+)(|KiB|MiB|GiB)$/.exec(length ?? '')
  if ((flag !== '--length' && flag !== '-l') || !m || !path || extra.length > 0)
    throw new Unsupported(`fallocate ${args.join(' ')}`)
  if (ctx.fs.exists(path)) return fail(1, `fallocate: ${path}: file exists\n`)
  const bytes = Number(m[1]) * (UNITS[m[2] ?? ''] ?? 1)
  ctx.fs.write(path, `fallocated ${bytes}\n`, { mode: 0o644 })
  return ok()
}

export const mkswap: Handler = (ctx, args) => {
  const [path, ...extra] = args
  if (!path || extra.length > 0) throw new Unsupported(`mkswap ${args.join(' ')}`)
  const node = ctx.fs.get(path)
  if (node?.kind !== 'file') return fail(1, `mkswap: cannot open ${path}: No such file or directory\n`)
  const bytes = sizeOf(ctx, path)
  ctx.fs.write(path, `SWAPSPACE2 ${bytes}\n`, { mode: node.mode, uid: node.uid, gid: node.gid })
  return ok(`Setting up swapspace version 1, size = ${bytes - 4096} bytes\n`)
}

function swaps(ctx: Ctx): string[] {
  return (ctx.fs.text('/proc/swaps') ?? SWAPS_HEADER).split('\n').slice(1).filter(Boolean)
}

function saveSwaps(ctx: Ctx, lines: string[]): void {
  ctx.fs.write('/proc/swaps', SWAPS_HEADER + lines.map((l) => `${l}\n`).join(''), { mode: 0o444 })
}

export const swapon: Handler = (ctx, args) => {
  const [path, ...extra] = args
  if (!path || path.startsWith('-') || extra.length > 0) throw new Unsupported(`swapon ${args.join(' ')}`)
  if (isContainer(ctx.state.options) || ctx.state.options.swapRefused)
    return fail(255, `swapon: ${path}: swapon failed: Operation not permitted\n`)
  const text = ctx.fs.text(path)
  if (text === null) return fail(255, `swapon: cannot open ${path}: No such file or directory\n`)
  if (!text.startsWith('SWAPSPACE2')) return fail(255, `swapon: ${path}: read swap header failed\n`)
  if (swaps(ctx).some((l) => l.split(/\s+/)[0] === path))
    return fail(255, `swapon: ${path}: swapon failed: Device or resource busy\n`)
  const kib = Math.floor(sizeOf(ctx, path) / 1024) - 4
  saveSwaps(ctx, [...swaps(ctx), `${path}\t\t\t\tfile\t\t${kib}\t\t0\t\t-2`])
  return ok()
}

export const swapoff: Handler = (ctx, args) => {
  const [path, ...extra] = args
  if (!path || path.startsWith('-') || extra.length > 0) throw new Unsupported(`swapoff ${args.join(' ')}`)
  const lines = swaps(ctx)
  const rest = lines.filter((l) => l.split(/\s+/)[0] !== path)
  if (rest.length === lines.length) return fail(255, `swapoff: ${path}: swapoff failed: Invalid argument\n`)
  saveSwaps(ctx, rest)
  return ok()
}
