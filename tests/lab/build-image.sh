#!/bin/bash
# Build a bootable Debian VM image for the sshdoctor lab.
#
# Usage: build-image.sh SUITE OUTDIR
#
# Produces in OUTDIR:
#   disk.img        raw ext4 root filesystem (no partition table, boots as /dev/vda)
#   vmlinuz         kernel copied out of the tree's /boot
#   initrd.img      initramfs copied out of the tree's /boot
#   id_ed25519(.pub) key pair whose public half is labuser's authorized key
#
# The harness (lab.py) caches OUTDIR keyed by a hash of this file, so any
# change to the recipe below produces a fresh image.  No loop mounts: the tree
# is built in a plain scratch directory and packed with `mkfs.ext4 -d`.
set -euo pipefail

SUITE=${1:?usage: build-image.sh SUITE OUTDIR}
OUTDIR=${2:?usage: build-image.sh SUITE OUTDIR}
MIRROR=${LAB_MIRROR:-http://deb.debian.org/debian}
IMAGE_SIZE=${LAB_IMAGE_SIZE:-2G}

PACKAGES=(
    systemd systemd-sysv dbus udev kmod
    openssh-server passwd sudo procps iproute2 nftables
    login            # /bin/login: essential in bookworm, not from trixie on
    iptables         # nft backend: the iptables-drop scenario
    linux-image-cloud-amd64 initramfs-tools
    socat            # plays the "something else owns port 22" listener
    less             # so a person at the console can page output
)

mkdir -p "$OUTDIR"

# The tree is built in a private scratch directory, not under OUTDIR: while
# mmdebstrap runs, the tree has /proc, /sys and /dev mounted, and anything
# walking the cache (a `cp -a target ...`, a `du`) must never wander into
# them.
WORK=$(mktemp -d /var/tmp/sshdoctor-lab-build.XXXXXX)
chmod 755 "$WORK"  # apt downloads as user _apt
TREE="$WORK/tree"
# --one-file-system: never delete through a mount, whatever happened.
trap 'rm -rf --one-file-system "$WORK"' EXIT

log() { echo "[build-image $(date +%H:%M:%S)] $*"; }

bootstrap() {
    log "bootstrapping $SUITE from $MIRROR"
    # The setup hooks ask for a small initrd that only has to find an ext4
    # root on virtio: MODULES=most builds and boots noticeably slower under
    # TCG.  --skip=cleanup/apt/cache keeps the downloaded .debs so the
    # package-removed scenario can reinstall openssh-server offline; all other
    # .debs are pruned in prune_tree.
    # A private mount namespace: the chroot's /proc, /sys and /dev mounts
    # are invisible to every other process and vanish with mmdebstrap, even
    # if it cannot unmount them itself.
    unshare --mount --propagation private \
    mmdebstrap --variant=apt --mode=root \
        --include="$(IFS=,; echo "${PACKAGES[*]}")" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --setup-hook="mkdir -p \"\$1/etc/initramfs-tools/conf.d\"" \
        --setup-hook="echo MODULES=list > \"\$1/etc/initramfs-tools/conf.d/lab.conf\"" \
        --setup-hook="printf '%s\n' virtio_pci virtio_blk ext4 > \"\$1/etc/initramfs-tools/modules\"" \
        --skip=cleanup/apt/cache \
        "$SUITE" "$TREE" "$MIRROR"
}

prune_tree() {
    local archives="$TREE/var/cache/apt/archives"
    find "$archives" -maxdepth 1 -name '*.deb' ! -name 'openssh-server_*' -delete
    ls "$archives"/openssh-server_*.deb >/dev/null  # fail loudly if it is missing
}

configure_system() {
    log "configuring"
    echo sshlab > "$TREE/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tsshlab\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
        > "$TREE/etc/hosts"
    # The sshdoctor disk is optional so the VM still boots without it.
    cat > "$TREE/etc/fstab" <<'FSTAB'
/dev/vda  /               ext4  rw,errors=remount-ro  0  0
/dev/vdb  /mnt/sshdoctor  ext4  ro,nofail,x-systemd.device-timeout=120s  0  0
FSTAB
    mkdir -p "$TREE/mnt/sshdoctor"

    # Root autologin on the serial console, like a person who has just opened
    # the Azure Serial Console and logged in.
    local getty="$TREE/etc/systemd/system/serial-getty@ttyS0.service.d"
    mkdir -p "$getty"
    cat > "$getty/autologin.conf" <<'GETTY'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
# The Azure Serial Console's size.  Given here, systemd (>= 257) does not
# probe the terminal for it with cursor-position queries (ESC[6n) nobody
# answers on this console.
TTYColumns=80
TTYRows=24
GETTY

    # QEMU's DHCP offers no router under restrict=on, but a real VM has a
    # default route and its absence is itself a finding, so set one.
    # restrict=on still drops anything addressed beyond the virtual LAN.
    cat > "$TREE/etc/systemd/network/20-lab.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=ipv4
Gateway=10.0.2.2
NET

    # A distinctive prompt and no bracketed-paste escapes around it, so the
    # transcript stays readable.
    cat >> "$TREE/root/.bashrc" <<'BASHRC'
PS1='root@sshlab:\w# '
bind 'set enable-bracketed-paste off' 2>/dev/null
BASHRC
}

configure_services() {
    chroot "$TREE" systemctl enable systemd-networkd.service ssh.service
    # Nothing in the lab needs these; under TCG they only steal CPU or delay
    # boot.
    chroot "$TREE" systemctl mask \
        systemd-networkd-wait-online.service \
        apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
        fstrim.timer e2scrub_all.timer e2scrub_reap.service \
        getty@tty1.service
}

add_lab_user() {
    local keyfile="$OUTDIR/id_ed25519"
    [ -f "$keyfile" ] || ssh-keygen -q -t ed25519 -N '' -C sshdoctor-lab -f "$keyfile"
    chroot "$TREE" useradd --create-home --shell /bin/bash labuser
    install -d -m 700 "$TREE/home/labuser/.ssh"
    install -m 600 "$keyfile.pub" "$TREE/home/labuser/.ssh/authorized_keys"
    chroot "$TREE" chown -R labuser:labuser /home/labuser/.ssh
}

export_boot_files() {
    cp "$(ls "$TREE"/boot/vmlinuz-* | sort -V | tail -n1)" "$OUTDIR/vmlinuz"
    cp "$(ls "$TREE"/boot/initrd.img-* | sort -V | tail -n1)" "$OUTDIR/initrd.img"
}

make_disk() {
    log "packing ext4 image"
    mkfs.ext4 -q -F -L labroot -d "$TREE" "$OUTDIR/disk.img" "$IMAGE_SIZE"
}

main() {
    local start=$SECONDS
    rm -f "$OUTDIR/disk.img"
    bootstrap
    prune_tree
    configure_system
    configure_services
    add_lab_user
    export_boot_files
    make_disk
    log "done in $((SECONDS - start))s"
}

main
