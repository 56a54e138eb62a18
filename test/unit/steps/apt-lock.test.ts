import { describe, expect, it } from 'vitest'
import { holderFromApt, lockError, lockFailure } from '../../../src/facts/apt-lock.js'
import { aptGet, aptInstallArgv, DPKG_INTERRUPTED } from '../../../src/steps/apt.js'
import type { ExecResult, System } from '../../../src/system/port.js'

const result = (stderr: string, exitCode = 100): ExecResult => ({ exitCode, stdout: '', stderr })

/** Only exec and readFile are used: the /proc scan and the holder's name. */
function procSystem(found: string, comm: Record<number, string>): System {
  return {
    exec: async () => ({ exitCode: 0, stdout: found, stderr: '' }),
    readFile: async (p: string) => {
      const pid = Number(/^\/proc\/(\d+)\/comm$/.exec(p)?.[1])
      return comm[pid] ? Buffer.from(`${comm[pid]}\n`) : null
    },
  } as unknown as System
}

describe('dpkg lock failures', () => {
  it("recognises the lock apt gave up on, and apt's own word for the holder", () => {
    const posix = result(
      'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (unattended-upgr)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?',
    )
    expect(lockFailure(posix)).toBe('/var/lib/dpkg/lock-frontend')
    expect(holderFromApt(posix)).toEqual({ pid: 812, name: 'unattended-upgr' })
    expect(lockFailure(result('E: Unable to locate package nope'))).toBeNull()
  })

  it('names the holder apt could not (an OFD lock) from /proc, and says how long it waited', async () => {
    const ofd = result(
      'E: Could not get lock /var/lib/dpkg/lock-frontend - open (11: Resource temporarily unavailable)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?',
    )
    expect(holderFromApt(ofd)).toBeNull()
    const err = await lockError(
      procSystem('/proc/4242/fd\n/proc/4242/fd\n', { 4242: 'flock' }),
      'install sudo',
      ofd,
      4,
    )
    expect(err?.message).toBe(
      'Unable to install sudo: the dpkg lock /var/lib/dpkg/lock-frontend is held by process 4242 (flock); gave up after waiting 4 s',
    )
    expect(err?.hint).toMatch(/aptLockTimeoutSeconds/)
  })

  it('the lock timeout is part of every apt-get argv; an interrupted dpkg is recognised', () => {
    expect(aptGet(5)).toContain('DPkg::Lock::Timeout=5')
    expect(aptInstallArgv(['sudo'], { lockTimeoutSeconds: 7 })).toContain('DPkg::Lock::Timeout=7')
    expect(
      DPKG_INTERRUPTED.test(
        "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.",
      ),
    ).toBe(true)
  })
})
