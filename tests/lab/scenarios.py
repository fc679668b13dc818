"""The lab's scenarios: how to break SSH, what sshdoctor must say about it,
what a real ssh client experiences, and how to put things back.

Commands run as root at the guest's serial console (multi-line scripts are
fine).  `access` maps a guest port to the ground-truth outcomes accepted on
its loopback forward (see ground_truth.py for the outcome names).
"""

from dataclasses import dataclass, field, replace

# Debian suites the lab has an image recipe for (build-image.sh SUITE).
SUITES = ("bookworm", "trixie")

EXIT_CODE_FOR_STATUS = {"healthy": 0, "warning": 1, "critical": 2, "unknown": 3}

# The read-only tools disk in the guest: the binary and the .deb.
GUEST_TOOLS_DIR = "/mnt/sshdoctor"
GUEST_BINARY = f"{GUEST_TOOLS_DIR}/sshdoctor"
# Makes the guest emulate Ubuntu 24.04's SSH layout ("install") and puts Debian's back
# ("remove"): tests/lab/emulations/ubuntu-24.04-socket.
UBUNTU_SOCKET = f"{GUEST_TOOLS_DIR}/emulations/ubuntu-24.04-socket/emulate"
# The same for RHEL 9's sshd.service with /etc/sysconfig/sshd: rhel-9-sysconfig.
RHEL_SYSCONFIG = f"{GUEST_TOOLS_DIR}/emulations/rhel-9-sysconfig/emulate"
# The same for SUSE's vendor config in /usr/etc/ssh: suse-vendor-config.
SUSE_VENDOR = f"{GUEST_TOOLS_DIR}/emulations/suse-vendor-config/emulate"
# The guest is not on Azure, so sshdoctor should not ask a metadata service;
# should it try, the endpoint is the guest's own loopback, and restrict=on
# keeps anything from leaving.
IMDS_ENV = "SSHDOCTOR_IMDS_ENDPOINT=http://127.0.0.1:9"

HEALTHY = ("healthy",)
CRITICAL = ("critical",)
WARNING = ("warning",)

BACKUP_CONFIG = "cp -n /etc/ssh/sshd_config /root/sshd_config.lab-orig"
RESTORE_CONFIG = "cp /root/sshd_config.lab-orig /etc/ssh/sshd_config\nsystemctl restart ssh"

# Fill the root filesystem completely (root's reserved blocks too).
# fallocate only writes metadata, so this is quick and the VM's snapshot
# overlay stays small.
FILL_ROOT = """size=$(stat -f -c '%f * %S' / | xargs expr)
n=0
while [ "$size" -ge 4096 ]; do
    if fallocate -l "$size" /var/tmp/lab-fill.$n 2>/dev/null; then
        n=$((n + 1))
    else
        rm -f /var/tmp/lab-fill.$n
        size=$((size / 2))
    fi
done
df -h /"""


@dataclass(frozen=True)
class Scenario:
    name: str
    expect_ids: tuple[str, ...]
    expect_status: tuple[str, ...]
    access: dict[int, tuple[str, ...]]
    break_cmds: str = ""
    restore_cmds: str = ""
    needs_reboot: bool = False
    # Try the ssh login(s) before running sshdoctor, for breaks that only
    # show in the log once a client has been turned away.
    login_first: bool = False
    # suite -> why this scenario does not apply to that suite's image.
    skip: dict[str, str] = field(default_factory=dict)
    # A known sshdoctor bug this scenario exposes: while it fails, it is
    # reported as XFAIL with this reason instead of failing the run (XPASS
    # once fixed: then drop the note).
    known_issue: str = ""
    # suite -> fields that differ on that suite's image (another OpenSSH
    # behaves differently), e.g. {"trixie": {"access": {22: ("success",)}}}.
    per_suite: dict[str, dict] = field(default_factory=dict)
    # Seconds the break commands may take at the console.
    break_timeout: float = 120
    # Run after the diagnosis; a non-zero exit is a problem of the scenario (for what
    # neither the verdict nor the login shows, such as sshd penalising a source).
    check_cmds: str = ""
    # After the ground truth, run the first guest command of the verdict's finding for
    # expect_ids[0], as printed, and require labuser's login to work (then restore
    # anyway): the advice is tested on a real systemd and sshd.
    verdict_fixes: bool = False
    # What `sshdoctor fix --apply` must do where the finding has repair actions:
    # "applied" (then `undo` must put the break back), or "rolled_back" where the repair
    # would cut off how labuser comes in, and the check after it must put it back.
    fix_outcome: str = "applied"
    # Whether `undo` brings the break back: not where the repair replaced a hung
    # process (undo restarts sshd; it cannot make it hang again).
    undo_breaks_again: bool = True
    # The scenario this one must run right after, on the same VM, when both are selected:
    # for a check of what an earlier scenario left behind. The lab's VMs otherwise take
    # scenarios in any order.
    follows: str = ""
    # "ssh": break, diagnose, ground truth, restore (lab.run_scenario).
    # "deb": the package step (deb_install.py); expect_status is then the boot verdict's.
    kind: str = "ssh"

    def for_suite(self, suite: str) -> "Scenario":
        return replace(self, per_suite={}, **self.per_suite.get(suite, {}))


SCENARIOS = [
    Scenario(
        name="baseline",
        # Shows that the package step left the VM healthy and without the package.
        follows="deb-install",
        expect_ids=(),
        expect_status=HEALTHY,
        access={22: ("success",)},
    ),
    Scenario(
        name="sshd-stopped",
        verdict_fixes=True,
        break_cmds="systemctl stop ssh",
        expect_ids=("SSH-SVC-005",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="systemctl start ssh",
    ),
    Scenario(
        # Debian's way to turn sshd off: ssh.service's ConditionPathExists=! skips the
        # start while the file exists, and `systemctl start ssh` succeeds all the same.
        name="not-to-be-run",
        verdict_fixes=True,
        break_cmds="touch /etc/ssh/sshd_not_to_be_run\nsystemctl stop ssh\nsystemctl start ssh",
        expect_ids=("SSH-SVC-018",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="rm -f /etc/ssh/sshd_not_to_be_run\nsystemctl start ssh",
    ),
    Scenario(
        # D-Bus down, systemd fine: systemctl still works for root (systemd's private
        # socket), and so must the verdict and its fix.
        name="dbus-down-sshd-stopped",
        verdict_fixes=True,
        break_cmds="systemctl stop dbus.socket dbus.service\nsystemctl stop ssh",
        expect_ids=("SSH-SVC-005",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        check_cmds=f"{IMDS_ENV} {GUEST_BINARY} --format json --no-probe | grep -q '\"reachable\": true'",
        # logind and networkd do not register on the new bus by themselves (networkctl
        # would wait for networkd's name until D-Bus gives up): both are restarted.
        restore_cmds="systemctl start dbus.socket dbus.service\n"
                     "systemctl restart systemd-logind systemd-networkd\nsystemctl start ssh",
    ),
    Scenario(
        name="disabled-rebooted",
        break_cmds="systemctl disable ssh",
        needs_reboot=True,
        expect_ids=("SSH-SVC-003", "SSH-SVC-005"),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="systemctl enable --now ssh",
    ),
    Scenario(
        name="unit-masked",
        break_cmds="systemctl mask ssh\nsystemctl stop ssh",
        expect_ids=("SSH-SVC-002",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="systemctl unmask ssh\nsystemctl enable --now ssh",
    ),
    Scenario(
        name="config-syntax-error",
        verdict_fixes=True,
        break_cmds=f"{BACKUP_CONFIG}\necho 'Bogus yes' >> /etc/ssh/sshd_config\nsystemctl restart ssh",
        expect_ids=("SSH-CFG-001", "SSH-SVC-004"),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds=RESTORE_CONFIG,
    ),
    Scenario(
        name="port-changed",
        break_cmds=f"{BACKUP_CONFIG}\nsed -i '1i Port 2222' /etc/ssh/sshd_config\nsystemctl restart ssh",
        expect_ids=("SSH-NET-004",),
        expect_status=WARNING,
        access={22: ("refused",), 2222: ("success",)},
        restore_cmds=RESTORE_CONFIG,
    ),
    Scenario(
        name="listen-loopback-only",
        verdict_fixes=True,
        break_cmds=f"{BACKUP_CONFIG}\nsed -i '1i ListenAddress 127.0.0.1' /etc/ssh/sshd_config\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-NET-002",),
        expect_status=CRITICAL,
        access={22: ("refused", "timeout")},
        restore_cmds=RESTORE_CONFIG,
    ),
    Scenario(
        name="listen-absent-address",
        verdict_fixes=True,
        # No interface has this address, so sshd cannot bind and exits.
        # Nothing is ever sent to it: the guest's network is restricted.
        break_cmds=f"{BACKUP_CONFIG}\nsed -i '1i ListenAddress 10.99.99.99' /etc/ssh/sshd_config\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-NET-003", "SSH-SVC-004"),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds=RESTORE_CONFIG,
    ),
    Scenario(
        name="port-taken",
        verdict_fixes=True,
        # A dual-stack listener takes both 0.0.0.0:22 and [::]:22, so sshd
        # can bind nothing and fails; clients meet a non-SSH answer.
        break_cmds="""systemctl stop ssh
setsid socat TCP6-LISTEN:22,ipv6only=0,reuseaddr,fork SYSTEM:'echo HTTP/1.0 400 Bad Request' \
    </dev/null >/dev/null 2>&1 &
echo $! > /run/lab-socat.pid
for i in $(seq 50); do ss -Hltn 'sport = :22' | grep -q . && break; sleep 0.2; done
systemctl start ssh""",
        expect_ids=("SSH-NET-006",),
        expect_status=CRITICAL,
        access={22: ("not-ssh",)},
        restore_cmds="kill $(cat /run/lab-socat.pid)\nsystemctl reset-failed ssh\nsystemctl restart ssh",
    ),
    Scenario(
        name="firewall-drop",
        verdict_fixes=True,
        break_cmds="""nft add table inet labfw
nft add chain inet labfw input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet labfw input tcp dport 22 drop""",
        expect_ids=("SSH-FWL-001",),  # nftables drops new connections to 22
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="nft delete table inet labfw",
    ),
    Scenario(
        name="client-banned",
        verdict_fixes=True,
        # The lab's client (10.0.2.2, qemu's host side), which logged in during the
        # earlier scenarios, banned by a blocklist set as fail2ban's nftables action
        # keeps one: the port stays open to everyone else, so only a packet from the
        # client's own address shows the ban. The fix accepts that address first.
        break_cmds="""nft add table inet labban
nft add set inet labban blocked '{ type ipv4_addr; }'
nft add element inet labban blocked '{ 10.0.2.2 }'
nft add chain inet labban input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet labban input ip saddr @blocked drop""",
        expect_ids=("SSH-FWL-007",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="nft delete table inet labban",
    ),
    Scenario(
        name="conntrack-full",
        # A rule that needs connection state makes the kernel track connections; eight
        # loopback connections then stay tracked for an hour (assured, so the kernel
        # cannot evict them early), and a table of four has no room for a client's SYN.
        # Each reads sshd's banner before it closes, so it ends with FINs in TIME_WAIT;
        # one closed with the banner unread ends with a RST, in CLOSE, whose timeout is
        # raised too, or the table would empty in 10 s.
        break_cmds="""nft add table inet labct
nft add chain inet labct input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet labct input ct state new counter
cat /proc/sys/net/netfilter/nf_conntrack_max > /run/lab-ct-max
sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=3600
sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=3600
for i in 1 2 3 4 5 6 7 8; do exec 3<>/dev/tcp/127.0.0.1/22; read -r -t 5 banner <&3; exec 3>&-; done
sleep 1
sysctl -qw net.netfilter.nf_conntrack_max=4""",
        expect_ids=("SSH-HST-006",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="""sysctl -qw net.netfilter.nf_conntrack_max=$(cat /run/lab-ct-max)
sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=120
sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=10
nft delete table inet labct""",
    ),
    Scenario(
        name="dropin-port",
        # Debian's sshd_config starts with Include sshd_config.d/*.conf.
        break_cmds="echo 'Port 2222' > /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
        expect_ids=("SSH-NET-004",),
        expect_status=WARNING,
        access={22: ("refused",), 2222: ("success",)},
        restore_cmds="rm /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
    ),
    Scenario(
        name="vmaccess-reset",
        # What Azure's "Reset SSH configuration" leaves: a default sshd_config without
        # the Include, the replaced file kept in VMAccess's backup, and the admin's
        # drop-in (Port 2222) no longer read.
        break_cmds=f"""{BACKUP_CONFIG}
mkdir -p /var/cache/vmaccess && cp /etc/ssh/sshd_config /var/cache/vmaccess/backup
echo 'Port 2222' > /etc/ssh/sshd_config.d/50-lab.conf
sed -i '/^Include/d' /etc/ssh/sshd_config
systemctl restart ssh""",
        expect_ids=("SSH-CFG-005",),
        expect_status=WARNING,
        access={22: ("success",), 2222: ("refused",)},
        # The Include back would move sshd to 2222, away from the port labuser uses.
        fix_outcome="rolled_back",
        restore_cmds=f"rm -rf /var/cache/vmaccess /etc/ssh/sshd_config.d/50-lab.conf\n{RESTORE_CONFIG}",
    ),
    Scenario(
        name="socket-activation",
        break_cmds="""systemctl disable --now ssh.service
mkdir -p /etc/systemd/system/ssh.socket.d
printf '[Socket]\\nListenStream=\\nListenStream=2222\\n' > /etc/systemd/system/ssh.socket.d/50-lab.conf
systemctl daemon-reload
systemctl enable --now ssh.socket""",
        # Nothing listens on 22 any more, so the port warning is right.
        expect_ids=("SSH-SVC-007", "SSH-NET-004"),
        expect_status=WARNING,
        access={22: ("refused",), 2222: ("success",)},
        # Debian's ssh.socket has Accept=no: the first connection starts
        # ssh.service on the inherited socket, so it must be restarted.
        # Stop that sshd before re-enabling ssh.service: on trixie (systemd
        # 257) `systemctl enable` would otherwise leave ssh.service
        # "inactive" with the socket-activated sshd still running on 2222;
        # restart then starts a second sshd beside it, and PID 1 aborts
        # (service.c "Code should not be reached") when the orphan exits.
        restore_cmds="""systemctl disable --now ssh.socket
systemctl stop ssh.service
rm -r /etc/systemd/system/ssh.socket.d
systemctl daemon-reload
systemctl enable ssh.service
systemctl restart ssh.service""",
    ),
    Scenario(
        # Emulated Ubuntu 24.04 layout (ssh.socket as Ubuntu ships it, enabled, and an
        # sshd-socket-generator of ours that behaves as Ubuntu's): an /etc override
        # resets ListenStream to a bare 2222, which the unit's BindIPv6Only=ipv6-only
        # makes IPv6 only, so neither port answers over IPv4. The printed fix comments
        # the override out; the generator's (none, sshd_config being the default)
        # leaves ssh.socket on 22 again.
        name="ubuntu-socket-override",
        verdict_fixes=True,
        break_cmds=f"""{UBUNTU_SOCKET} install
mkdir -p /etc/systemd/system/ssh.socket.d
printf '[Socket]\\nListenStream=\\nListenStream=2222\\n' > /etc/systemd/system/ssh.socket.d/override.conf
systemctl daemon-reload
systemctl restart ssh.socket""",
        expect_ids=("SSH-SVC-011", "SSH-SVC-007", "SSH-NET-004"),
        expect_status=CRITICAL,
        access={22: ("refused",), 2222: ("refused",)},
        restore_cmds=f"{UBUNTU_SOCKET} remove",
    ),
    Scenario(
        # Emulated Ubuntu 24.04 layout: Port 2222 added to sshd_config without a
        # daemon-reload. ssh.socket still listens on 22 until the generator runs again.
        name="ubuntu-socket-port-pending",
        break_cmds=f"""{UBUNTU_SOCKET} install
echo 'Port 2222' > /etc/ssh/sshd_config.d/50-lab.conf""",
        expect_ids=("SSH-SVC-010", "SSH-SVC-007"),
        expect_status=WARNING,
        access={22: ("success",), 2222: ("refused",)},
        restore_cmds=f"""rm /etc/ssh/sshd_config.d/50-lab.conf
{UBUNTU_SOCKET} remove""",
    ),
    Scenario(
        # Emulated RHEL 9 layout (sshd.service reading $OPTIONS from
        # /etc/sysconfig/sshd): an option there that sshd_config does not show keeps
        # labuser out. The printed fix (an AllowUsers drop-in, which sshd adds to the
        # list) lets labuser in.
        name="rhel-sysconfig-options",
        verdict_fixes=True,
        break_cmds=f"""{RHEL_SYSCONFIG} install
echo 'OPTIONS="-o AllowUsers=root"' >> /etc/sysconfig/sshd
systemctl restart sshd.service""",
        expect_ids=("SSH-ACL-001",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds=f"""rm -f /etc/ssh/sshd_config.d/00-sshdoctor-allow.conf
{RHEL_SYSCONFIG} remove""",
    ),
    Scenario(
        name="suse-dropin-denies",
        verdict_fixes=True,
        # SUSE's layout: sshd reads the vendor config in /usr/etc/ssh, whose Include
        # brings in /etc/ssh/sshd_config.d, where a drop-in turns labuser away.
        break_cmds=f"""{SUSE_VENDOR} install
echo 'DenyUsers labuser' > /etc/ssh/sshd_config.d/50-lab.conf
systemctl restart sshd.service""",
        expect_ids=("SSH-ACL-001",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds=f"""rm -f /etc/ssh/sshd_config.d/50-lab.conf
{SUSE_VENDOR} remove""",
    ),
    Scenario(
        name="suse-etc-hides-vendor",
        verdict_fixes=True,
        # A one-line /etc/ssh/sshd_config written by hand on SUSE: sshd now reads it
        # alone, and the vendor file with its Include is gone, UsePAM yes with it. With
        # PAM off sshd itself refuses labuser's locked password field, even for his key:
        # both show. The printed fix moves the file into a drop-in, and sshd reads the
        # vendor file again.
        break_cmds=f"""{SUSE_VENDOR} install
echo 'ClientAliveInterval 120' > /etc/ssh/sshd_config
systemctl restart sshd.service""",
        expect_ids=("SSH-CFG-006", "SSH-USR-002"),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds=f"""rm -f /etc/ssh/sshd_config /etc/ssh/sshd_config.d/50-local.conf
{SUSE_VENDOR} remove""",
    ),
    Scenario(
        name="package-removed",
        # The image keeps openssh-server's .deb, so restoring works offline.
        break_cmds="DEBIAN_FRONTEND=noninteractive dpkg -r openssh-server",
        expect_ids=("SSH-PKG-001",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="DEBIAN_FRONTEND=noninteractive dpkg -i /var/cache/apt/archives/openssh-server_*.deb",
    ),
    Scenario(
        name="hostkeys-readable",
        verdict_fixes=True,
        # sshd skips a private key others can read ("UNPROTECTED PRIVATE KEY
        # FILE"); with every key skipped it refuses to start.
        break_cmds="chmod 644 /etc/ssh/ssh_host_*_key\nsystemctl restart ssh",
        expect_ids=("SSH-KEY-001", "SSH-SVC-004"),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="chmod 600 /etc/ssh/ssh_host_*_key\nsystemctl restart ssh",
    ),
    Scenario(
        name="hostkeys-corrupt",
        verdict_fixes=True,
        # Every host key overwritten with garbage, owner and mode intact: sshd
        # cannot load any and refuses to start.  ssh-keygen -A would change
        # nothing (it only creates missing keys); the restore is the verdict's
        # fix for each key: move it aside, generate a new one, restart.
        break_cmds="for k in /etc/ssh/ssh_host_*_key; do head -c 300 /dev/urandom > $k; done\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-KEY-003",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="for t in rsa ecdsa ed25519; do k=/etc/ssh/ssh_host_${t}_key; "
                     "mv $k $k.broken && ssh-keygen -q -N '' -t $t -f $k; done\n"
                     "rm /etc/ssh/ssh_host_*_key.broken\nsystemctl restart ssh",
    ),
    Scenario(
        name="sshd-session-not-executable",
        # OpenSSH 10 runs sshd-session for each connection; without its execute
        # bits the listener closes every connection before the banner.  The
        # restore puts the mode back (the verdict's fix reinstalls the package,
        # which needs the network the lab does not give).
        break_cmds="chmod a-x /usr/lib/openssh/sshd-session",
        expect_ids=("SSH-PRV-004",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="chmod 755 /usr/lib/openssh/sshd-session",
        skip={"bookworm": "OpenSSH 9.2 has no sshd-session"},
    ),
    Scenario(
        name="hostkey-missing",
        # sshd starts with the RSA and ed25519 keys; a client that pinned
        # the ECDSA key would see it change.
        break_cmds="mkdir -p /root/lab-hostkeys\nmv /etc/ssh/ssh_host_ecdsa_key* /root/lab-hostkeys/\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-KEY-002",),
        expect_status=WARNING,
        access={22: ("success",)},
        restore_cmds="mv /root/lab-hostkeys/ssh_host_ecdsa_key* /etc/ssh/\nsystemctl restart ssh",
    ),
    Scenario(
        name="sshd-config-writable",
        break_cmds="chmod 666 /etc/ssh/sshd_config",
        expect_ids=("SSH-ETC-001",),
        expect_status=WARNING,
        access={22: ("success",)},
        restore_cmds="chmod 644 /etc/ssh/sshd_config",
    ),
    Scenario(
        name="privsep-dir-writable",
        verdict_fixes=True,
        # The listening sshd keeps running, but the sshd it re-executes for
        # each connection checks the directory first and exits ("fatal:
        # /run/sshd must be owned by root and not group or world-writable.")
        # before sending its banner: the client sees the connection close.
        # No restart: RuntimeDirectoryMode would undo the break.
        break_cmds="chmod 777 /run/sshd",
        expect_ids=("SSH-PRV-002",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="chmod 755 /run/sshd",
        per_suite={"trixie": dict(
            # OpenSSH 10 checks the directory only when the listener starts
            # (sshd -t fails too); sshd-session does not, so logins work: a
            # warning (the next restart fails), not critical.
            expect_ids=("SSH-PRV-002",),
            expect_status=WARNING,
            access={22: ("success",)},
        )},
    ),
    Scenario(
        name="iptables-drop",
        verdict_fixes=True,
        # iptables-nft: the rule lands in nftables' "ip filter" table.
        break_cmds="iptables -I INPUT -p tcp --dport 22 -j DROP",
        expect_ids=("SSH-FWL-002",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="iptables -D INPUT -p tcp --dport 22 -j DROP",
    ),
    Scenario(
        name="output-closed",
        verdict_fixes=True,
        # OUTPUT closed by its policy, as hardening guides do, with nothing accepting
        # established connections: the SYN gets in, sshd's SYN-ACK never leaves. The
        # fix accepts packets from port 22 first in OUTPUT.
        break_cmds="iptables -P OUTPUT DROP",
        expect_ids=("SSH-FWL-008",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="iptables -P OUTPUT ACCEPT\n"
                     "iptables -D OUTPUT -p tcp --sport 22 -j ACCEPT 2>/dev/null || true",
    ),
    Scenario(
        name="disk-full",
        # Fill / to the last block, root's reserve included: fallocate big
        # files, halving the size whenever one does not fit.
        break_cmds=FILL_ROOT,
        expect_ids=("SSH-HST-001",),
        # Key logins still work: a warning, not critical.
        expect_status=WARNING,
        access={22: ("success",)},
        restore_cmds="rm -f /var/tmp/lab-fill.*",
    ),
    Scenario(
        name="allowusers-refused",
        verdict_fixes=True,
        # The access list turns labuser away; sshd logs it only when labuser
        # tries, so the login comes first.
        break_cmds="echo 'AllowUsers root' > /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
        login_first=True,
        expect_ids=("SSH-ACL-001", "SSH-LOG-004"),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="rm /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
    ),
    Scenario(
        name="authentication-methods-unmet",
        verdict_fixes=True,
        # A second factor asked of labuser and left off (Debian's sshd_config sets
        # KbdInteractiveAuthentication no): sshd starts (a global list like it would
        # not), skips labuser's only list at the connection and disconnects with "no
        # authentication methods enabled".
        break_cmds="printf 'Match User labuser\\n  AuthenticationMethods "
        "publickey,keyboard-interactive\\n' > /etc/ssh/sshd_config.d/50-lab.conf\n"
        "systemctl restart ssh",
        expect_ids=("SSH-ACL-009",),
        expect_status=CRITICAL,
        access={22: ("ssh-error",)},
        restore_cmds="rm -f /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
    ),
    Scenario(
        name="authorized-keys-open",
        verdict_fixes=True,
        # StrictModes (the default) ignores a group/world-writable
        # authorized_keys; sshd says why in the log when labuser tries. The week's log
        # is busy first, as a public VM's is: more sshd lines than a verdict keeps, all
        # older than the refusal, which must still be read.
        break_cmds="for i in $(seq 600); do echo \"Connection closed by 192.0.2.9 port $i [preauth]\"; "
                   "done | systemd-cat -t sshd\nchmod 666 /home/labuser/.ssh/authorized_keys",
        login_first=True,
        expect_ids=("SSH-AKF-001", "SSH-LOG-001"),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="chmod 600 /home/labuser/.ssh/authorized_keys",
    ),
    Scenario(
        name="listener-stopped",
        verdict_fixes=True,
        # The listening sshd stopped (SIGSTOP): ss shows it listening, systemd says
        # active (running), the kernel completes every handshake and queues it, and no
        # banner ever comes. Only a connection tells. The restore is the verdict's fix.
        break_cmds="kill -STOP $(systemctl show -P MainPID ssh)",
        expect_ids=("SSH-LIV-001",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="kill -CONT $(systemctl show -P MainPID ssh)",
    ),
    Scenario(
        name="link-down",
        verdict_fixes=True,
        # The VM's only NIC set down by hand: no packet reaches sshd. Brought up again,
        # systemd-networkd configures it (DHCP) as it does on Azure's images.
        break_cmds="ip link set ens2 down",
        expect_ids=("SSH-NIC-001",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="ip link set ens2 up\nnetworkctl reconfigure ens2",
    ),
    Scenario(
        name="address-lost",
        verdict_fixes=True,
        # The NIC's IPv4 address removed by hand while the link stays up: clients'
        # packets have nowhere to go. systemd-networkd configures the link, so the fix
        # is its reconfigure (a new DHCP lease), not a DHCP client of our own.
        break_cmds="ip -4 address flush dev ens2",
        expect_ids=("SSH-NIC-002",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="networkctl reconfigure ens2",
    ),
    Scenario(
        name="listener-frozen",
        verdict_fixes=True,
        # The listening sshd hung without being stopped: its unit frozen in the cgroup
        # freezer (the process sleeps, state S), so connections queue and no banner
        # comes. The repair thaws the unit (systemd 257 refuses to restart a frozen
        # one); undo does not freeze it again.
        break_cmds="systemctl freeze ssh",
        expect_ids=("SSH-SVC-012",),
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        undo_breaks_again=False,
        restore_cmds="systemctl thaw ssh || true\nsystemctl restart ssh",
    ),
    Scenario(
        name="key-revoked",
        # sshd refuses labuser's key for a reason no file check models (RevokedKeys
        # lists it): only asking the live sshd about the key shows it.
        break_cmds="cp /home/labuser/.ssh/authorized_keys /etc/ssh/lab-revoked\n"
                   "echo 'RevokedKeys /etc/ssh/lab-revoked' > /etc/ssh/sshd_config.d/50-lab.conf\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-LIV-005",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="rm /etc/ssh/sshd_config.d/50-lab.conf /etc/ssh/lab-revoked\nsystemctl restart ssh",
    ),
    Scenario(
        name="hosts-deny-all",
        verdict_fixes=True,
        # TCP wrappers refuse every client: libwrap holds the connection 5 s, then
        # closes it before the banner. On Debian 12 sshd links libwrap and the static rule
        # names the line; on Debian 13 libwrap sits in sshd-session, which the file checks
        # do not see, and the banner probe still catches it.
        break_cmds="cp /etc/hosts.deny /root/hosts.deny.lab-orig\necho 'sshd: ALL' >> /etc/hosts.deny",
        expect_ids=("SSH-LIV-003", "SSH-ACL-005"),
        expect_status=CRITICAL,
        access={22: ("refused", "ssh-error")},
        restore_cmds="cp /root/hosts.deny.lab-orig /etc/hosts.deny",
        per_suite={"trixie": dict(expect_ids=("SSH-LIV-003",))},
    ),
    Scenario(
        name="shell-nologin",
        verdict_fixes=True,
        # sshd accepts labuser's key, then runs nologin, which ends the session: the
        # key checks and the live key query pass; the session rule names the shell.
        # The restore is the verdict's fix.
        break_cmds="usermod -s /usr/sbin/nologin labuser",
        expect_ids=("SSH-SES-001",),
        expect_status=CRITICAL,
        access={22: ("ssh-error",)},
        restore_cmds="usermod -s /bin/bash labuser",
    ),
    Scenario(
        name="max-sessions-zero",
        verdict_fixes=True,
        # "Accepted publickey", then "no more sessions" for every channel.
        break_cmds="echo 'MaxSessions 0' > /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
        expect_ids=("SSH-SES-002",),
        expect_status=CRITICAL,
        access={22: ("ssh-error",)},
        restore_cmds="rm /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
    ),
    Scenario(
        # A user whose home is on a mount that never answers: a FUSE mount whose
        # daemon (this console's shell, holding /dev/fuse) reads nothing, as a dead
        # NFS server leaves one. One line each, so the shell that holds the fd is the
        # console's own. labuser is unaffected; the verdict must still arrive, name the
        # mount, and its fix must leave labuser's login working.
        name="home-unanswered",
        verdict_fixes=True,
        break_cmds="mkdir -p /mnt/hung; exec 3<>/dev/fuse; "
                   "mount -i -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 hung /mnt/hung; "
                   "useradd -M -d /mnt/hung/nfsuser -s /bin/bash nfsuser",
        expect_ids=("SSH-USR-007",),
        expect_status=CRITICAL,
        access={22: ("success",)},
        restore_cmds="umount -f -l /mnt/hung 2>/dev/null; exec 3>&-; userdel nfsuser; rmdir /mnt/hung",
    ),
    Scenario(
        name="keys-file-elsewhere",
        verdict_fixes=True,
        # AuthorizedKeysFile pointed at /etc/ssh/keys/%u while labuser's key stays
        # in ~/.ssh/authorized_keys: sshd never reads it.  The restore is the
        # verdict's fix (copy the keys where sshd reads them), then the drop-in goes.
        break_cmds="echo 'AuthorizedKeysFile /etc/ssh/keys/%u' > /etc/ssh/sshd_config.d/50-lab.conf\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-AKF-008",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="install -d -m 755 /etc/ssh/keys && cat /home/labuser/.ssh/authorized_keys "
                     ">> /etc/ssh/keys/labuser && chown root:root /etc/ssh/keys/labuser && "
                     "chmod 644 /etc/ssh/keys/labuser\n"
                     "rm -r /etc/ssh/sshd_config.d/50-lab.conf /etc/ssh/keys\nsystemctl restart ssh",
    ),
    Scenario(
        name="force-command-missing",
        verdict_fixes=True,
        # A Match block at the end of sshd_config forces a program that is not
        # installed: the key is accepted and every session ends.
        break_cmds=f"{BACKUP_CONFIG}\n"
                   "printf 'Match User labuser\\n  ForceCommand /usr/local/bin/lab-absent\\n' "
                   ">> /etc/ssh/sshd_config\nsystemctl restart ssh",
        expect_ids=("SSH-SES-004",),
        expect_status=CRITICAL,
        access={22: ("ssh-error",)},
        restore_cmds=RESTORE_CONFIG,
    ),
    Scenario(
        name="chroot-without-shell",
        verdict_fixes=True,
        # A correct but empty chroot: sshd confines the session there and finds
        # no shell.
        break_cmds="mkdir -p -m 0755 /srv/lab-jail\n"
                   "echo 'ChrootDirectory /srv/lab-jail' > /etc/ssh/sshd_config.d/50-lab.conf\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-SES-006",),
        expect_status=CRITICAL,
        access={22: ("ssh-error",)},
        restore_cmds="rm -r /etc/ssh/sshd_config.d/50-lab.conf /srv/lab-jail\nsystemctl restart ssh",
    ),
    Scenario(
        name="key-from-elsewhere",
        verdict_fixes=True,
        # labuser's only key limited by from= to a network the lab's client
        # (10.0.2.2, qemu's host side) is not in; the login goes first so that
        # sshd's log shows the refusal.  The restore is the verdict's fix (the
        # client's address added), then the option goes.
        break_cmds="cp /home/labuser/.ssh/authorized_keys /root/lab-keys\n"
                   "sed -i 's/^/from=\"203.0.113.0\\/24\" /' /home/labuser/.ssh/authorized_keys",
        login_first=True,
        expect_ids=("SSH-AKF-009",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="cp /root/lab-keys /home/labuser/.ssh/authorized_keys\nrm /root/lab-keys",
    ),
    Scenario(
        name="key-expired",
        verdict_fixes=True,
        # labuser's only key with an expiry-time in the past.
        break_cmds="cp /home/labuser/.ssh/authorized_keys /root/lab-keys\n"
                   "sed -i 's/^/expiry-time=\"20200101\" /' /home/labuser/.ssh/authorized_keys",
        expect_ids=("SSH-AKF-010",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="cp /root/lab-keys /home/labuser/.ssh/authorized_keys\nrm /root/lab-keys",
    ),
    Scenario(
        name="key-type-refused",
        verdict_fixes=True,
        # PubkeyAcceptedAlgorithms without ed25519, labuser's key type, in a
        # drop-in: the fix comments out that line, not the main file's.
        break_cmds="echo 'PubkeyAcceptedAlgorithms -ssh-ed25519' > /etc/ssh/sshd_config.d/50-lab.conf\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-AKF-004",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="rm /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
    ),
    Scenario(
        name="revoked-keys-missing",
        verdict_fixes=True,
        # RevokedKeys naming a file that is not there: sshd refuses every key.
        break_cmds="echo 'RevokedKeys /etc/ssh/lab-revoked-absent' > /etc/ssh/sshd_config.d/50-lab.conf\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-AKF-012",),
        expect_status=CRITICAL,
        access={22: ("auth-failure",)},
        restore_cmds="rm /etc/ssh/sshd_config.d/50-lab.conf\nsystemctl restart ssh",
    ),
    Scenario(
        name="pam-account-deny",
        verdict_fixes=True,
        # PAM's account stack refuses after sshd accepts the key: the live key query
        # passes (sshd answers it before PAM runs); the PAM rule runs the stack and
        # names the pam_deny line that Debian's own jumps do not skip.
        break_cmds="echo 'account requisite pam_deny.so' >> /etc/pam.d/sshd",
        expect_ids=("SSH-PAM-001",),
        expect_status=CRITICAL,
        access={22: ("ssh-error", "auth-failure")},
        restore_cmds="sed -i '$d' /etc/pam.d/sshd",
    ),
    Scenario(
        name="pam-access-deny",
        verdict_fixes=True,
        # pam_access with an access.conf rule refusing labuser from everywhere.
        break_cmds="echo 'account required pam_access.so' >> /etc/pam.d/sshd\n"
                   "echo '-:labuser:ALL' >> /etc/security/access.conf",
        expect_ids=("SSH-PAM-001",),
        expect_status=CRITICAL,
        access={22: ("ssh-error", "auth-failure")},
        restore_cmds="sed -i '$d' /etc/pam.d/sshd\nsed -i '$d' /etc/security/access.conf",
    ),
    Scenario(
        name="pam-session-module-missing",
        follows="pam-access-deny",
        verdict_fixes=True,
        # A required session module that is not installed: the key is accepted and
        # pam_open_session fails, so the connection ends before the shell.
        break_cmds="echo 'session required pam_lab_absent.so' >> /etc/pam.d/sshd",
        expect_ids=("SSH-PAM-002",),
        expect_status=CRITICAL,
        access={22: ("ssh-error", "auth-failure")},
        restore_cmds="sed -i '$d' /etc/pam.d/sshd",
    ),
    Scenario(
        name="refusals-fixed",
        follows="pam-session-module-missing",
        # After the two scenarios above are undone and labuser has logged in
        # again, their refusals in the log are history, as a failed start
        # followed by a good one is (sshdoctor kept reporting them as
        # warnings before 6d88488).  The restore empties the journal so
        # baseline-end judges the machine, not whatever log is left.
        login_first=True,
        expect_ids=(),
        expect_status=HEALTHY,
        access={22: ("success",)},
        restore_cmds="journalctl --rotate --vacuum-time=1s >/dev/null 2>&1",
    ),
    Scenario(
        name="repeated-diagnoses",
        follows="refusals-fixed",
        # After refusals-fixed, whose restore empties the journal of the refusals above.
        # Twenty diagnoses in a row leave the verdict healthy, and sshd penalises no
        # source for the probes' connections (OpenSSH 10's PerSourcePenalties enforce
        # past 15 s per address; each probe comes from an address of its own): sshd
        # logs no penalty, and loopback still gets a key exchange.
        break_cmds=f"for i in $(seq 20); do {IMDS_ENV} {GUEST_BINARY} --format json >/dev/null 2>&1; done",
        break_timeout=600,
        expect_ids=(),
        expect_status=HEALTHY,
        access={22: ("success",)},
        check_cmds="! journalctl -b -u ssh --no-pager | grep -i 'penalty' && "
                   "ssh-keyscan -T 20 127.0.0.1 2>/dev/null | grep -q ssh-ed25519",
    ),
]

# Not an SSH break: the .deb installed with dpkg in the guest, a reboot, the
# boot-time verdict checked on the console, in the journal and in last.json
# (healthy, like baseline), the timer's run, nothing written but last.json,
# then dpkg -r and dpkg -P (deb_install.py).  baseline follows it on the same VM.
DEB_INSTALL = Scenario(
    name="deb-install",
    kind="deb",
    expect_ids=(),
    expect_status=HEALTHY,
    access={},
)

# Run on each VM after its share of the others: proves the restores really returned
# the VM to a healthy, reachable state.
FINAL_CHECK = Scenario(
    name="baseline-end",
    # The log of the VM's breaks is history, not the machine's state: emptied first, as
    # refusals-fixed's restore does.
    break_cmds="journalctl --rotate --vacuum-time=1s >/dev/null 2>&1",
    expect_ids=(),
    expect_status=HEALTHY,
    access={22: ("success",)},
)

# Run before each break and each restore.  Scenarios restart ssh.service
# many times in a few seconds, which trips systemd's start rate limit
# (StartLimitBurst) and would make a later scenario fail for the wrong
# reason; reset-failed clears that counter.
FORGET_FAILURES = "systemctl reset-failed"

# Run after each break, before sshdoctor.  A broken ssh.service can spend a
# few seconds in systemd's restart loop (activating, auto-restart) before it
# settles as failed, and after a reboot the boot is still finishing (slow
# under TCG); a person opening the serial console arrives after both.
SETTLE = """timeout 120 systemctl is-system-running --wait >/dev/null 2>&1
for i in $(seq 60); do
    case $(systemctl show -P ActiveState ssh.service) in
        activating|deactivating|reloading) sleep 0.5 ;;
        *) break ;;
    esac
done"""

# Cheap check between scenarios that the restore worked: sshd back on 22
# and nothing left on 2222 (no scenario's leftover listener).
BASELINE_PROBE = ("systemctl is-active --quiet ssh.service && "
                  "ss -Hltn 'sport = :22' | grep -q . && "
                  "! ss -Hltn 'sport = :2222' | grep -q .")

# Last resort when a restore failed, so later scenarios start clean.
FULL_RESET = """nft delete table inet labfw 2>/dev/null
dpkg -s sshdoctor >/dev/null 2>&1 && dpkg -P sshdoctor >/dev/null 2>&1
systemctl stop ssh.socket ssh.service
for pid in $(ss -Hltnp 'sport = :2222' | grep -o 'pid=[0-9]*' | cut -d= -f2); do kill $pid; done
while iptables -D INPUT -p tcp --dport 22 -j DROP 2>/dev/null; do :; done
rm -f /var/tmp/lab-fill.*
[ -d /root/lab-hostkeys ] && mv /root/lab-hostkeys/* /etc/ssh/ 2>/dev/null
chmod 600 /etc/ssh/ssh_host_*_key /home/labuser/.ssh/authorized_keys
usermod -s /bin/bash labuser
chmod 644 /etc/ssh/sshd_config
chmod 755 /run/sshd
[ -f /run/lab-socat.pid ] && kill $(cat /run/lab-socat.pid) 2>/dev/null
kill -CONT $(systemctl show -P MainPID ssh) 2>/dev/null
[ -f /root/hosts.deny.lab-orig ] && cp /root/hosts.deny.lab-orig /etc/hosts.deny
rm -f /etc/ssh/lab-revoked
dpkg -s openssh-server >/dev/null 2>&1 || \
    DEBIAN_FRONTEND=noninteractive dpkg -i /var/cache/apt/archives/openssh-server_*.deb
[ -f /root/sshd_config.lab-orig ] && cp /root/sshd_config.lab-orig /etc/ssh/sshd_config
rm -rf /etc/ssh/sshd_config.d/50-lab.conf /etc/systemd/system/ssh.socket.d
systemctl disable --now ssh.socket
systemctl unmask ssh.service
systemctl daemon-reload
systemctl reset-failed
systemctl enable ssh.service
systemctl restart ssh.service"""
