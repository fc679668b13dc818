#!/usr/bin/env bash
# Installs the Debian packages that the named groups of tests need (tests/packages),
# only those missing. Idempotent, so `make test` calls it every time; CI and a fresh
# machine get the same set.
#   tests/install-deps.sh [test] [delivery] [lab]     (default: test)
set -euo pipefail
list="$(dirname "$0")/packages"
groups=("${@:-test}")

packages=()
for group in "${groups[@]}"; do
  mapfile -t -O "${#packages[@]}" packages < <(awk -v g="$group" '$1 == g { print $2 }' "$list")
done
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
  # The tests start firewalld and the like in their own namespaces; the host's must not
  # start on installation (invoke-rc.d and deb-systemd-invoke ask policy-rc.d).
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
