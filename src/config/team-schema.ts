// The team workspace sections of the configuration: several developers, each with their own
// repositories, code-server (a browser IDE per developer) and Docker. All of it is opt-in: a file
// without these keys provisions the one-developer workstation it always did.
import { isIP } from 'node:net'
import { z } from 'zod'
import { SETTINGS } from './settings.js'

/** Shared with schema.ts: a full name as the GECOS field takes it. */
export const fullName = z
  .string()
  .max(100)
  .regex(/^[^:\n,]*$/, 'no colon, comma or newline')
  .nullable()
  .default(null)

/** Shared with schema.ts: every path the configuration names. */
export const absolutePath = z
  .string()
  .regex(/^\/[^\0\n]*$/, 'an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'no .. components')

/** A path inside the developer's home: relative, no `..`, no leading dot-directory tricks. */
const homePath = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/, "a path inside the developer's home, such as src/app")
  .refine((p) => !p.split('/').includes('..'), 'no .. components')

/**
 * https://, http://, ssh:// or scp-like user@host:path. Credentials in the URL are refused: they
 * would land in .git/config, the journal and `ps`. They belong in a 0600 file (`credentials`).
 */
const repoUrl = z
  .string()
  .max(2000)
  .refine(
    (u) =>
      /^(https?|ssh):\/\/[^\s/@]+(\/\S*)?$/.test(u) ||
      // ssh://git@host:port/path names the account to log in as: a user name, never a password.
      /^ssh:\/\/[A-Za-z0-9._-]+@[^\s/@:]+(:[0-9]+)?(\/\S*)?$/.test(u) ||
      /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+$/.test(u),
    'a git URL: https://host/path, ssh://git@host/path or git@host:path, with no user:password@ in it',
  )

export const RepoSchema = z.strictObject({
  url: repoUrl.describe('the repository to clone'),
  branch: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'a branch name')
    .nullable()
    .default(null)
    .describe("branch to check out (null: the remote's default branch)"),
  directory: homePath
    .nullable()
    .default(null)
    .describe("where in the developer's home (null: the URL's last part without .git)"),
  credentials: absolutePath
    .nullable()
    .default(null)
    .describe(
      'a root-owned 0600 file: an access token for https URLs, or a private deploy key for ssh URLs; never in the URL, the journal or a log',
    ),
  update: z
    .enum(['none', 'pull'])
    .default('none')
    .describe('on a re-run: none fetches nothing; pull fast-forwards a clean checkout'),
})

const sshKey = z
  .string()
  .regex(
    /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( [^\n]*)?$/,
    'an OpenSSH public key line (ssh-ed25519 AAAA… comment)',
  )

/** yescrypt ($y$, Debian 13's default) or sha512-crypt ($6$), as `mkpasswd` or `openssl passwd -6` print them. */
export const passwordHash = z
  .string()
  .regex(
    /^(\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{1,86}\$[./A-Za-z0-9]{43}|\$6\$(rounds=[0-9]{4,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86})$/,
    'a yescrypt ($y$…, `mkpasswd -m yescrypt`) or sha512-crypt ($6$…, `openssl passwd -6`) hash',
  )
  .nullable()
  .default(null)
  .describe(
    "the developer's password as a crypt hash, set on every run (null: a generated password, shown once or filed)",
  )
export const passwordFile = absolutePath
  .nullable()
  .default(null)
  .describe("a root-only (0600) file holding the developer's password on one line, set on every run")

export const DeveloperSchema = z
  .strictObject({
    name: SETTINGS.username.schema(z).unwrap().describe('the account name'),
    fullName: fullName.describe('full name (GECOS)'),
    sudo: z.boolean().default(true).describe('passwordless sudo (false: an ordinary account)'),
    sshKeys: z.array(sshKey).default([]).describe('public keys for ~/.ssh/authorized_keys'),
    sshKeysFile: absolutePath
      .nullable()
      .default(null)
      .describe('a file of public keys (one per line) for ~/.ssh/authorized_keys'),
    repos: z
      .array(RepoSchema)
      .max(50)
      .default([])
      .describe('repositories cloned into the home, as the developer'),
    passwordHash,
    passwordFile,
  })
  .refine((d) => d.passwordHash === null || d.passwordFile === null, 'passwordHash or passwordFile, not both')
export type Developer = z.infer<typeof DeveloperSchema>
export type Repo = z.infer<typeof RepoSchema>

export const UsersSchema = z
  .array(DeveloperSchema)
  .max(100)
  .default([])
  .refine((list) => new Set(list.map((u) => u.name)).size === list.length, 'each name once')
  .describe(
    'the developers, the first being the primary one (its password and summary as with username); empty: just `username`',
  )

const portRange = z
  .string()
  .regex(/^[1-9][0-9]{0,4}-[1-9][0-9]{0,4}$/, 'a range of TCP ports such as 8001-8100')
  .refine((r) => {
    const [lo = 0, hi = 0] = r.split('-').map(Number)
    return lo >= 1024 && hi <= 65535 && lo <= hi
  }, 'from 1024 to 65535, low-high')

export const CodeServerSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('a code-server (VS Code in the browser) for each developer'),
    ports: portRange
      .default('8001-8100')
      .describe('each developer gets the first free port of this range, kept on re-runs'),
    bindAddress: z
      .string()
      .refine((a) => isIP(a) !== 0, 'an IPv4 or IPv6 address')
      .default('127.0.0.1')
      .describe(
        'where code-server listens: loopback (reach it with the `ssh -L` line the summary prints), or another address with a certificate',
      ),
    certificate: absolutePath
      .nullable()
      .default(null)
      .describe('PEM certificate for HTTPS; needed when bindAddress is not loopback'),
    key: absolutePath.nullable().default(null).describe("code-server.certificate's PEM private key"),
  })
  .refine((c) => (c.certificate === null) === (c.key === null), 'certificate and key together, or neither')
  .refine(
    (c) => isLoopback(c.bindAddress) || c.certificate !== null,
    'a bindAddress off loopback needs certificate and key (the password would cross the network in clear)',
  )
  .prefault({})
  .describe('code-server, the browser IDE, one systemd service per developer (docs/workspaces.md)')

export const DockerSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Debian's docker.io and docker-compose, the developers in the docker group (root-equivalent)",
      ),
    volumes: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a Docker volume name'))
      .default([])
      .describe('named volumes to create, labelled as ours so rollback removes exactly these'),
    publishOnLoopback: z
      .boolean()
      .default(true)
      .describe(
        "published container ports bind to 127.0.0.1 unless a -p says otherwise (Docker bypasses ufw); false: Docker's default, every address",
      ),
  })
  .prefault({})
  .describe('the Docker engine (docs/workspaces.md)')

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.')
}
