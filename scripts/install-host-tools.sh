#!/usr/bin/env bash
# Installs every host tool the tests need, on a Debian host, as root: the one script that every
# message names. Idempotent: does nothing (and needs no network) when everything is there already.
#   debootstrap, debian-archive-keyring  the cached trixie roots (test/lab)
#   gnupg, gpg-agent, apt-utils,         the signed stand-in IDE repository (test/lab/stand-ins.ts):
#   dpkg-dev, xz-utils                   a throwaway key, apt-ftparchive, dpkg-deb -Zxz
#   gcc, libc6-dev                       the stand-in IDEs' native ELF launcher (a tiny C program)
#   file                                 the lab test checks what the stand-ins' ELF binaries are
#   desktop-file-utils                   desktop-file-validate for the stand-ins' .desktop files
#   ca-certificates                      HTTPS to the Debian mirror from the host
#   lintian, groff-base                  the package test: the .deb and its manual page
#   systemd-container                    systemd-nspawn, which boots the e2e containers
#   util-linux, iproute2, procps         nsenter, ip, pgrep
#   freerdp2-x11 (or freerdp3-x11)       the RDP client
#   xvfb, x11-utils, imagemagick         a virtual screen for it, xdpyinfo, and screenshots
#   xclip                                the host's side of the clipboard (test/e2e/rdp-session.test.ts)
#   qemu-system-x86, qemu-utils,         the VM backend (scenarios B, C and D's VM halves): qemu,
#   cloud-image-utils, openssh-client    qemu-img, cloud-localds, and ssh into the VM
#   git                                  the repositories tests: the host's git and git http-backend
#                                        serve the bare repositories (test/integration/repos.test.ts)
#   ansible-core, ansible-lint           the Ansible collection (ansible/): its three-container test
#                                        (test/e2e/fleet-ansible.test.ts) and its lint
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-host-tools: must run as root" >&2
  exit 1
fi

pkgs=(debootstrap debian-archive-keyring gnupg gpg-agent apt-utils dpkg-dev xz-utils gcc libc6-dev file desktop-file-utils
  ca-certificates lintian groff-base systemd-container util-linux iproute2 procps xvfb x11-utils imagemagick xclip
  qemu-system-x86 qemu-utils cloud-image-utils openssh-client git ansible-core ansible-lint)

export DEBIAN_FRONTEND=noninteractive
updated=no
update_once() {
  if [[ $updated == no ]]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    updated=yes
  fi
}

# Debian 12 ships FreeRDP 2, Debian 13 FreeRDP 3: take whichever this host's apt knows.
if ! command -v xfreerdp >/dev/null && ! command -v xfreerdp3 >/dev/null; then
  update_once
  if apt-cache show freerdp3-x11 >/dev/null 2>&1; then pkgs+=(freerdp3-x11); else pkgs+=(freerdp2-x11); fi
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-host-tools: all present"
  exit 0
fi
echo "install-host-tools: installing ${missing[*]}"
update_once
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
