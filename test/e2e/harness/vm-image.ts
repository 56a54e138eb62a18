// The VM backend's disk: the same kind of debootstrapped trixie root as the containers boot, plus
// a kernel, udev, DHCP and cloud-init (what a provider's image has), turned into a qcow2 base
// image with `mkfs.ext4 -d` (no loop device, no mount) and cached under
// /var/tmp/vps-provision-lab/vm/. Each scenario boots a fresh qcow2 overlay on it, so the base is
// never written. The kernel and initrd are copied out of the root's /boot: qemu boots them with
// -kernel/-initrd (no boot loader in the image).
//
// Harness-only parts of the image, each needed to reach the VM without touching the host:
//  - apt sources point at http://10.0.2.100/debian, the guestfwd address qemu.ts forwards to the
//    harness's apt proxy on the host's 127.0.0.1 (restrict=on: the guest reaches nothing else);
//  - e2e-harness-key.service appends the SSH key qemu passes with -fw_cfg to root's
//    authorized_keys before sshd starts: one key per run without rebuilding the image;
//  - /etc/network/interfaces brings eth0 up with DHCP (net.ifnames=0 on the kernel command line);
//  - cloud-init keeps the image's apt sources and network setup, as a provider's image config does.
//  - with `warmAptCache`, apt's archive cache (/var/cache/apt/archives) holds the lab's .deb cache
//    (the files the container scenarios fetched), since under TCG the guest downloads through slirp
//    at about 300 kB/s. It saves less than that suggests (system-prep 534 s against 601 s): the
//    emulated CPU is the cost. apt still resolves, checks each cached file's size and hash against
//    the live index, and downloads what is missing or different; nothing the tool manages or the
//    manifests compare is under it.
import { createHash, randomBytes } from 'node:crypto'
import { chmod, copyFile, mkdir, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { run } from '../../lab/proc.js'
import {
  acquireLock,
  cloneRoot,
  DEFAULT_CACHE_DIR,
  ensureTrixieRoot,
  hostDebianMirror,
  removeRoot,
} from '../../lab/trixie-root.js'
import { DPKG_FORMAT } from './manifest.js'
import { E2E_INCLUDE } from './world.js'

/** A provider's cloud image: E2E_INCLUDE plus a kernel, udev, DHCP and cloud-init. */
export const VM_INCLUDE: readonly string[] = [
  ...E2E_INCLUDE,
  'linux-image-amd64',
  'udev',
  'ifupdown',
  'isc-dhcp-client',
  'cloud-init',
  // debootstrap does not resolve virtual packages: python3-cryptography (cloud-init) depends on
  // python3-cffi-backend-api-min/max, which only python3-cffi-backend provides.
  'python3-cffi-backend',
  'e2fsprogs',
]

/** The guest address of the harness's HTTP proxy (a qemu guestfwd). */
export const GUEST_PROXY_HOST = '10.0.2.100'
export const GUEST_PROXY_URL = `http://${GUEST_PROXY_HOST}`
/** fw_cfg name of the per-run SSH public key. */
export const FW_CFG_KEY = 'opt/e2e/authorized_keys'

/** Bump when the customisation below changes: the cached image is then rebuilt. */
const IMAGE_FORMAT = 1

/** The lab's .deb cache (apt-proxy.ts fills it, keyed by pool path). */
const POOL_CACHE = path.join(DEFAULT_CACHE_DIR, 'e2e-pool-cache')

export interface VmImage {
  /** qcow2 base image; never written (overlays use it as their backing file). */
  base: string
  kernel: string
  initrd: string
  diskGb: number
}

/** The provider-style root's key (world.ts has the same): user creation copies root's keys. */
const ROOT_AUTHORIZED_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKdjSfJfx259JxdDY3EpfFthBxPSmg3looaEiIwOPQtL e2e-root@host\n'

const KEY_SCRIPT = `#!/bin/sh
# e2e harness only: the SSH key of this run, passed by qemu with -fw_cfg ${FW_CFG_KEY}.
set -eu
modprobe qemu_fw_cfg 2>/dev/null || true
src=/sys/firmware/qemu_fw_cfg/by_name/${FW_CFG_KEY}/raw
[ -r "$src" ] || exit 0
install -d -m 0700 /root/.ssh
touch /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
key=$(cat "$src")
grep -qxF "$key" /root/.ssh/authorized_keys || printf '%s\\n' "$key" >> /root/.ssh/authorized_keys
`

const KEY_UNIT = `[Unit]
Description=e2e harness: this run's SSH key from fw_cfg
Before=ssh.service
DefaultDependencies=no
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/e2e-harness-key

[Install]
WantedBy=multi-user.target
`

/** Files written into the clone before mkfs: path -> [content, mode]. */
function imageFiles(): Record<string, [string, number]> {
  return {
    'etc/hostname': ['vps-e2e\n', 0o644],
    'etc/hosts': [
      '127.0.0.1\tlocalhost\n127.0.1.1\tvps-e2e\n::1\tlocalhost ip6-localhost ip6-loopback\n',
      0o644,
    ],
    'etc/fstab': ['LABEL=root / ext4 defaults,errors=remount-ro 0 1\n', 0o644],
    'etc/network/interfaces': [
      'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n',
      0o644,
    ],
    'etc/apt/sources.list.d/debian.sources': [
      [
        'Types: deb',
        `URIs: ${GUEST_PROXY_URL}/debian`,
        'Suites: trixie',
        'Components: main',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        '',
      ].join('\n'),
      0o644,
    ],
    'etc/cloud/cloud.cfg.d/90-e2e-image.cfg': [
      '# The image decides apt sources and networking (as a provider image does).\napt:\n  preserve_sources_list: true\nnetwork:\n  config: disabled\ndatasource_list: [NoCloud, None]\n',
      0o644,
    ],
    'root/.ssh/authorized_keys': [ROOT_AUTHORIZED_KEY, 0o600],
    'usr/local/sbin/e2e-harness-key': [KEY_SCRIPT, 0o755],
    'etc/systemd/system/e2e-harness-key.service': [KEY_UNIT, 0o644],
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  )
}

/**
 * The cached base image for a disk of `diskGb` GB (virtual size; the qcow2 holds only what the
 * root uses), building it when missing: root (lab cache) -> clone -> customise -> mkfs.ext4 -d
 * into a sparse raw file -> qemu-img convert to qcow2. Built under a lock, renamed into place.
 */
export async function ensureVmImage(
  opts: { diskGb?: number; warmAptCache?: boolean; log?: (line: string) => void } = {},
): Promise<VmImage> {
  const log = opts.log ?? (() => {})
  const diskGb = opts.diskGb ?? 12
  const mirror = await hostDebianMirror()
  const pristine = await ensureTrixieRoot({ include: VM_INCLUDE, mirror, log, timeoutMs: 30 * 60_000 })
  const debs = opts.warmAptCache ? await cachedDebs() : []
  const key = createHash('sha256')
    .update(JSON.stringify({ IMAGE_FORMAT, pristine, files: imageFiles(), diskGb, debs }))
    .digest('hex')
    .slice(0, 12)
  const dir = path.join(DEFAULT_CACHE_DIR, 'vm', `trixie-${diskGb}g-${key}`)
  const image: VmImage = {
    base: path.join(dir, 'base.qcow2'),
    kernel: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'initrd.img'),
    diskGb,
  }
  if (await exists(path.join(dir, 'complete'))) return image
  await mkdir(path.dirname(dir), { recursive: true })
  const release = await acquireLock(`${dir}.lock`, 20 * 60_000)
  try {
    if (await exists(path.join(dir, 'complete'))) return image
    await buildImage(pristine, dir, diskGb, debs, log)
    return image
  } finally {
    await release()
  }
}

/** Every .deb of the lab's cache as [path in the cache, size], sorted: part of the image's key. */
async function cachedDebs(): Promise<[string, number][]> {
  const files = await readdir(POOL_CACHE, { recursive: true }).catch(() => [] as string[])
  const debs: [string, number][] = []
  for (const rel of files.filter((f) => f.endsWith('.deb')).sort()) {
    debs.push([rel, (await stat(path.join(POOL_CACHE, rel))).size])
  }
  return debs
}

async function buildImage(
  pristine: string,
  dir: string,
  diskGb: number,
  debs: readonly [string, number][],
  log: (l: string) => void,
) {
  const tmp = `${dir}.build-${process.pid}-${randomBytes(3).toString('hex')}`
  const root = path.join(tmp, 'root')
  const started = Date.now()
  await mkdir(tmp, { recursive: true })
  try {
    await cloneRoot(pristine, root)
    await rm(path.join(root, 'etc/apt/sources.list'), { force: true })
    for (const [rel, [content, mode]] of Object.entries(imageFiles())) {
      const p = path.join(root, rel)
      await mkdir(path.dirname(p), { recursive: true })
      await rm(p, { force: true })
      await writeFile(p, content)
      await chmod(p, mode)
    }
    await chmod(path.join(root, 'root/.ssh'), 0o700)
    // apt names a cached archive NAME_VERSION_ARCH.deb, as the pool does (but for an epoch, which
    // apt writes as %3a and the pool leaves out: those few are downloaded again).
    for (const [rel] of debs) {
      await copyFile(
        path.join(POOL_CACHE, rel),
        path.join(root, 'var/cache/apt/archives', path.basename(rel)),
      )
    }
    if (debs.length > 0) log(`image: ${debs.length} cached .debs in apt's archive cache`)
    const wants = path.join(root, 'etc/systemd/system/multi-user.target.wants')
    await mkdir(wants, { recursive: true })
    await symlink('/etc/systemd/system/e2e-harness-key.service', path.join(wants, 'e2e-harness-key.service'))
    const boot = await readdir(path.join(root, 'boot'))
    const vmlinuz = boot.find((n) => n.startsWith('vmlinuz-'))
    const initrd = boot.find((n) => n.startsWith('initrd.img-'))
    if (!vmlinuz || !initrd) throw new Error(`no kernel or initrd in ${root}/boot: ${boot.join(' ')}`)
    await copyFile(path.join(root, 'boot', vmlinuz), path.join(tmp, 'vmlinuz'))
    await copyFile(path.join(root, 'boot', initrd), path.join(tmp, 'initrd.img'))
    const raw = path.join(tmp, 'disk.raw')
    await run(['truncate', '-s', `${diskGb}G`, raw], { timeoutMs: 30_000 })
    await run(['mkfs.ext4', '-q', '-F', '-L', 'root', '-d', root, raw], { timeoutMs: 10 * 60_000 })
    await run(['qemu-img', 'convert', '-O', 'qcow2', raw, path.join(tmp, 'base.qcow2')], {
      timeoutMs: 10 * 60_000,
    })
    await rm(raw, { force: true })
    await removeRoot(root)
    await writeFile(path.join(tmp, 'complete'), `${new Date().toISOString()} ${vmlinuz} ${initrd}\n`)
    if (await exists(dir)) await rm(dir, { recursive: true, force: true })
    await rename(tmp, dir)
    log(`built VM image ${dir} (${diskGb} GB) in ${Date.now() - started} ms`)
  } finally {
    if (await exists(root)) await removeRoot(root)
    if (await exists(tmp)) await rm(tmp, { recursive: true, force: true })
  }
}

/**
 * The image's packages, as the manifest's packages section has them (`name:arch` -> `version
 * status`), read on the host from the root the image was built from (the image adds no package).
 */
export async function imagePackages(): Promise<Record<string, string>> {
  const mirror = await hostDebianMirror()
  const pristine = await ensureTrixieRoot({ include: VM_INCLUDE, mirror, timeoutMs: 30 * 60_000 })
  const r = await run(
    ['dpkg-query', `--admindir=${path.join(pristine, 'var/lib/dpkg')}`, '-W', `-f=${DPKG_FORMAT}`],
    { timeoutMs: 60_000 },
  )
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [pkg, ...rest] = l.split(' ')
        return [pkg as string, rest.join(' ')]
      }),
  )
}

/** A fresh qcow2 overlay on the base: the scenario's disk, thrown away afterwards. */
export async function createOverlay(image: VmImage, overlay: string): Promise<void> {
  await mkdir(path.dirname(overlay), { recursive: true })
  await rm(overlay, { force: true })
  await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.base, overlay], {
    timeoutMs: 60_000,
  })
}
