// The configuration, one strict zod schema. Unknown keys are errors, and every field says what it
// allows, because docs/configuration.md is generated from these descriptions. The settings a flag
// or a variable can also set take their schema from settings.ts.
import { z } from 'zod'
import type { IdeId } from '../model/names.js'
import { SETTINGS } from './settings.js'

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

export const ConfigSchema = z.strictObject({
  username: SETTINGS.username.schema(z),
  fullName: z
    .string()
    .max(100)
    .regex(/^[^:\n,]*$/, 'no colon, comma or newline')
    .nullable()
    .default(null)
    .describe('full name (GECOS) of the developer account'),
  reuseUser: SETTINGS.reuseUser.schema(z),
  expirePassword: SETTINGS.expirePassword.schema(z),
  ides: SETTINGS.ides.schema(z),
  only: SETTINGS.only.schema(z),
  skip: SETTINGS.skip.schema(z),
  upgrade: SETTINGS.upgrade.schema(z),
  rdp: z
    .strictObject({ port: SETTINGS.rdpPort.schema(z), firewall: SETTINGS.rdpFirewall.schema(z) })
    .prefault({})
    .describe('the remote desktop (xrdp)'),
  ssh: z
    .strictObject({
      disableRootLogin: z
        .boolean()
        .default(false)
        .describe("PermitRootLogin no, only once the developer user has root's keys and sudo works"),
      disablePasswordAuth: z.boolean().default(false).describe('PasswordAuthentication no'),
    })
    .prefault({})
    .describe('sshd settings, written to /etc/ssh/sshd_config.d/00-vps-provision.conf'),
  firewall: z.boolean().default(true).describe('enable ufw with SSH (and RDP unless tunnel) allowed'),
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
      vscode: aptRepo
        .prefault({
          uri: 'https://packages.microsoft.com/repos/code',
          suite: 'stable',
          components: ['main'],
          key: 'https://packages.microsoft.com/keys/microsoft.asc',
        })
        .describe("VS Code's apt repository (give all four keys to replace it)"),
      cursor: z
        .strictObject({
          url: url
            .default('https://api2.cursor.sh/updates/download/golden/linux-x64-deb/cursor/latest')
            .describe('Cursor .deb download URL'),
          sha256: sha256.default(null).describe('expected sha256 of the .deb (null: not pinned)'),
        })
        .prefault({})
        .describe('where the Cursor .deb comes from (Cursor has no apt repository)'),
      antigravity: z
        .strictObject({
          method: z.enum(['apt', 'appimage']).default('apt').describe('apt repository, or AppImage fallback'),
          apt: aptRepo
            .prefault({
              uri: 'https://us-central1-apt.pkg.dev/projects/antigravity-auto-updater-dev/',
              suite: 'antigravity-debian',
              components: ['main'],
              key: 'https://us-central1-apt.pkg.dev/doc/repo-signing-key.gpg',
            })
            .describe("Antigravity's apt repository for the apt method (give all four keys to replace it)"),
          appimageUrl: url.nullable().default(null).describe('AppImage download URL for the appimage method'),
          sha256: sha256.default(null).describe('expected sha256 of the AppImage'),
        })
        .prefault({})
        .describe('where Antigravity comes from'),
    })
    .prefault({})
    .describe("where the IDEs come from; the defaults are the vendors' own"),
})

export type Config = z.infer<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

export function defaultConfig(): Config {
  return ConfigSchema.parse({})
}
