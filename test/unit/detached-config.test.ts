// The configuration a detaching client stores for its worker (src/cli/session-config.ts): written
// atomically, root-only, never through a planted symlink, and checked again when the worker reads it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadSessionConfig, saveSessionConfig, sessionConfigPath } from '../../src/cli/session-config.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { statePaths } from '../../src/engine/paths.js'
import { EXIT } from '../../src/model/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'vps-session-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = () => statePaths(join(dir, `root-${n++}`))
const ID = '20261126-100000-cfg001'
const CONFIG = ConfigSchema.parse({ username: 'alice', rdp: { port: 3390 }, skip: ['desktop-install'] })

describe("a detached run's stored configuration", () => {
  it('round-trips, 0600 in a 0700 directory, beside (not named as) the session file', async () => {
    const paths = fresh()
    await saveSessionConfig(paths, ID, CONFIG)
    const file = sessionConfigPath(paths, ID)
    expect(file).toBe(join(paths.sessionsDir, `config-${ID}.json`))
    expect(file).not.toBe(paths.sessionFile(ID))
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(paths.sessionsDir).mode & 0o777).toBe(0o700)
    expect(await loadSessionConfig(paths, ID)).toEqual(CONFIG)
    expect(() => sessionConfigPath(paths, '../../etc/passwd')).toThrow(/is not a session id/)
  })

  it('refuses a symlink planted at the file or at its directory, and never writes through one', async () => {
    const paths = fresh()
    const victim = join(dir, `victim-${n++}`)
    writeFileSync(victim, 'precious\n')
    mkdirSync(paths.sessionsDir, { recursive: true })
    symlinkSync(victim, sessionConfigPath(paths, ID))
    await expect(saveSessionConfig(paths, ID, CONFIG)).rejects.toThrow(/symbolic link/)
    await expect(loadSessionConfig(paths, ID)).rejects.toThrow(/symbolic link/)
    expect(readFileSync(victim, 'utf8')).toBe('precious\n')

    const other = fresh()
    mkdirSync(other.stateDir, { recursive: true })
    symlinkSync(dir, other.sessionsDir)
    await expect(saveSessionConfig(other, ID, CONFIG)).rejects.toThrow(/symbolic link/)
  })

  it('a missing or damaged file is a usage error that names it', async () => {
    const paths = fresh()
    await expect(loadSessionConfig(paths, ID)).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: expect.stringMatching(/^Unable to read the configuration of session \S+: \S+ does not exist$/),
    })
    await saveSessionConfig(paths, ID, CONFIG)
    writeFileSync(sessionConfigPath(paths, ID), '{"rdp": {"port": 0}}\n')
    await expect(loadSessionConfig(paths, ID)).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: expect.stringContaining(
        `rdp.port: expected a whole number from 1 to 65535, got 0 (${sessionConfigPath(paths, ID)}:1:18)`,
      ),
    })
  })
})
