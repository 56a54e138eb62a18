// Can the developer get in and act as root: the account with its groups, SSH keys, passwordless
// sudo. Judged as verdicts, because user-creation proves them before it hardens SSH and
// verification proves them again at the end.
import type { System } from '../system/port.js'
import { groupsOf, passwdEntry } from './accounts.js'
import type { AssertResult } from './verdict.js'

export async function passwordlessSudo(sys: System, username: string): Promise<AssertResult> {
  const r = await sys.exec(['runuser', '-u', username, '--', 'sudo', '-n', 'true'], { allowFailure: true })
  return {
    ok: r.exitCode === 0,
    detail: r.exitCode === 0 ? 'sudo -n true succeeded' : `sudo -n true failed: ${r.stderr.trim()}`,
    hint: `Check /etc/sudoers.d/vps-provision-${username}`,
  }
}

export async function hasSshKeys(sys: System, username: string): Promise<AssertResult> {
  const home = (await passwdEntry(sys, username))?.home ?? `/home/${username}`
  const keys = (await sys.readFile(`${home}/.ssh/authorized_keys`))?.toString('utf8') ?? ''
  return {
    ok: keys.trim() !== '',
    detail: keys.trim() ? 'authorized_keys present' : `no keys in ${home}/.ssh/authorized_keys`,
    hint: 'Add your public key to root (or the user) first, or leave ssh.disableRootLogin off',
  }
}

export async function inGroups(
  sys: System,
  username: string,
  wanted: readonly string[],
): Promise<AssertResult> {
  const hint = 'vps-provision run --only user-creation'
  if (!(await passwdEntry(sys, username))) return { ok: false, detail: `${username} does not exist`, hint }
  const groups = new Set(await groupsOf(sys, username))
  const lacking = wanted.filter((g) => !groups.has(g))
  return {
    ok: lacking.length === 0,
    detail: lacking.length ? `missing groups: ${lacking.join(', ')}` : 'all groups',
    hint,
  }
}
