// Files in the developer's home, owned by the developer: the directories they need (0755 unless
// private) and the files themselves, each resolved against the user's passwd entry at run time.
import { dirname } from 'node:path'
import { pathId, writeJournaled } from './common.js'
import { directory } from './directory.js'
import { type Content, file } from './file.js'
import { forUser } from './lazy.js'
import type { Step } from './types.js'

export interface HomeFile {
  /** Relative to the home directory, e.g. `.config/xfce4/helpers.rc`. */
  path: string
  content: Content
  mode: number
  sensitive?: boolean
  /**
   * A settings file the desktop or an IDE takes over once it runs (xfconfd rewrites its channel
   * files with every default added; VS Code adds its crash-reporter id to argv.json): written when
   * absent, never compared or rewritten afterwards, so a re-run keeps the user's settings and the
   * phase stays skipped.
   */
  seed?: boolean
}

const PRIVATE_DIRS = new Set(['.ssh'])

export function homeFiles(idPrefix: string, username: string, files: readonly HomeFile[]): Step[] {
  const dirs = new Set<string>()
  for (const f of files) {
    for (let d = dirname(f.path); d !== '.' && d !== '/'; d = dirname(d)) dirs.add(d)
  }
  const dirSteps = [...dirs]
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))
    .map((rel) =>
      forUser(`${idPrefix}.dir.${rel}`, `Directory ~${username}/${rel}`, username, (u) =>
        directory({
          path: `${u.home}/${rel}`,
          mode: PRIVATE_DIRS.has(rel) ? 0o700 : 0o755,
          uid: u.uid,
          gid: u.gid,
        }),
      ),
    )
  const fileSteps = files.map((f) =>
    forUser(`${idPrefix}.file.${f.path}`, `Write ~${username}/${f.path}`, username, (u) =>
      f.seed
        ? seedFile(`${u.home}/${f.path}`, typeof f.content === 'string' ? f.content : f.content(null), {
            mode: f.mode,
            uid: u.uid,
            gid: u.gid,
          })
        : file({
            path: `${u.home}/${f.path}`,
            content: f.content,
            mode: f.mode,
            uid: u.uid,
            gid: u.gid,
            ...(f.sensitive ? { sensitive: true } : {}),
          }),
    ),
  )
  return [...dirSteps, ...fileSteps]
}

function seedFile(path: string, content: string, opts: { mode: number; uid: number; gid: number }): Step {
  return {
    id: pathId('seed', path),
    title: `Write ${path} unless present`,
    async check(sys) {
      const present = (await sys.stat(path))?.kind === 'file'
      return present
        ? { done: true, observed: `${path} present` }
        : { done: false, observed: `${path} absent`, why: `${path} absent` }
    },
    async apply(ctx) {
      if ((await ctx.sys.stat(path))?.kind === 'file') return
      await writeJournaled(ctx, path, content, opts)
    },
  }
}
