#!/bin/bash
# Install the host tools the VM lab needs (idempotent: does nothing when
# they are all present).  Debian/Ubuntu hosts, run as root.
set -euo pipefail

# command -> Debian package providing it
declare -A NEEDED=(
    [qemu-system-x86_64]=qemu-system-x86
    [mmdebstrap]=mmdebstrap
    [mkfs.ext4]=e2fsprogs
    [ssh]=openssh-client
    [ssh-keygen]=openssh-client
    [python3]=python3
)

missing=()
for tool in "${!NEEDED[@]}"; do
    command -v "$tool" >/dev/null || missing+=("${NEEDED[$tool]}")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
