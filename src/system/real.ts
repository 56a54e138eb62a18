// The System port on the real machine: execa with argv arrays (never a shell) and a fixed
// environment (real-exec.ts), node:fs for files (real-files.ts), global fetch for downloads and
// probes (real-http.ts). Steps and facts reach the managed machine only through it. The engine's
// own state is not the managed machine's: atomic.ts writes it, and engine/lock.ts spawns the one
// other process we run, the `flock` that guards it.
import type { System } from './port.js'
import { exec } from './real-exec.js'
import { mkdir, readDir, readFile, removeFile, rmdir, stat, writeFile } from './real-files.js'
import { download, type NetworkRetry, probe } from './real-http.js'

export type RealSystemOptions = NetworkRetry

export function createRealSystem(options: RealSystemOptions = {}): System {
  return {
    name: 'real',
    exec,
    stat,
    readFile,
    writeFile,
    removeFile,
    mkdir,
    rmdir,
    readDir,
    download: (url, dest, opts, hooks) => download(url, dest, opts, { ...options, ...hooks }),
    probe,
  }
}
