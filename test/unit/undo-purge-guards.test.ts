// The two guards a real Debian puts in front of a purge, seen in the trixie chroot test: sudo's prerm
// refuses while root has no password (SUDO_FORCE_REMOVE=yes lifts it), and apt refuses to remove a
// Protected package such as systemd-sysv (--allow-remove-essential lifts it). The undo lifts each only
// for packages the undone action itself installed. A scripted System answers the few commands the
// purge runs and records them; the fake Debian does not model either guard.
import { describe, expect, it } from 'vitest'
import { executeUndo, type UndoOptions } from '../../src/engine/undo-executor.js'
import type { Undo } from '../../src/model/undo.js'
import type { ExecOptions, ExecResult, System } from '../../src/system/port.js'

interface Pkg {
  protected?: boolean
}

function scripted(installed: Record<string, Pkg>, alsoRemoves: string[] = []) {
  const calls: { argv: readonly string[]; env: Record<string, string> | undefined }[] = []
  const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '' })
  const names = (argv: readonly string[]) => argv.slice(argv.indexOf('--') + 1).filter((n) => n in installed)
  const sys: System = {
    name: 'scripted',
    async exec(argv: readonly string[], opts?: ExecOptions) {
      calls.push({ argv, env: opts?.env })
      const format = argv.find((a) => a.startsWith('-f=')) ?? ''
      if (argv[0] === 'dpkg-query' && format.includes('Protected'))
        return ok(
          names(argv)
            .map((n) => `${n}\tno\t${installed[n]?.protected ? 'yes' : 'no'}\n`)
            .join(''),
        )
      if (argv[0] === 'dpkg-query')
        return ok(
          names(argv)
            .map((n) => `${n}\tii \t1.0\n`)
            .join(''),
        )
      if (argv[0] === 'apt-get' && argv.includes('-s')) {
        const targets = argv.slice(argv.indexOf('purge') + 1).filter((a) => a !== '-s')
        return ok([...targets, ...alsoRemoves].map((n) => `Purg ${n} [1.0]\n`).join(''))
      }
      if (argv[0] === 'apt-get') return ok('')
      throw new Error(`unexpected command: ${argv.join(' ')}`)
    },
    stat: async () => null,
    readFile: async () => null,
    writeFile: async () => {},
    removeFile: async () => {},
    mkdir: async () => {},
    rmdir: async () => {},
    readDir: async () => [],
    download: async () => {
      throw new Error('no downloads')
    },
    probe: async () => ({ status: null, date: null, error: 'offline' }),
  }
  const purge = () =>
    calls.find((c) => c.argv[0] === 'apt-get' && c.argv.includes('purge') && !c.argv.includes('-s'))
  return { sys, calls, purge }
}

const opts = (force = false): UndoOptions => ({
  backupDir: '/backups',
  readBackup: async () => null,
  written: null,
  force,
  keepDrifted: async (p) => p,
})

describe('purge-packages undo: the guards of a real Debian', () => {
  it('lifts neither guard for ordinary packages', async () => {
    const m = scripted({ curl: {}, libcurl4t64: {} })
    const r = await executeUndo(m.sys, { kind: 'purge-packages', packages: ['curl', 'libcurl4t64'] }, opts())
    expect(r).toEqual({ outcome: 'undone', detail: 'purged curl libcurl4t64' })
    expect(m.purge()?.argv).not.toContain('--allow-remove-essential')
    expect(m.purge()?.env).toBeUndefined()
  })

  it('purges sudo it installed although root has no password (SUDO_FORCE_REMOVE=yes)', async () => {
    const m = scripted({ sudo: {}, curl: {} })
    await executeUndo(m.sys, { kind: 'purge-packages', packages: ['curl', 'sudo'] }, opts())
    expect(m.purge()?.env).toEqual({ SUDO_FORCE_REMOVE: 'yes' })
  })

  it('removes a protected package only when this action installed it', async () => {
    const m = scripted({ 'systemd-sysv': { protected: true }, systemd: {}, 'libpam-systemd': {} })
    const undo: Undo = { kind: 'purge-packages', packages: ['libpam-systemd', 'systemd', 'systemd-sysv'] }
    const r = await executeUndo(m.sys, undo, opts())
    expect(m.purge()?.argv).toContain('--allow-remove-essential')
    expect(r.detail).toBe(
      'purged libpam-systemd systemd systemd-sysv (including protected systemd-sysv, installed by this session)',
    )
  })

  it('keeps the guard when apt would also take a protected package it did not install (forced)', async () => {
    const m = scripted({ 'libpam-systemd': {}, 'systemd-sysv': { protected: true } }, ['systemd-sysv'])
    const undo: Undo = { kind: 'purge-packages', packages: ['libpam-systemd'] }
    await expect(executeUndo(m.sys, undo, opts())).rejects.toThrow(/apt would also remove systemd-sysv/)
    await executeUndo(m.sys, undo, opts(true))
    expect(m.purge()?.argv).not.toContain('--allow-remove-essential')
  })
})
