// Files in the developer's home, owned by the developer: the directories they need (0755 unless
// private) and the files themselves, each resolved against the user's passwd entry at run time.
import { dirname } from 'node:path'
import type { Step } from '../engine/types.js'
import { directory } from './directory.js'
import { type Content, file } from './file.js'
import { forUser } from './lazy.js'

export interface HomeFile {
  /** Relative to the home directory, e.g. `.config/xfce4/helpers.rc`. */
  path: string
  content: Content
  mode: number
  sensitive?: boolean
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
      file({
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
