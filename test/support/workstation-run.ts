// The phase contract test's run, for other tests to look at: the fake Debian 13 set up as in
// test/unit/phases.test.ts (the IDE keys and the Cursor .deb on its web), every real phase run once
// by the engine in a temp state root, and the argv it sent to the machine (the fake's exec log).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ALL_PHASES, describeWorkstation } from '../../phases/index.js'
import { type Config, ConfigSchema } from '../../src/config/schema.js'
import { statePaths } from '../../src/engine/paths.js'
import type { RunEvent, Summary } from '../../src/model/events.js'
import { engine } from '../helpers/engine.js'
import { type ExecLogEntry, FakeSystem } from './fake/index.js'

export const VSCODE_KEY = 'https://packages.microsoft.com/keys/microsoft.asc'
export const ANTIGRAVITY_KEY = 'https://us-central1-apt.pkg.dev/doc/repo-signing-key.gpg'
export const CURSOR_DEB = 'https://example.test/cursor.deb'
/** The default Antigravity IDE tarball for amd64 (sources.antigravity.tarball, version pinned). */
export const ANTIGRAVITY_TARBALL =
  'https://edgedl.me.gvt1.com/edgedl/release2/j0qc3/antigravity/stable/2.5.5-4923483625488384/linux-x64/Antigravity%20IDE.tar.gz'

/** A fresh fake Debian 13 whose web serves the IDE signing keys and a Cursor .deb. */
export function workstationMachine(): FakeSystem {
  const sys = FakeSystem.debian13()
  sys.web.set(VSCODE_KEY, Buffer.from('binary-key-vscode'))
  sys.web.set(ANTIGRAVITY_KEY, Buffer.from('binary-key-antigravity'))
  // The fake installs a local .deb from its JSON package definition.
  const cursor = {
    name: 'cursor',
    version: '1.7.0',
    bin: ['/usr/share/cursor/cursor', '/usr/bin/cursor'],
    files: {
      '/usr/share/applications/cursor.desktop':
        '[Desktop Entry]\nName=Cursor\nExec=/usr/bin/cursor\nType=Application\n',
    },
  }
  sys.web.set(CURSOR_DEB, Buffer.from(JSON.stringify(cursor)))
  // The fake's tarballs are JSON too (test/support/fake/tar.ts): the IDE's top directory stripped.
  const antigravity = {
    top: 'Antigravity IDE',
    files: {
      'antigravity-ide': 'ELF stand-in\n',
      'bin/antigravity-ide': '#!/bin/sh\n',
      'resources/app/package.json': '{}\n',
    },
    executables: ['antigravity-ide', 'bin/antigravity-ide'],
  }
  sys.web.set(ANTIGRAVITY_TARBALL, Buffer.from(JSON.stringify(antigravity)))
  return sys
}

export const workstationConfig = (over: object = {}): Config =>
  ConfigSchema.parse({ sources: { cursor: { url: CURSOR_DEB } }, ...over })

export interface WorkstationRun {
  /** The machine after the run. */
  sys: FakeSystem
  summary: Summary
  events: RunEvent[]
  execLog: readonly ExecLogEntry[]
}

/** One `vps-provision run` of every phase on a fresh workstationMachine(). */
export async function runWorkstation(): Promise<WorkstationRun> {
  const { sys, deps, events, root } = workstationWorld()
  try {
    const summary = await engine.run(deps, workstationConfig(), { force: false })
    return { sys, summary, events, execLog: sys.execLog }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

/** What a test needs to run the engine again on the same machine and state (rollback, re-run). */
export interface WorkstationWorld {
  sys: FakeSystem
  deps: Parameters<typeof engine.run>[0]
  events: RunEvent[]
  /** The state root; the caller removes it. */
  root: string
}

/** Engine deps for `sys` (a fresh workstationMachine()) on a temp state root, nothing run yet. */
export function workstationWorld(
  sys: FakeSystem = workstationMachine(),
  events: RunEvent[] = [],
): WorkstationWorld {
  const root = mkdtempSync(join(tmpdir(), 'vps-workstation-'))
  const deps = {
    sys,
    paths: statePaths(root),
    emit: (e: RunEvent) => events.push(e),
    signal: new AbortController().signal,
    phases: ALL_PHASES,
    describe: describeWorkstation,
    interactive: false,
  }
  return { sys, deps, events, root }
}
