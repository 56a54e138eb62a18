import { execFileSync } from 'node:child_process'
import { existsSync, promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ensurePrivateDir,
  readFileNoFollow,
  UnsafePathError,
  writeFileAtomic,
} from '../../src/system/atomic.js'
import { sha256 as sha256Hex } from '../../src/util/hash.js'

let dir: string
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'vps-atomic-'))
})
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true })
})

const mode = async (p: string) => (await fsp.lstat(p)).mode & 0o7777

describe('ensurePrivateDir', () => {
  it('creates every missing directory with mode 0700, even under a permissive umask', async () => {
    const old = process.umask(0o000)
    try {
      await ensurePrivateDir(join(dir, 'var/vps-provision/sessions'))
    } finally {
      process.umask(old)
    }
    expect(await mode(join(dir, 'var'))).toBe(0o700)
    expect(await mode(join(dir, 'var/vps-provision'))).toBe(0o700)
    expect(await mode(join(dir, 'var/vps-provision/sessions'))).toBe(0o700)
  })

  it('is idempotent and leaves the mode of existing directories alone', async () => {
    await fsp.mkdir(join(dir, 'existing'), { mode: 0o755 })
    await fsp.chmod(join(dir, 'existing'), 0o755)
    await ensurePrivateDir(join(dir, 'existing/state'))
    await ensurePrivateDir(join(dir, 'existing/state'))
    expect(await mode(join(dir, 'existing'))).toBe(0o755)
    expect(await mode(join(dir, 'existing/state'))).toBe(0o700)
  })

  it('refuses a planted symlink anywhere on the path and leaves its target untouched', async () => {
    const etc = join(dir, 'etc')
    await fsp.mkdir(etc, { mode: 0o755 })
    await fsp.chmod(etc, 0o755)
    await fsp.writeFile(join(etc, 'passwd'), 'root:x:0:0\n')
    await fsp.mkdir(join(dir, 'root'))
    await fsp.symlink(etc, join(dir, 'root/var'))
    await expect(ensurePrivateDir(join(dir, 'root/var/vps-provision'))).rejects.toThrow(UnsafePathError)
    await fsp.symlink(etc, join(dir, 'leaf'))
    await expect(ensurePrivateDir(join(dir, 'leaf'))).rejects.toThrow(/is a symbolic link/)
    expect(await fsp.readdir(etc)).toEqual(['passwd'])
    expect(await mode(etc)).toBe(0o755)
  })

  it('refuses a file where a directory should be', async () => {
    await fsp.writeFile(join(dir, 'file'), '')
    await expect(ensurePrivateDir(join(dir, 'file/sub'))).rejects.toThrow(/is not a directory/)
  })
})

describe('writeFileAtomic', () => {
  it('writes with mode 0600 despite the umask and leaves no temp file behind', async () => {
    const path = join(dir, 'state.json')
    const old = process.umask(0o000)
    try {
      await writeFileAtomic(path, 'one')
      await writeFileAtomic(path, Buffer.from('two'))
    } finally {
      process.umask(old)
    }
    expect(await fsp.readFile(path, 'utf8')).toBe('two')
    expect(await mode(path)).toBe(0o600)
    expect(await fsp.readdir(dir)).toEqual(['state.json'])
  })

  it('honours an explicit mode and runs the rename hooks in order', async () => {
    const path = join(dir, 'x')
    const seen: string[] = []
    await writeFileAtomic(path, 'data', 0o640, {
      beforeRename: () => seen.push(`before:${existsSync(path)}`),
      afterRename: () => seen.push('after'),
    })
    expect(seen).toEqual(['before:false', 'after'])
    expect(await mode(path)).toBe(0o640)
  })

  it('refuses a symlink destination and leaves the link target unchanged', async () => {
    const target = join(dir, 'target')
    await fsp.writeFile(target, 'original')
    await fsp.symlink(target, join(dir, 'link'))
    await expect(writeFileAtomic(join(dir, 'link'), 'evil')).rejects.toThrow(
      /Unable to write .*symbolic link/,
    )
    expect(await fsp.readFile(target, 'utf8')).toBe('original')
    expect((await fsp.lstat(join(dir, 'link'))).isSymbolicLink()).toBe(true)
    expect((await fsp.readdir(dir)).sort()).toEqual(['link', 'target'])
  })

  it('keeps the old content and removes its temp file when the rename hook fails', async () => {
    const path = join(dir, 'keep')
    await writeFileAtomic(path, 'old')
    const boom = () => {
      throw new Error('crash before rename')
    }
    await expect(writeFileAtomic(path, 'new', 0o600, { beforeRename: boom })).rejects.toThrow('crash')
    expect(await fsp.readFile(path, 'utf8')).toBe('old')
    expect(await fsp.readdir(dir)).toEqual(['keep'])
  })

  it('fails cleanly when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing/file'), 'x')).rejects.toThrow(/ENOENT/)
  })
})

describe('readFileNoFollow', () => {
  it('returns the bytes, or null when the file is missing', async () => {
    await fsp.writeFile(join(dir, 'f'), 'hello')
    expect((await readFileNoFollow(join(dir, 'f')))?.toString()).toBe('hello')
    expect(await readFileNoFollow(join(dir, 'nope'))).toBeNull()
  })

  it('refuses a symlink with a clear error', async () => {
    await fsp.writeFile(join(dir, 'secret'), 'x')
    await fsp.symlink(join(dir, 'secret'), join(dir, 'link'))
    await expect(readFileNoFollow(join(dir, 'link'))).rejects.toThrow(
      `Unable to read ${join(dir, 'link')}: it is a symbolic link`,
    )
  })

  it('refuses a FIFO without hanging', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')])
    await expect(readFileNoFollow(join(dir, 'fifo'))).rejects.toThrow(/not a regular file/)
  })
})

describe('sha256Hex', () => {
  it('hashes strings and bytes alike', () => {
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    expect(sha256Hex('')).toBe(empty)
    expect(sha256Hex(Buffer.from('abc'))).toBe(sha256Hex('abc'))
  })
})
