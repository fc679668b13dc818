#!/usr/bin/env bash
# Installs what the tests need on a Debian machine, only what is missing. Idempotent, so
# `make test` can call it every time; CI and a fresh machine get the same set.
set -euo pipefail

packages=(openssh-server openssh-client dbus iproute2 nftables iptables python3 procps tmux)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
