// The differences a manifest comparison may ignore, each with the reason it hides nothing the tool
// should have done or undone. Shared by the scenarios (docs/e2e.md has the table).
import { createHash } from 'node:crypto'
import { accountId, type Exclusion, type Manifest, type ManifestDiff } from './manifest.js'

export const DEV_USER = 'devuser'

const NETBASE_HOSTS = createHash('sha256')
  .update(
    '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n\n',
  )
  .digest('hex')

/** A system account (id < 1000) that exists only after: made by a maintainer script or sysusers. */
function addedSystemAccount(d: ManifestDiff, _before: Manifest, after: Manifest): boolean {
  if (d.section !== 'accounts' || d.before !== null) return false
  const [kind, name = ''] = d.key.split(':')
  const id = accountId(after, kind === 'passwd' || kind === 'shadow' ? 'passwd' : 'group', name)
  return id !== null && id < 1000 && name !== DEV_USER
}

/**
 * What may differ between the baseline and the machine after rollback, and why that hides nothing
 * the tool should have undone. Each is as narrow as the evidence: everything else must be equal,
 * the installed packages exactly (the packages section has no exclusion).
 */
export const ROLLBACK_EXCLUSIONS: Exclusion[] = [
  {
    match: addedSystemAccount,
    why: "system users and groups (id < 1000: polkitd, ssl-cert, and systemd's sysusers groups clock, input, kvm, render, sgx) that the purged packages' maintainer scripts created: Debian's purge leaves system accounts by policy (files may still carry their ids), and so does a rollback that purges exactly those packages",
  },
  {
    pattern: /^etc:\/etc\/(passwd|group|shadow|gshadow)$/,
    why: 'compared line by line in the accounts section instead (whole passwd and group lines, members included; a hash of each shadow line), where only the system accounts above may differ',
  },
  {
    pattern: /^etc:\/etc\/(passwd|group|shadow|gshadow|subuid|subgid)-$/,
    why: "the previous version that shadow's tools (useradd, userdel, groupadd) keep of each file on every change; nothing reads them",
  },
  {
    match: (d) => d.key === '/etc/hosts' && d.before === null && d.after === `f 0644 0:0 ${NETBASE_HOSTS}`,
    why: "netbase's postinst writes the standard localhost lines when /etc/hosts is missing; its postrm deletes the file only if the md5 matches a value its own postinst does not produce (netbase 6.5), so Debian's purge leaves it. The content is asserted to be exactly netbase's",
  },
  {
    match: (d) => d.key === '/etc/xml' && d.before === null && d.after === 'd 0755 0:0',
    why: "an empty directory (anything in it would show as its own difference) that xml-core's maintainer scripts create; dpkg removes only directories a package shipped",
  },
]

/** A shadow entry ("SHA256 lastchg=DAY", see Manifest.accounts) without its day. */
const withoutDay = (v: string) => v.replace(/ lastchg=\d*$/, '')

/** Same path, type, mode and owner on both sides; only the content hash may differ. */
function contentMayDiffer(paths: RegExp, why: string): Exclusion {
  const meta = (v: string) => v.replace(/ [0-9a-f]{64}$/, '')
  return {
    match: (d) =>
      (d.section === 'etc' || d.section === 'keyrings') &&
      paths.test(d.key) &&
      d.before !== null &&
      d.after !== null &&
      meta(d.before) === meta(d.after),
    why,
  }
}

/**
 * Two machines provisioned from the same baseline differ only in what is generated per machine
 * (the developer's password, TLS and RDP keys, ssl-cert's snakeoil pair) and in what the harness
 * makes per world (the proxy's address and port in URLs, the throwaway stand-in signing key, the
 * machine name).
 */
export const PROVISIONED_EXCLUSIONS: Exclusion[] = [
  {
    pattern: new RegExp(`^accounts:shadow:${DEV_USER}$`),
    why: "the developer's password: 20 random characters, a random salt",
  },
  {
    match: (d) =>
      d.section === 'accounts' &&
      d.key.startsWith('shadow:') &&
      d.before !== null &&
      d.after !== null &&
      withoutDay(d.before) === withoutDay(d.after),
    why: "the day (since 1970, UTC) on which an account's password was last set, which useradd stamps on each account the run creates (xrdp, polkitd): two machines provisioned on different days differ in it, the rest of the line must be equal",
  },
  contentMayDiffer(
    /^\/etc\/(shadow|shadow-)$/,
    'they hold that password hash; compared line by line in the accounts section',
  ),
  contentMayDiffer(
    /^\/etc\/(xrdp\/vps-provision-(cert|key)\.pem|xrdp\/rsakeys\.ini|ssl\/certs\/ssl-cert-snakeoil\.pem|ssl\/private\/ssl-cert-snakeoil\.key)$/,
    'keys and certificates generated on each machine (ours, xrdp-keygen, make-ssl-cert)',
  ),
  contentMayDiffer(
    /^\/etc\/(hostname|vps-provision\/config\.yaml|apt\/sources\.list\.d\/(debian|vscode|antigravity)\.sources)$/,
    "the machine name and the proxy's address and port, chosen per world by the harness",
  ),
  contentMayDiffer(
    /^\/(usr\/share\/keyrings\/microsoft|etc\/apt\/keyrings\/antigravity-repo-key)\.gpg$/,
    'the stand-in repository is signed with a throwaway key made per world',
  ),
  {
    match: (d) =>
      d.section === 'etc' &&
      /^\/etc\/ssl\/certs\/[0-9a-f]{8}\.0$/.test(d.key) &&
      [d.before, d.after].every((v) => v === null || v === 'l 0777 0:0 -> ssl-cert-snakeoil.pem'),
    why: "the OpenSSL hash link to the snakeoil certificate: its name is a hash of the certificate's subject, which names the machine",
  },
]
