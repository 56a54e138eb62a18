// A dedicated self-signed certificate for xrdp, instead of the shared snakeoil pair: the key is
// readable by root and the xrdp group only. Generated once; its undo removes both files. Or the
// user's own pair (rdp.certificate, rdp.key), copied in place of it.

import { groupEntry } from '../facts/accounts.js'
import { EXIT, ProvisionError } from '../model/errors.js'
import { sha256 } from '../util/hash.js'
import { octal } from './common.js'
import { file } from './file.js'
import { allOf, lazy } from './lazy.js'
import type { Step } from './types.js'

export interface TlsCertificateArgs {
  id: string
  certPath: string
  keyPath: string
  /** Group that may read the key (xrdp). */
  group: string
  commonName: string
}

export function tlsCertificate(a: TlsCertificateArgs): Step {
  return {
    id: a.id,
    title: `TLS certificate ${a.certPath}`,
    async check(sys) {
      const [cert, key, grp] = await Promise.all([
        sys.stat(a.certPath),
        sys.stat(a.keyPath),
        groupEntry(sys, a.group),
      ])
      const keyOk = key?.kind === 'file' && key.uid === 0 && key.gid === grp?.gid && key.mode === 0o640
      const done = cert?.kind === 'file' && keyOk
      const observed = `cert ${cert ? 'present' : 'missing'}; key ${key ? `${octal(key.mode)} ${key.uid}:${key.gid}` : 'missing'}`
      return {
        done,
        observed,
        why: done ? undefined : `need ${a.certPath} and ${a.keyPath} (0640 root:${a.group})`,
      }
    },
    async apply(ctx) {
      const grp = await groupEntry(ctx.sys, a.group)
      if (!grp)
        throw new ProvisionError(
          `Unable to create ${a.keyPath}: group ${a.group} does not exist`,
          EXIT.provisioning,
        )
      await ctx.change(
        {
          actionType: 'FILE_CREATE',
          target: `${a.certPath} ${a.keyPath}`,
          undo: { kind: 'argv', argv: ['rm', '-f', '--', a.keyPath, a.certPath], allowFailure: true },
        },
        async () => {
          await ctx.sys.exec([
            'openssl',
            'req',
            '-x509',
            '-newkey',
            'rsa:3072',
            '-sha256',
            '-days',
            '3650',
            '-nodes',
            '-subj',
            `/CN=${a.commonName}`,
            '-keyout',
            a.keyPath,
            '-out',
            a.certPath,
          ])
          await ctx.sys.exec(['chown', `root:${a.group}`, a.keyPath])
          await ctx.sys.exec(['chmod', '0640', a.keyPath])
          await ctx.sys.exec(['chmod', '0644', a.certPath])
          const cert = await ctx.sys.readFile(a.certPath)
          const key = await ctx.sys.readFile(a.keyPath)
          return {
            files: { [a.certPath]: cert ? sha256(cert) : null, [a.keyPath]: key ? sha256(key) : null },
          }
        },
      )
    },
  }
}

export interface SuppliedCertificateArgs extends Omit<TlsCertificateArgs, 'commonName'> {
  /** The user's files (rdp.certificate, rdp.key), checked by preflight before any change. */
  from: { cert: string; key: string }
}

/**
 * The user's own certificate and key, copied to the paths xrdp.ini names: the certificate 0644,
 * the key 0640 root:group as a generated one. Each file is one journaled write whose undo puts
 * back what was there (a generated pair from an earlier run) or removes it.
 */
export function suppliedCertificate(a: SuppliedCertificateArgs): Step {
  return lazy(a.id, `TLS certificate ${a.certPath} from ${a.from.cert}`, async (sys) => {
    const [cert, key, grp] = await Promise.all([
      sys.readFile(a.from.cert),
      sys.readFile(a.from.key),
      groupEntry(sys, a.group),
    ])
    if (cert === null || key === null) return { waitingFor: `${a.from.cert} and ${a.from.key} to exist` }
    if (!grp) return { waitingFor: `group ${a.group} (created by the xrdp package)` }
    return allOf(a.id, `TLS certificate ${a.certPath}`, [
      file({ path: a.certPath, content: cert.toString('utf8'), mode: 0o644 }),
      file({ path: a.keyPath, content: key.toString('utf8'), mode: 0o640, gid: grp.gid, sensitive: true }),
    ])
  })
}
