// The configuration, one strict zod schema. Unknown keys are errors, and every field says what it
// allows, because docs/configuration.md is generated from these descriptions. The settings a flag
// or a variable can also set take their schema from settings.ts.
import { isIP } from 'node:net'
import { z } from 'zod'
import type { IdeId } from '../model/names.js'
import { DEFAULT_USERNAME, SETTINGS } from './settings.js'
import {
  absolutePath,
  CodeServerSchema,
  DockerSchema,
  fullName,
  passwordFile,
  passwordHash,
  UsersSchema,
} from './team-schema.js'

export type { IdeId }

const url = z.url({ protocol: /^https?$/ })
const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a sha256 as 64 lowercase hex digits')
  .nullable()

const aptRepo = z.strictObject({
  uri: url.describe('apt repository URI'),
  suite: z
    .string()
    .regex(/^[A-Za-z0-9._/-]+$/)
    .describe('suite (e.g. stable)'),
  components: z
    .array(z.string().regex(/^[A-Za-z0-9._-]+$/))
    .min(1)
    .describe('components (e.g. main)'),
  key: url.describe('URL of the repository signing key (ASCII-armored or binary)'),
})

/** The architectures a download can be for: Debian's names, as `dpkg --print-architecture` says. */
export const ARCHITECTURES = ['amd64', 'arm64'] as const
export type Architecture = (typeof ARCHITECTURES)[number]

/** One URL for every architecture, or one per architecture (null: the vendor builds none). */
const archUrl = z.union([
  url,
  z.strictObject({ amd64: url.nullable().default(null), arm64: url.nullable().default(null) }),
])
const archSha256 = z.union([
  sha256,
  z.strictObject({ amd64: sha256.default(null), arm64: sha256.default(null) }),
])
const version = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.+~:_-]*$/, 'a version such as 1.95.3-1731513102')
  .nullable()
const probe = z
  .boolean()
  .default(true)
  .describe('check in preflight that the source answers (false: behind a proxy that blocks HEAD)')
const versionNote =
  'exact version to install (apt: package=version; downloads: fills {version} in the URL); null: the newest'

export const ConfigSchema = z
  .strictObject({
    username: SETTINGS.username.schema(z),
    fullName: fullName.describe('full name (GECOS) of the developer account'),
    passwordHash: passwordHash.describe(
      `${passwordHash.description} (for \`username\`; in \`users:\`, each developer's own)`,
    ),
    passwordFile: passwordFile.describe(
      `${passwordFile.description} (for \`username\`; in \`users:\`, each developer's own)`,
    ),
    users: UsersSchema,
    reuseUser: SETTINGS.reuseUser.schema(z),
    expirePassword: SETTINGS.expirePassword.schema(z),
    ides: SETTINGS.ides.schema(z),
    only: SETTINGS.only.schema(z),
    skip: SETTINGS.skip.schema(z),
    upgrade: SETTINGS.upgrade.schema(z),
    sound: SETTINGS.sound.schema(z),
    rdp: z
      .strictObject({
        port: SETTINGS.rdpPort.schema(z),
        firewall: SETTINGS.rdpFirewall.schema(z),
        certificate: absolutePath
          .nullable()
          .default(null)
          .describe(
            'a PEM certificate of your own for xrdp, installed instead of a generated one (give rdp.key too, or neither); preflight checks it parses, is in date and matches the key',
          ),
        key: absolutePath
          .nullable()
          .default(null)
          .describe("rdp.certificate's unencrypted PEM private key (installed 0640 root:xrdp)"),
      })
      .refine(
        (r) => (r.certificate === null) === (r.key === null),
        'rdp.certificate and rdp.key together, or neither',
      )
      .prefault({})
      .describe('the remote desktop (xrdp)'),
    ssh: z
      .strictObject({
        disableRootLogin: z
          .boolean()
          .default(false)
          .describe("PermitRootLogin no, only once the developer user has root's keys and sudo works"),
        disablePasswordAuth: z.boolean().default(false).describe('PasswordAuthentication no'),
        confirmTimeoutSeconds: SETTINGS.sshConfirmTimeout.schema(z),
      })
      .prefault({})
      .describe('sshd settings, written to /etc/ssh/sshd_config.d/00-vps-provision.conf'),
    fail2ban: z
      .strictObject({
        enabled: SETTINGS.fail2ban.schema(z),
        maxretry: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(5)
          .describe('failed logins from one address within 10 minutes that get it banned'),
        bantime: z
          .string()
          .regex(
            /^(-1|[1-9][0-9]{0,8}[smhdw]?)$/,
            'seconds, or a number with s, m, h, d or w (10m, 1h, 1d); -1: for ever',
          )
          .default('1h')
          .describe('how long a banned address stays banned'),
        ignoreip: z
          .array(
            z
              .string()
              .refine(
                isAddressOrNetwork,
                'an IPv4 or IPv6 address, or a network in CIDR form (203.0.113.0/24)',
              ),
          )
          .default([])
          .describe('addresses and networks never banned, besides 127.0.0.1/8 and ::1 (your office, a VPN)'),
      })
      .prefault({})
      .describe('brute-force protection: fail2ban bans an address after failed SSH or RDP logins'),
    codeServer: CodeServerSchema,
    docker: DockerSchema,
    firewall: z.boolean().default(true).describe('enable ufw with SSH (and RDP unless tunnel) allowed'),
    updates: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("unattended-upgrades installing Debian's security updates (trixie-security) only, daily"),
        autoReboot: z
          .string()
          .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a time of day as HH:MM (24-hour clock)')
          .nullable()
          .default(null)
          .describe(
            'HH:MM: reboot at that time when an installed update needs a reboot; null: never reboot automatically',
          ),
      })
      .prefault({})
      .describe('automatic security updates (see docs/phases.md, system-prep)'),
    metrics: z
      .strictObject({
        nodeExporter: z
          .boolean()
          .default(false)
          .describe(
            "install Debian's prometheus-node-exporter (listens on :9100); with or without it, when /var/lib/prometheus/node-exporter exists each run and verify write their outcome there as *.prom files",
          ),
      })
      .prefault({})
      .describe(
        "Prometheus metrics through node-exporter's textfile collector (docs/cli.md, Health and metrics)",
      ),
    swap: z
      .strictObject({
        size: z
          .union([
            z.literal('auto'),
            z.literal(0),
            z.string().regex(/^[1-9][0-9]{0,5}[MG]$/, 'a size in MiB or GiB such as 512M or 2G'),
          ])
          .default('auto')
          .describe(
            'auto: a 2 GiB /swapfile when RAM is below 4 GiB and no swap is active; a size (512M, 2G) makes that one whatever the RAM; 0: never make swap',
          ),
      })
      .prefault({})
      .describe('a swap file on machines with little memory (see docs/phases.md, system-prep)'),
    aptLockTimeoutSeconds: z
      .number()
      .int()
      .min(0)
      .max(86400)
      .default(600)
      .describe(
        'seconds each apt-get call waits for the dpkg lock (unattended-upgrades, cloud-init) before failing and naming the holder',
      ),
    aptMirror: url
      .nullable()
      .default(null)
      .describe('Debian mirror to check in preflight (default: from apt sources)'),
    sources: z
      .strictObject({
        vscode: z
          .strictObject({
            ...aptRepo.shape,
            uri: aptRepo.shape.uri.default('https://packages.microsoft.com/repos/code'),
            suite: aptRepo.shape.suite.default('stable'),
            components: aptRepo.shape.components.default(['main']),
            key: aptRepo.shape.key.default('https://packages.microsoft.com/keys/microsoft.asc'),
            version: version.default(null).describe(versionNote),
            probe,
          })
          .prefault({})
          .describe("VS Code's signed apt repository (amd64, arm64)"),
        cursor: z
          .strictObject({
            method: z
              .enum(['deb', 'apt'])
              .default('deb')
              .describe("the vendor's .deb download, or its apt repository (see docs/ides.md)"),
            url: archUrl
              .default({
                amd64: 'https://api2.cursor.sh/updates/download/golden/linux-x64-deb/cursor/{version}',
                arm64: 'https://api2.cursor.sh/updates/download/golden/linux-arm64-deb/cursor/{version}',
              })
              .describe('the .deb download URL, per architecture; {version} becomes version, or latest'),
            sha256: archSha256.default(null).describe('expected sha256 of the .deb (null: not pinned)'),
            apt: aptRepo
              .prefault({
                uri: 'https://downloads.cursor.com/aptrepo',
                suite: 'stable',
                components: ['main'],
                key: 'https://downloads.cursor.com/keys/anysphere.asc',
              })
              .describe("Cursor's apt repository for the apt method (give all four keys to replace it)"),
            version: version.default(null).describe(versionNote),
            probe,
          })
          .prefault({})
          .describe('where Cursor comes from'),
        antigravity: z
          .strictObject({
            method: z
              .enum(['tarball', 'apt', 'appimage'])
              .default('tarball')
              .describe(
                "the vendor's tarball of the Antigravity IDE, its older apt repository, or an AppImage",
              ),
            tarball: z
              .strictObject({
                url: archUrl
                  .default({
                    amd64:
                      'https://edgedl.me.gvt1.com/edgedl/release2/j0qc3/antigravity/stable/{version}/linux-x64/Antigravity%20IDE.tar.gz',
                    arm64:
                      'https://edgedl.me.gvt1.com/edgedl/release2/j0qc3/antigravity/stable/{version}/linux-arm/Antigravity%20IDE.tar.gz',
                  })
                  .describe('the .tar.gz download URL, per architecture; {version} becomes version'),
                sha256: archSha256
                  .default(null)
                  .describe('expected sha256 of the tarball (null: not pinned)'),
                binary: z
                  .string()
                  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/)
                  .refine((p) => !p.split('/').includes('..'), 'no .. components')
                  .default('antigravity-ide')
                  .describe("the editor's executable inside the tarball's top directory"),
              })
              .prefault({})
              .describe(
                'the tarball method: unpacked under /opt/antigravity, linked as /usr/local/bin/antigravity',
              ),
            apt: aptRepo
              .prefault({
                uri: 'https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/',
                suite: 'antigravity-debian',
                components: ['main'],
                key: 'https://us-central1-apt.pkg.dev/doc/repo-signing-key.gpg',
              })
              .describe("Antigravity's apt repository for the apt method (give all four keys to replace it)"),
            appimageUrl: url
              .nullable()
              .default(null)
              .describe('AppImage download URL for the appimage method'),
            sha256: sha256.default(null).describe('expected sha256 of the AppImage'),
            version: version
              .default('2.5.5-4923483625488384')
              .describe(`${versionNote}; the tarball URLs name a version, so it has one by default`),
            probe,
          })
          .prefault({})
          .describe('where Antigravity comes from'),
        codeServer: z
          .strictObject({
            url: archUrl
              .default({
                amd64:
                  'https://github.com/coder/code-server/releases/download/v{version}/code-server_{version}_amd64.deb',
                arm64:
                  'https://github.com/coder/code-server/releases/download/v{version}/code-server_{version}_arm64.deb',
              })
              .describe("the vendor's .deb download URL, per architecture; {version} becomes version"),
            sha256: archSha256.default(null).describe('expected sha256 of the .deb (null: not pinned)'),
            version: version
              .default('4.138.0')
              .describe(`${versionNote}; the release URLs name a version, so it has one by default`),
            probe,
          })
          .prefault({})
          .describe('where code-server comes from (codeServer.enabled; docs/workspaces.md)'),
      })
      .prefault({})
      .describe("where the IDEs come from; the defaults are the vendors' own (docs/ides.md)"),
    skipProbe: SETTINGS.skipProbe.schema(z),
  })
  .superRefine((c, ctx) => {
    if (c.passwordHash !== null && c.passwordFile !== null)
      ctx.addIssue({
        code: 'custom',
        path: ['passwordFile'],
        message: 'passwordHash or passwordFile, not both',
      })
    if (c.users.length > 0 && (c.passwordHash !== null || c.passwordFile !== null))
      ctx.addIssue({
        code: 'custom',
        path: [c.passwordHash !== null ? 'passwordHash' : 'passwordFile'],
        message: "with users:, give each developer's password in their own entry",
      })
    const first = c.users[0]
    if (first && c.username !== DEFAULT_USERNAME && c.username !== first.name)
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: `username (${c.username}) and users (first: ${first.name}) name different developers: give users alone`,
      })
  })
  // `username` stays the primary developer's name everywhere, so a `users:` list sets it.
  .overwrite((c) => ({ ...c, username: c.users[0]?.name ?? c.username }))

/** An address or a CIDR network, as fail2ban's ignoreip takes them (no host names: no DNS at ban time). */
export function isAddressOrNetwork(text: string): boolean {
  const [addr = '', bits, ...rest] = text.split('/')
  const family = isIP(addr)
  if (family === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

export type Config = z.infer<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

export function defaultConfig(): Config {
  return ConfigSchema.parse({})
}
