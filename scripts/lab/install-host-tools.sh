#!/usr/bin/env bash
# Installs the host tools the test lab (test/lab/) needs, on a Debian host, as root. Idempotent:
# does nothing (and needs no network) when everything is there already. Run it from .ci/run
# before the integration tests: a new machine does not have debootstrap.
#   debootstrap            builds the cached trixie root
#   debian-archive-keyring lets debootstrap verify trixie's Release file
#   gnupg                  gpg/gpgconf: the stand-in repository's throwaway signing key
#   apt-utils              apt-ftparchive: Packages and Release of the stand-in repository
#   desktop-file-utils     desktop-file-validate for the stand-ins' .desktop files
#   xz-utils               dpkg-deb -Zxz
set -euo pipefail

pkgs=(debootstrap debian-archive-keyring gnupg apt-utils desktop-file-utils xz-utils)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-host-tools: must run as root (the lab's chroot tests need root anyway)" >&2
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-host-tools: all present (${pkgs[*]})"
  exit 0
fi

echo "install-host-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
