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

/** What one probe of the Debian mirror found: the mirror and check clock() both read it. */
export interface MirrorAnswer {
  /** null: apt's sources name no Debian mirror. */
  uri: string | null
  suite: string
  url: string | null
  status: number | null
  /** The mirror's Date header. */
  date: string | null
  error: string | null
  /** This machine's clock (ms since the epoch) when the answer came. */
  at: number
}

/**
 * The configured mirror (aptMirror), or the first one apt's sources name: its InRelease asked once
 * per build of the phase (both checks below read the same answer), `now` read when it came.
 */
export function mirrorProbe(
  aptMirror: string | null,
  now: () => number = Date.now,
): (sys: System) => Promise<MirrorAnswer> {
  let answer: Promise<MirrorAnswer> | null = null
  return (sys) => {
    answer ??= (async () => {
      const mirrors = aptMirror ? [{ uri: aptMirror, suite: 'trixie' }] : await debianMirrors(sys)
      const m = mirrors[0]
      if (!m) return { uri: null, suite: '', url: null, status: null, date: null, error: null, at: now() }
      const url = `${m.uri.replace(/\/+$/, '')}/dists/${m.suite}/InRelease`
      const r = await sys.probe(url)
      return { uri: m.uri, suite: m.suite, url, status: r.status, date: r.date, error: r.error, at: now() }
    })()
    return answer
  }
}

export async function mirrorReachable(
  sys: System,
  probe: (sys: System) => Promise<MirrorAnswer>,
): Promise<AssertResult> {
  const m = await probe(sys)
  if (!m.uri)
    return {
      ok: false,
      detail: 'no Debian mirror in /etc/apt/sources.list.d/debian.sources or sources.list',
      hint: 'Configure a Debian mirror for apt',
    }
  if (m.status !== 200) {
    return {
      ok: false,
      detail: `${m.url}: ${m.error ?? `HTTP ${m.status}`}`,
      hint: 'Check the network, DNS and the mirror in /etc/apt/sources.list.d/debian.sources',
    }
  }
  return { ok: true, detail: `${m.uri} reachable (${m.suite})` }
}

/**
 * Beyond this apt may refuse a Release file as "not valid yet" (a clock behind: a security
 * Release a few minutes old is still in our future) and TLS may refuse certificates; five minutes
 * is far above what a synchronised clock and one HTTP round trip can differ by.
 */
export const MAX_CLOCK_SKEW_SECONDS = 300

/** This machine's clock against the Date header of the mirror's answer (same probe as above). */
export async function clock(
  sys: System,
  probe: (sys: System) => Promise<MirrorAnswer>,
  facts: Pick<Facts, 'container' | 'virtualization'>,
): Promise<AssertResult> {
  const m = await probe(sys)
  const mirrorTime = m.date ? Date.parse(m.date) : Number.NaN
  if (Number.isNaN(mirrorTime))
    return {
      ok: true,
      detail: `${m.uri ?? 'the mirror'} sent no usable Date header: the clock was not compared`,
    }
  const skew = Math.round((m.at - mirrorTime) / 1000)
  if (Math.abs(skew) <= MAX_CLOCK_SKEW_SECONDS)
    return { ok: true, detail: `within ${MAX_CLOCK_SKEW_SECONDS / 60} minutes of ${m.uri}'s Date header` }
  const set = `date -u -s '${new Date(mirrorTime).toISOString()}'`
  return {
    ok: false,
    detail: `this machine's clock is ${duration(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'} ${m.uri} (its Date header: ${m.date}; allowed: ${MAX_CLOCK_SKEW_SECONDS / 60} minutes); apt would refuse its Release files as "not valid yet" or expired`,
    hint: facts.container
      ? `This ${facts.virtualization} container runs on its host's clock: set the time on the host (timedatectl set-ntp true there), then run again`
      : `Set the clock now (${set}), keep it right with network time (timedatectl set-ntp true; if timedatectl shows "NTP service: n/a", install systemd-timesyncd first), then run again`,
  }
}

function duration(seconds: number): string {
  if (seconds < 3600) return `${Math.round(seconds / 60)} minutes`
  if (seconds < 2 * 86400) return `${(seconds / 3600).toFixed(1)} hours`
  return `${Math.round(seconds / 86400)} days`
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

/** A file of public keys the run copies: there, a regular file, and nobody but root may change it. */
export async function keysFileUsable(sys: System, path: string): Promise<AssertResult> {
  const st = await sys.stat(path)
  if (!st)
    return { ok: false, detail: `${path} does not exist`, hint: 'Fix sshKeysFile in the configuration' }
  if (st.kind !== 'file') return { ok: false, detail: `${path} is a ${st.kind}, not a file` }
  if (st.uid !== 0 || (st.mode & 0o022) !== 0)
    return {
      ok: false,
      detail: `${path} can be changed by others than root (owner uid ${st.uid}, mode ${st.mode.toString(8)})`,
      hint: `chown root ${path} && chmod go-w ${path}: whoever can write it can log in as the developer`,
    }
  return { ok: true, detail: `${path} (${st.size} bytes)` }
}

/** A file holding a secret the run reads (a password, a token): root's, and nobody else may read it. */
export async function secretFileUsable(sys: System, path: string, what: string): Promise<AssertResult> {
  const st = await sys.stat(path)
  if (!st)
    return {
      ok: false,
      detail: `${path} (${what}) does not exist`,
      hint: 'Fix the path in the configuration',
    }
  if (st.kind !== 'file') return { ok: false, detail: `${path} (${what}) is a ${st.kind}, not a file` }
  if (st.uid !== 0 || (st.mode & 0o077) !== 0)
    return {
      ok: false,
      detail: `${path} (${what}) is readable or writable by others than root (owner uid ${st.uid}, mode ${st.mode.toString(8)})`,
      hint: `chown root:root ${path} && chmod 600 ${path}`,
    }
  return { ok: true, detail: `${path}: root's, mode ${st.mode.toString(8)}` }
}
