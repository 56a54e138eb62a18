import { describe, expect, it } from 'vitest'
import { parseSimulatedInstalls, parseSimulatedRemovals } from '../../../src/facts/packages.js'
import { APT_GET, aptInstallArgv, isTransientAptFailure, missingPackages } from '../../../src/steps/apt.js'
import { signedByPaths } from '../../../src/steps/apt-update.js'

describe('apt argv', () => {
  it('shares one prefix: lock timeout, keep conffiles, no prompts', () => {
    expect(aptInstallArgv(['xrdp'])).toEqual([
      'apt-get',
      '-o',
      'DPkg::Lock::Timeout=600',
      '-o',
      'Dpkg::Options::=--force-confdef',
      '-o',
      'Dpkg::Options::=--force-confold',
      '-y',
      '-q',
      'install',
      '--no-install-recommends',
      'xrdp',
    ])
    expect(aptInstallArgv(['a'], { recommends: true, simulate: true })).toEqual([
      ...APT_GET,
      'install',
      '-s',
      'a',
    ])
  })
})

describe('simulation parsing', () => {
  const sim = [
    'NOTE: This is only a simulation!',
    'Inst libfoo1 (1.2-1 Debian:13/stable [amd64])',
    'Inst tzdata [2024a-1] (2025b-0+deb13u1 Debian:13/stable [all])',
    'Inst libbar:i386 (3.0-2 Debian:13/stable [i386])',
    'Inst xrdp (0.10.1-3 Debian:13/stable [amd64])',
    'Conf libfoo1 (1.2-1 Debian:13/stable [amd64])',
  ].join('\n')

  it('takes new installs only: an upgrade ([old] version) is not ours to purge', () => {
    expect(parseSimulatedInstalls(sim)).toEqual(['libbar', 'libfoo1', 'xrdp'])
  })

  it('reads removals of a simulated purge', () => {
    expect(parseSimulatedRemovals('Purg xrdp [0.10.1-3]\nRemv other [1]\nInst x (1)\n')).toEqual([
      'other',
      'xrdp',
    ])
  })
})

describe('failure classification', () => {
  it.each([
    ['Temporary failure resolving deb.debian.org', 100, true],
    ['E: Failed to fetch http://x/y  Hash Sum mismatch', 100, true],
    ['E: Unable to fetch some archives, maybe run apt-get update', 100, true],
    ['E: Unable to locate package nope', 100, false],
    ['Temporary failure resolving deb.debian.org', 1, false],
  ])('%s (exit %i) transient=%s', (stderr, exitCode, transient) => {
    expect(isTransientAptFailure({ exitCode, stdout: '', stderr })).toBe(transient)
  })

  it('names the packages apt cannot find', () => {
    const r = {
      exitCode: 100,
      stdout: '',
      stderr: 'E: Unable to locate package nope\nE: Unable to locate package nah',
    }
    expect(missingPackages(r)).toEqual(['nope', 'nah'])
  })
})

describe('signedByPaths', () => {
  it('reads deb822 Signed-By and one-line signed-by options', () => {
    const text = [
      'Types: deb',
      'Signed-By: /usr/share/keyrings/microsoft.gpg',
      'deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] https://x stable main',
    ].join('\n')
    expect(signedByPaths(text)).toEqual(['/usr/share/keyrings/microsoft.gpg', '/etc/apt/keyrings/x.gpg'])
  })
})
