// The preflight checks, one small function each: what was measured, against what is required, and
// what to do when it falls short. They only read. (The RDP port's is in port-holder.ts.)

import type { System } from '../system/port.js'
import { groupEntry, passwdEntry } from './accounts.js'
import type { Facts } from './environment.js'
import { debianMirrors, diskSpace, memTotalMiB, osRelease } from './machine.js'
import type { AssertResult } from './verdict.js'

export const REQUIRED_RAM_MB = 2048
/** Kernels keep 5-8% of RAM for themselves: a 2 GiB VPS reports about 1950 MiB as MemTotal. */
export const MIN_MEMTOTAL_MIB = 1900
export const REQUIRED_FREE_GB = 10

export async function runningAsRoot(sys: System): Promise<AssertResult> {
  const r = await sys.exec(['id', '-u'], { allowFailure: true })
  const uid = r.stdout.trim()
  return {
    ok: uid === '0',
    detail: `uid ${uid || '?'} (required: 0)`,
    hint: 'Run as root: sudo -i, then run again',
  }
}

export async function debian13(sys: System): Promise<AssertResult> {
  const os = await osRelease(sys)
  if (!os)
    return {
      ok: false,
      detail: 'neither /etc/os-release nor /usr/lib/os-release (required: Debian 13)',
      hint: 'This tool supports Debian 13 (trixie) only',
    }
  const seen = `${os.PRETTY_NAME ?? os.ID ?? 'unknown'} (ID=${os.ID ?? '?'}, VERSION_ID=${os.VERSION_ID ?? '?'})`
  return {
    ok: os.ID === 'debian' && os.VERSION_ID === '13',
    detail: `${seen} (required: ID=debian, VERSION_ID=13)`,
    hint: 'Install Debian 13 (trixie) on the VPS; other releases are not supported',
  }
}

/** amd64 or arm64, and every wanted IDE has a build for it in its configured source (src/ides.ts). */
export function architecture(facts: Facts, withoutBuild: readonly string[]): AssertResult {
  const arch = facts.architecture
  const known = arch === 'amd64' || arch === 'arm64'
  if (known && withoutBuild.length === 0) return { ok: true, detail: arch }
  return {
    ok: false,
    detail: known
      ? `${arch}: no ${arch} build of ${withoutBuild.join(', ')} in its configured source`
      : `${arch} (required: amd64 or arm64)`,
    hint: known
      ? `Leave ${withoutBuild.join(', ')} out (--ides), or point sources.<ide> at a ${arch} build`
      : 'Use an amd64 or arm64 VPS',
  }
}

/** An IDE's source (repository Release file, key, download) answers: HEAD, or GET when refused. */
export async function sourceReachable(sys: System, url: string): Promise<AssertResult> {
  const r = await sys.probe(url)
  if (r.status !== null && r.status >= 200 && r.status < 400)
    return { ok: true, detail: `${url}: HTTP ${r.status}` }
  return {
    ok: false,
    detail: `${url}: ${r.error ?? `HTTP ${r.status}`}`,
    hint: 'Check the URL in sources.<ide>, or --skip-probe behind a proxy that refuses HEAD',
  }
}

export async function memory(sys: System): Promise<AssertResult> {
  const mib = await memTotalMiB(sys)
  return {
    ok: mib !== null && mib >= MIN_MEMTOTAL_MIB,
    detail: `${mib ?? '?'} MiB RAM (required: ${REQUIRED_RAM_MB} MB, i.e. MemTotal >= ${MIN_MEMTOTAL_MIB} MiB)`,
    hint: 'Resize the VPS to at least 2 GB of RAM',
  }
}

export async function freeDisk(sys: System, path: string): Promise<AssertResult> {
  const d = await diskSpace(sys, path)
  const gb = d ? d.availBytes / 1e9 : null
  return {
    ok: gb !== null && gb >= REQUIRED_FREE_GB,
    detail: `${gb === null ? '?' : gb.toFixed(1)} GB free on ${d?.mount ?? path} (required: ${REQUIRED_FREE_GB} GB)`,
    hint: `Free space on ${path} or grow the disk`,
  }
}

/** The configured mirror (aptMirror), or the first one apt's sources name. */
export async function mirrorReachable(sys: System, aptMirror: string | null): Promise<AssertResult> {
  const mirrors = aptMirror ? [{ uri: aptMirror, suite: 'trixie' }] : await debianMirrors(sys)
  const m = mirrors[0]
  if (!m)
    return {
      ok: false,
      detail: 'no Debian mirror in /etc/apt/sources.list.d/debian.sources or sources.list',
      hint: 'Configure a Debian mirror for apt',
    }
  const url = `${m.uri.replace(/\/+$/, '')}/dists/${m.suite}/InRelease`
  const r = await sys.probe(url)
  if (r.status !== 200) {
    return {
      ok: false,
      detail: `${url}: ${r.error ?? `HTTP ${r.status}`}`,
      hint: 'Check the network, DNS and the mirror in /etc/apt/sources.list.d/debian.sources',
    }
  }
  const skew = r.date ? Math.abs(Date.parse(r.date) - Date.now()) / 1000 : 0
  if (skew > 3600) {
    return {
      ok: false,
      detail: `the clock is off by ${Math.round(skew / 60)} minutes against ${m.uri} (apt will reject its Release file as "not valid yet")`,
      hint: 'Set the clock (timedatectl set-ntp true, or date -s) and run again',
    }
  }
  return { ok: true, detail: `${m.uri} reachable (${m.suite})` }
}

export async function cloudInitFinished(sys: System): Promise<AssertResult> {
  if (!(await sys.stat('/usr/bin/cloud-init'))) return { ok: true, detail: 'no cloud-init' }
  // Exit 2 means "done, with recoverable errors": finished all the same.
  const r = await sys.exec(['cloud-init', 'status', '--wait'], { allowFailure: true, timeoutMs: 30 * 60_000 })
  return {
    ok: r.exitCode === 0 || r.exitCode === 2,
    detail: `cloud-init status: ${r.stdout.trim().split('\n').at(-1) ?? r.exitCode}`,
    hint: 'Look at /var/log/cloud-init.log; apt is locked until cloud-init finishes',
  }
}

/**
 * What depends on the machine only: whether the account exists, and whose it is. Reserved names
 * never get here: the configuration refuses them (src/config/usernames.ts).
 */
export async function usernameUsable(
  sys: System,
  want: { username: string; reuseUser: boolean },
  ours: readonly string[],
): Promise<AssertResult> {
  const name = want.username
  const entry = await passwdEntry(sys, name)
  if (!entry) return groupFree(sys, name)
  if (ours.includes(name)) return { ok: true, detail: `${name} was created by an earlier run` }
  if (entry.uid < 1000 || entry.uid >= 60000) {
    return {
      ok: false,
      detail: `${name} is a system account (uid ${entry.uid})`,
      hint: 'Choose another --username',
    }
  }
  return {
    ok: want.reuseUser,
    detail: want.reuseUser
      ? `${name} exists (uid ${entry.uid}) and will be reused`
      : `${name} already exists (uid ${entry.uid})`,
    hint: 'Pass --reuse-user to make the existing user the developer account, or choose another --username',
  }
}

/** `useradd --user-group` gives the account a group of its name, and refuses one that exists. */
async function groupFree(sys: System, name: string): Promise<AssertResult> {
  const group = await groupEntry(sys, name)
  if (!group) return { ok: true, detail: `${name} will be created` }
  return {
    ok: false,
    detail: `${name} is already a group (gid ${group.gid}), and the new account needs a group of its own name`,
    hint: 'Choose another --username',
  }
}
