"""Ground truth: can a real `ssh` client log in through a loopback forward?

Outcomes:
  success       ssh logged in as labuser and ran `true`
  auth-failure  an SSH server answered but refused the key
  refused       nothing listens: the connection closes before any byte
  timeout       no answer at all (e.g. a firewall dropping packets)
  not-ssh       something answers, but it is not an SSH server
  ssh-error     an SSH server answered and the session still failed

QEMU user networking accepts the host side of a forward before it knows
whether the guest port is open, so a closed guest port never shows up as
"Connection refused": the connection is just closed at once.  When ssh's
own message is ambiguous, a raw probe reads the first bytes the forward
sends back to tell refused, not-ssh and timeout apart.
"""

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# sshd re-executes itself for every connection; under TCG that plus key
# exchange takes seconds, so these are generous.
CONNECT_TIMEOUT = 15
LOGIN_TIMEOUT = 90
BANNER_TIMEOUT = 15


@dataclass
class Access:
    outcome: str
    detail: str
    seconds: float


def ssh_command(port: int, key: Path) -> list[str]:
    return [
        "ssh", "-F", "/dev/null",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
        "-i", str(key), "-p", str(port),
        "labuser@127.0.0.1", "true",
    ]


def probe_banner(port: int) -> tuple[str, str]:
    """Classify what the forward sends first: an SSH banner, other bytes,
    an immediate close, or silence."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=BANNER_TIMEOUT) as conn:
            conn.settimeout(BANNER_TIMEOUT)
            first = conn.recv(256)
    except socket.timeout:
        return "timeout", f"no bytes within {BANNER_TIMEOUT}s"
    except ConnectionError as error:
        return "refused", str(error)
    if not first:
        return "refused", "connection closed before any byte"
    if first.startswith(b"SSH-"):
        return "ssh", first.split(b"\r\n")[0].decode(errors="replace")
    return "not-ssh", repr(first[:60])


def classify_failure(stderr: str, port: int) -> tuple[str, str]:
    if "Permission denied" in stderr:
        return "auth-failure", stderr
    if "timed out" in stderr:
        return "timeout", stderr
    if "Connection refused" in stderr:
        return "refused", stderr
    kind, detail = probe_banner(port)
    if kind == "ssh":
        return "ssh-error", f"{stderr} (banner: {detail})"
    return kind, f"{stderr} (probe: {detail})"


def check_access(port: int, key: Path) -> Access:
    started = time.monotonic()
    try:
        proc = subprocess.run(ssh_command(port, key), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=LOGIN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Access("timeout", f"ssh still running after {LOGIN_TIMEOUT}s",
                      time.monotonic() - started)
    if proc.returncode == 0:
        outcome, detail = "success", "logged in"
    else:
        outcome, detail = classify_failure(proc.stderr.strip(), port)
    return Access(outcome, detail, time.monotonic() - started)
