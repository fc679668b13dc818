"""The lab's scenarios: how to break SSH, what sshdoctor must say about it,
what a real ssh client experiences, and how to put things back.

Commands run as root at the guest's serial console (multi-line scripts are
fine).  `access` maps a guest port to the ground-truth outcomes accepted on
its loopback forward (see ground_truth.py for the outcome names).
"""

from dataclasses import dataclass

HEALTHY = ("healthy", "warning")
CRITICAL = ("critical",)
WARNING = ("warning",)

BACKUP_CONFIG = "cp -n /etc/ssh/sshd_config /root/sshd_config.lab-orig"
RESTORE_CONFIG = "cp /root/sshd_config.lab-orig /etc/ssh/sshd_config\nsystemctl restart ssh"


@dataclass(frozen=True)
class Scenario:
    name: str
    expect_ids: tuple[str, ...]
    expect_status: tuple[str, ...]
    access: dict[int, tuple[str, ...]]
    break_cmds: str = ""
    restore_cmds: str = ""
    needs_reboot: bool = False


SCENARIOS = [
    Scenario(
        name="baseline",
        expect_ids=(),
        expect_status=HEALTHY,
        access={22: ("success",)},
    ),
    Scenario(
        name="sshd-stopped",
        break_cmds="systemctl stop ssh",
        expect_ids=("SSH-SVC-005",),
        expect_status=CRITICAL,
        access={22: ("refused",)},
        restore_cmds="systemctl start ssh",
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
        break_cmds=f"{BACKUP_CONFIG}\nsed -i '1i ListenAddress 127.0.0.1' /etc/ssh/sshd_config\n"
                   "systemctl restart ssh",
        expect_ids=("SSH-NET-002",),
        expect_status=CRITICAL,
        access={22: ("refused", "timeout")},
        restore_cmds=RESTORE_CONFIG,
    ),
    Scenario(
        name="listen-absent-address",
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
        break_cmds="""nft add table inet labfw
nft add chain inet labfw input '{ type filter hook input priority 0; policy accept; }'
nft add rule inet labfw input tcp dport 22 drop""",
        expect_ids=("SSH-FWL-001",),  # nftables drops new connections to 22
        expect_status=CRITICAL,
        access={22: ("timeout",)},
        restore_cmds="nft delete table inet labfw",
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
        name="socket-activation",
        break_cmds="""systemctl disable --now ssh.service
mkdir -p /etc/systemd/system/ssh.socket.d
printf '[Socket]\\nListenStream=\\nListenStream=2222\\n' > /etc/systemd/system/ssh.socket.d/50-lab.conf
systemctl daemon-reload
systemctl enable --now ssh.socket""",
        expect_ids=("SSH-SVC-007",),
        expect_status=HEALTHY,
        access={22: ("refused",), 2222: ("success",)},
        # Debian's ssh.socket has Accept=no: the first connection starts
        # ssh.service on the inherited socket, so it must be restarted.
        restore_cmds="""systemctl disable --now ssh.socket
rm -r /etc/systemd/system/ssh.socket.d
systemctl daemon-reload
systemctl enable ssh.service
systemctl restart ssh.service""",
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
]

# Run after the others: proves the restores really returned the VM to a
# healthy, reachable state.
FINAL_CHECK = Scenario(
    name="baseline-end",
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
# settles as failed; a person opening the serial console arrives after that.
SETTLE = """for i in $(seq 60); do
    case $(systemctl show -P ActiveState ssh.service) in
        activating|deactivating|reloading) sleep 0.5 ;;
        *) break ;;
    esac
done"""

# Cheap check between scenarios that the restore worked.
BASELINE_PROBE = ("systemctl is-active --quiet ssh.service && "
                  "ss -Hltn 'sport = :22' | grep -q .")

# Last resort when a restore failed, so later scenarios start clean.
FULL_RESET = """nft delete table inet labfw 2>/dev/null
[ -f /run/lab-socat.pid ] && kill $(cat /run/lab-socat.pid) 2>/dev/null
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
