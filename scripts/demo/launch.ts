// Starting a demo from the foreground: the log it names first and writes as it goes, the .deb
// build (its output into that log), and the detached keeper whose output is appended to it too.
import { spawn } from 'node:child_process'
import { appendFileSync, closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../../test/e2e/harness/world.js'
import { KEEPER_LOG } from './state.js'

/** A line in the log in the keeper's own format, so the view reads both the same way. */
export function logLine(text: string): void {
  appendFileSync(KEEPER_LOG, `${new Date().toISOString()} demo: ${text}\n`)
}

/** A new, empty log for this demo (0600: the keeper writes the RDP login's address into it). */
export function freshLog(): void {
  closeSync(openSync(KEEPER_LOG, 'w', 0o600))
}

/**
 * `npm run package`, its output appended to the log (and kept for a failure). In this command's
 * process group (not detached), so a ^C in the terminal stops the build along with us.
 */
export function buildPackage(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', 'package'], {
      cwd: REPO_ROOT,
      env: { ...process.env, npm_config_loglevel: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const keep = (d: Buffer) => {
      output += d
      appendFileSync(KEEPER_LOG, d)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.once('error', (e) => resolve({ code: 127, output: String(e) }))
    child.once('close', (code) => {
      if (output && !output.endsWith('\n')) appendFileSync(KEEPER_LOG, '\n')
      resolve({ code: code ?? 1, output })
    })
  })
}

/** The .deb `npm run package` just built for package.json's version (newest, if several). */
export function builtDeb(): string | null {
  const version = (
    JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version
  const dist = path.join(REPO_ROOT, 'dist')
  const debs = readdirSync(dist)
    .filter((f) => f.startsWith(`vps-provision_${version}-`) && f.endsWith('_all.deb'))
    .map((f) => path.join(dist, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  return debs[0] ?? null
}

/** The keeper, in its own session (it outlives this command and the terminal's ^C). */
export function spawnKeeper(script: string, deb: string): number | undefined {
  const logFd = openSync(KEEPER_LOG, 'a', 0o600)
  const keeper = spawn(process.execPath, [...process.execArgv, script, '--keeper', deb], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: process.env,
  })
  closeSync(logFd)
  keeper.unref()
  return keeper.pid
}
