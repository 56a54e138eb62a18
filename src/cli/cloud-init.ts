// `vps-provision cloud-init`: prints #cloud-config user-data that, on a new server's first boot,
// installs nodejs, downloads vps-provision, writes its configuration and starts the run. The run
// is started as its own systemd unit ordered after cloud-final.service, not inside runcmd: its
// preflight waits for `cloud-init status --wait`, which never returns while runcmd is still running.
// program.ts loads this module only for this command: it pulls in the YAML parser and the schema.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { stringify } from 'yaml'
import { parseConfigText, readConfigFile, validateConfig } from '../config/load.js'
import { defaultConfig } from '../config/schema.js'
import { DEFAULT_CONFIG_FILE } from '../config/settings.js'
import { usageError } from '../model/errors.js'
import type { CliContext } from './deps.js'

export interface CloudInitFlags {
  config?: string
  fromDeb?: string
  fromBundle?: string
  sha256?: string
}

export interface CloudInitInput {
  version: string
  source: { kind: 'deb' | 'bundle'; url: string }
  sha256: string | null
  /** The configuration file's text, already validated, and where it came from. */
  config: {
    text: string
    from: string
    username: string
    rdpPort: number
    tunnel: boolean
    /** The password comes from the configuration (passwordHash or passwordFile), not generated. */
    passwordGiven?: boolean
  } | null
}

import { FIRST_BOOT_LOG, FIRST_BOOT_UNIT, FIRST_BOOT_WAIT_COMMAND } from './first-boot-names.js'

export { FIRST_BOOT_LOG, FIRST_BOOT_UNIT }
export const FIRST_BOOT_SCRIPT = '/usr/local/sbin/vps-provision-first-boot'
export const CREDENTIALS_FILE = '/root/vps-provision-credentials'
export const FIRST_BOOT_UNIT_FILE = `/etc/systemd/system/${FIRST_BOOT_UNIT}.service`
/** AWS EC2 refuses larger user data; most other providers allow 64 KiB. */
export const USER_DATA_LIMIT = 16 * 1024

const WHAT = 'Unable to write the cloud-init user-data'

/** One shell word, single-quoted: the URL and hash end up in a root shell script. */
export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

export function checkSource(flags: CloudInitFlags): {
  source: CloudInitInput['source']
  sha256: string | null
} {
  const sha256 = flags.sha256?.trim().toLowerCase() || null
  if (sha256 !== null && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw usageError(
      `${WHAT}: --sha256 expects 64 hex digits, got ${JSON.stringify(flags.sha256)}`,
      'Take it from: sha256sum dist/vps-provision.mjs',
    )
  }
  const given = flags.fromDeb ?? flags.fromBundle
  if (given === undefined) {
    throw usageError(
      `${WHAT}: no download URL for vps-provision (there is no public release to default to)`,
      'Put dist/vps-provision.mjs (npm run build) or the .deb (npm run package) where the new server can ' +
        'download it, then pass --from-bundle URL or --from-deb URL (see docs/cloud-init.md)',
    )
  }
  let url: URL
  try {
    url = new URL(given)
  } catch {
    throw usageError(`${WHAT}: ${JSON.stringify(given)} is not a URL`, 'Give a full https:// URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw usageError(`${WHAT}: ${given} is not an http(s) URL`, 'Give a full https:// URL')
  }
  // Root runs whatever arrives: over plain http only a pinned hash makes that safe.
  if (url.protocol === 'http:' && sha256 === null) {
    throw usageError(
      `${WHAT}: ${given} is plain http and no --sha256 pins what it serves`,
      'Use an https:// URL, or add --sha256 with the output of sha256sum for that file',
    )
  }
  return { source: { kind: flags.fromDeb !== undefined ? 'deb' : 'bundle', url: url.href }, sha256 }
}

/** Reads and validates --config exactly as `run` would, and keeps its text (comments included). */
export async function readEmbeddedConfig(path: string): Promise<NonNullable<CloudInitInput['config']>> {
  // The same checks as run: a small regular file, not world-writable, valid YAML or JSON.
  await readConfigFile(path, true)
  const raw = await readFile(path, 'utf8')
  const cfg = validateConfig([parseConfigText(raw, path)])
  const text = raw.endsWith('\n') ? raw : `${raw}\n`
  return {
    text,
    // Only the name: the user-data should not carry paths from the machine that generated it.
    from: basename(path),
    username: cfg.username,
    rdpPort: cfg.rdp.port,
    tunnel: cfg.rdp.firewall === 'tunnel',
    passwordGiven: (cfg.users[0] ?? cfg).passwordHash !== null || (cfg.users[0] ?? cfg).passwordFile !== null,
  }
}

/**
 * The run as a unit file. Ordered after cloud-final.service (the run's preflight waits for
 * cloud-init to finish) and wanted by cloud-init.target, which cloud-init's generator enables at
 * every boot: multi-user.target would be a cycle, as cloud-final.service is After=multi-user.target.
 * It is started again at each boot until a run exits 0; then ExecStartPost deletes the unit file
 * and its link, so later boots start nothing.
 */
export function firstBootUnit(run: readonly string[]): string {
  const link = `/etc/systemd/system/cloud-init.target.wants/${FIRST_BOOT_UNIT}.service`
  return `[Unit]
Description=vps-provision first-boot run (again at each boot until it succeeds)
Wants=network-online.target
After=network-online.target cloud-final.service

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
Environment=HOME=/root
StandardOutput=append:${FIRST_BOOT_LOG}
StandardError=append:${FIRST_BOOT_LOG}
ExecStart=${run.join(' ')}
ExecStartPost=/bin/rm -f ${FIRST_BOOT_UNIT_FILE} ${link}

[Install]
WantedBy=cloud-init.target
`
}

export function firstBootScript(input: CloudInitInput): string {
  const deb = input.source.kind === 'deb'
  const run = [deb ? '/usr/bin/vps-provision' : '/usr/local/bin/vps-provision', 'run', '--yes', '--plain']
  if (input.config) run.push('--config', DEFAULT_CONFIG_FILE)
  const install = deb
    ? [
        // apt-get takes a local package only by a path ending in .deb.
        'mv "$work/download" "$work/vps-provision.deb" && chmod 0644 "$work/vps-provision.deb"',
        '[ "$(dpkg-deb --field "$work/vps-provision.deb" Package 2>/dev/null)" = vps-provision ] ||',
        '  fail "use $URL: it is not the vps-provision .deb"',
        'apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$work/vps-provision.deb" ||',
        '  fail "install the vps-provision package from $URL (apt-get exit $?)"',
      ]
    : [
        'head -n 1 "$work/download" | grep -q "^#!.*node" ||',
        '  fail "use $URL: it is not the vps-provision bundle (no #! line naming node)"',
        'install -m 0755 "$work/download" /usr/local/bin/vps-provision',
      ]
  return `#!/bin/sh
# Written by \`vps-provision cloud-init\` ${input.version}; cloud-init runs it once, from runcmd.
# It installs vps-provision, then starts the run as the systemd unit
# ${FIRST_BOOT_UNIT}, ordered after cloud-final.service: the run waits for
# cloud-init to finish, so it cannot run inside it. The unit runs again after a
# reboot until the run succeeded, then deletes itself.
set -eu
URL=${shellQuote(input.source.url)}
SHA256=${shellQuote(input.sha256 ?? '')}
LOG=${FIRST_BOOT_LOG}
export DEBIAN_FRONTEND=noninteractive
say() { printf '%s vps-provision-first-boot: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | tee -a "$LOG" >&2; }
fail() { say "Unable to $*"; say "To try again, as root: ${FIRST_BOOT_SCRIPT}"; exit 1; }

work=$(mktemp -d /var/tmp/vps-provision-first-boot.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
say "downloading vps-provision from $URL"
curl --fail --silent --show-error --location --retry 5 --retry-delay 5 --retry-connrefused \\
  --connect-timeout 30 --max-time 900 -o "$work/download" "$URL" ||
  fail "download vps-provision from $URL (curl exit $?)"
if [ -n "$SHA256" ]; then
  echo "$SHA256  $work/download" | sha256sum --check --status - ||
    fail "use $URL: its sha256 is $(sha256sum "$work/download" | cut -d ' ' -f 1), expected $SHA256"
fi
${install.join('\n')}
${run[0]} --version >/dev/null 2>&1 || fail "start ${run[0]}: it needs nodejs 20.19 or newer"
say "starting: ${run.join(' ')} (systemd unit ${FIRST_BOOT_UNIT}, output in $LOG)"
# A unit file, not a transient unit: a reboot or a reset in the middle of the run starts it again
# at the next boot (the run resumes), and it deletes itself once a run succeeded.
cat > ${FIRST_BOOT_UNIT_FILE}.tmp <<'UNIT'
${firstBootUnit(run).trimEnd()}
UNIT
mv -f ${FIRST_BOOT_UNIT_FILE}.tmp ${FIRST_BOOT_UNIT_FILE}
# A unit left failed by an earlier attempt would block the start; a running or finished one must.
systemctl reset-failed ${FIRST_BOOT_UNIT} >/dev/null 2>&1 || true
systemctl enable ${FIRST_BOOT_UNIT}.service >/dev/null 2>&1 ||
  fail "enable the ${FIRST_BOOT_UNIT} unit (systemctl exit $?)"
systemctl start --no-block ${FIRST_BOOT_UNIT}.service ||
  fail "start the ${FIRST_BOOT_UNIT} unit (systemctl exit $?)"
`
}

export function cloudInitUserData(input: CloudInitInput, stringify: (v: unknown) => string): string {
  const cfg = input.config
  const defaults = defaultConfig()
  const user = cfg?.username ?? defaults.username
  const port = cfg?.rdpPort ?? defaults.rdp.port
  const header = [
    '#cloud-config',
    `# vps-provision ${input.version}: first-boot user-data for a Debian 13 (trixie) server.`,
    '# Paste it into the provider\'s "user data" (cloud-init) field when you create the server.',
    '# On first boot cloud-init installs nodejs and curl, downloads vps-provision from',
    `#   ${input.source.url}`,
    cfg ? `# writes the configuration from ${cfg.from} to ${DEFAULT_CONFIG_FILE},` : null,
    `# and, once cloud-init has finished, runs \`vps-provision run --yes --plain\` as the`,
    `# systemd unit ${FIRST_BOOT_UNIT}. Follow it over SSH (as root, or with sudo):`,
    `#   tail -f ${FIRST_BOOT_LOG}`,
    `#   systemctl is-active ${FIRST_BOOT_UNIT}   # activating, then active (done) or failed`,
    "# Or wait for it (a script, Terraform): this returns once the run ended, with the run's exit code:",
    `#   ${FIRST_BOOT_WAIT_COMMAND}`,
    `# Then connect with RDP to <server>:${port}${cfg?.tunnel ? ' through an SSH tunnel' : ''} as ${user}; the password`,
    cfg?.passwordGiven
      ? '# is the one the configuration gives (passwordHash or passwordFile).'
      : `# is in ${CREDENTIALS_FILE} (root only), never in a log.`,
  ].filter((l) => l !== null)
  const writeFiles: Record<string, string>[] = []
  if (cfg)
    writeFiles.push({ path: DEFAULT_CONFIG_FILE, owner: 'root:root', permissions: '0600', content: cfg.text })
  writeFiles.push({
    path: FIRST_BOOT_SCRIPT,
    owner: 'root:root',
    permissions: '0700',
    content: firstBootScript(input),
  })
  const body = {
    package_update: true,
    packages: ['nodejs', 'curl', 'ca-certificates'],
    write_files: writeFiles,
    runcmd: [[FIRST_BOOT_SCRIPT]],
  }
  return `${header.join('\n')}\n${stringify(body)}`
}

export async function cloudInitCommand(ctx: CliContext, flags: CloudInitFlags): Promise<void> {
  const { source, sha256 } = checkSource(flags)
  const config = flags.config ? await readEmbeddedConfig(flags.config) : null
  // YAML 1.1 quoting: cloud-init reads user-data with PyYAML, where yes, on and 0600 are not text.
  const text = cloudInitUserData({ version: ctx.deps.version ?? '0.0.0', source, sha256, config }, (v) =>
    stringify(v, { version: '1.1', lineWidth: 0 }),
  )
  ctx.out.write(text)
  const bytes = Buffer.byteLength(text)
  if (bytes > USER_DATA_LIMIT) {
    ctx.err.line(
      `warning: the user-data is ${bytes} bytes; AWS EC2 accepts at most ${USER_DATA_LIMIT} (most others 64 KiB)`,
    )
  }
}
