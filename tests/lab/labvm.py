"""A QEMU guest driven over its serial console, the way a person uses the
Azure Serial Console: an autologin root shell on ttyS0, commands typed in,
output read back.

Output of each command is framed by markers that contain a per-command
nonce.  The markers are produced by `printf '__%s_%s__' B <nonce>`, so the
text the terminal may echo back never contains the marker itself: only the
command's real output does.
"""

import base64
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
# Canonical-mode tty lines are cut at 4095 bytes; stay well below.
MAX_LINE = 2000
PROBE_INTERVAL = 3.0


class ConsoleTimeout(Exception):
    pass


@dataclass
class Result:
    rc: int
    output: str


class SerialConsole:
    """Reads the guest's serial output on a background thread into one
    growing buffer; waits are regex searches on that buffer with deadlines."""

    def __init__(self, sock: socket.socket, full_log: Path):
        self._sock = sock
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._closed = False
        self._full_log = open(full_log, "ab")
        self._scenario_log = None
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    def _read_loop(self):
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._closed = True
                    self._cond.notify_all()
                    return
                self._buf += data
                self._full_log.write(data)
                self._full_log.flush()
                if self._scenario_log:
                    self._scenario_log.write(data)
                    self._scenario_log.flush()
                self._cond.notify_all()

    def set_transcript(self, path: Path | None):
        """Also copy everything read from now on into `path`."""
        with self._cond:
            if self._scenario_log:
                self._scenario_log.close()
            self._scenario_log = open(path, "wb") if path else None

    def mark(self) -> int:
        """Position in the stream; waits only look at output after it."""
        with self._cond:
            return len(self._buf)

    def wait_for(self, pattern: bytes, start: int, timeout: float) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                match = regex.search(self._buf, start)
                if match:
                    return match
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    tail = bytes(self._buf[-400:]).decode(errors="replace")
                    why = "console closed" if self._closed else f"{timeout:.0f}s timeout"
                    raise ConsoleTimeout(f"{why} waiting for {pattern!r}; last output:\n{tail}")
                self._cond.wait(remaining)

    def send(self, text: str):
        self._sock.sendall(text.encode())

    def run(self, command: str, timeout: float = 120) -> Result:
        """Type `command` at the root shell and return its exit code and
        output.  Multi-line scripts are shipped base64-encoded so that
        quoting, heredocs and PS2 prompts cannot garble them."""
        nonce = secrets.token_hex(4)
        if "\n" in command.strip():
            encoded = base64.b64encode(command.encode()).decode()
            command = f"echo {encoded} | base64 -d > /run/lab-step.sh; bash /run/lab-step.sh"
        # One line, so no prompt is printed between the command and the
        # end marker.
        line = (f"printf '__%s_%s__\\n' B {nonce}; {command}; "
                f"printf '\\n__%s_%s__ rc=%s\\n' E {nonce} $?\n")
        if len(line) > MAX_LINE:
            raise ValueError(f"command too long for one console line ({len(line)} bytes)")
        start = self.mark()
        self.send(line)
        begin = self.wait_for(rb"__B_" + nonce.encode() + rb"__\r?\n", start, timeout)
        end = self.wait_for(rb"\r?\n__E_" + nonce.encode() + rb"__ rc=(\d+)\r?\n", begin.end(), timeout)
        with self._cond:
            raw = bytes(self._buf[begin.end():end.start()])
        return Result(int(end.group(1)), raw.decode(errors="replace").replace("\r\n", "\n"))

    def interrupt(self):
        """Abandon a command that timed out: Ctrl-C, then a fresh line."""
        self.send("\x03\n")

    def wait_for_shell(self, timeout: float, not_boot_id: str | None = None) -> str:
        """Keep typing a probe until a root shell answers it; return that
        boot's id.  With `not_boot_id`, answers from that boot (a shell that
        is still shutting down) are ignored, which is how a reboot is
        detected without fixed sleeps."""
        nonce = secrets.token_hex(4)
        probe = (f"printf '__%s_%s__ %s\\n' R {nonce} "
                 f"\"$(cat /proc/sys/kernel/random/boot_id)\"\n")
        answer = rb"__R_" + nonce.encode() + rb"__ ([0-9a-f-]{36})"
        deadline = time.monotonic() + timeout
        start = self.mark()
        while True:
            self.send(probe)
            try:
                while True:
                    match = self.wait_for(answer, start, PROBE_INTERVAL)
                    start = match.end()
                    boot_id = match.group(1).decode()
                    if boot_id != not_boot_id:
                        return boot_id
            except ConsoleTimeout:
                if self._closed or time.monotonic() > deadline:
                    raise ConsoleTimeout(f"no root shell on the serial console after {timeout:.0f}s")

    def close(self):
        self.set_transcript(None)
        self._sock.close()
        self._reader.join(timeout=5)
        self._full_log.close()


def free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class VmConfig:
    kernel: Path
    initrd: Path
    root_disk: Path
    tools_disk: Path
    guest_ports: tuple[int, ...] = (22, 2222)
    memory_mb: int = 1024
    accel: str = os.environ.get("LAB_ACCEL", "tcg")
    smp: int = int(os.environ.get("LAB_SMP", "1"))


class LabVm:
    """One QEMU process.  The root disk is opened with snapshot=on, so the
    cached image is never modified and every lab run starts from it afresh;
    a reboot inside the run keeps the guest's changes."""

    BOOT_TIMEOUT = 300
    # The tools disk can show up after the shell does under TCG; wait for
    # udev and mount it here rather than racing the first sshdoctor run.
    SHELL_SETUP = ("stty -echo cols 80 rows 24; dmesg -n 1; "
                   "export PAGER=cat SYSTEMD_PAGER=cat SYSTEMD_COLORS=0; "
                   "udevadm settle --timeout=60; "
                   "mountpoint -q /mnt/sshdoctor || mount /mnt/sshdoctor")

    def __init__(self, config: VmConfig, workdir: Path):
        self.config = config
        self.workdir = workdir
        self.forwards: dict[int, int] = {}  # guest port -> 127.0.0.1 port
        self.boot_id = ""
        self._qemu = None
        self._sockdir = None
        self.console: SerialConsole | None = None

    def _qemu_command(self, serial_path: str) -> list[str]:
        cfg = self.config
        # Forwards bind to 127.0.0.1 only, and restrict=on keeps the guest
        # from reaching anything beyond the virtual LAN.
        hostfwd = ",".join(f"hostfwd=tcp:127.0.0.1:{host}-:{guest}"
                           for guest, host in self.forwards.items())
        cpu = ["-cpu", "max"] if cfg.accel == "tcg" else ["-cpu", "host"]
        return [
            "qemu-system-x86_64", "-accel", cfg.accel, *cpu,
            "-m", str(cfg.memory_mb), "-smp", str(cfg.smp),
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", str(cfg.kernel), "-initrd", str(cfg.initrd),
            "-append", "root=/dev/vda rw console=ttyS0,115200 quiet loglevel=3 "
                       "systemd.show_status=0",
            "-drive", f"file={cfg.root_disk},format=raw,if=virtio,snapshot=on",
            "-drive", f"file={cfg.tools_disk},format=raw,if=virtio,readonly=on",
            "-netdev", f"user,id=net0,restrict=on,{hostfwd}",
            "-device", "virtio-net-pci,netdev=net0,romfile=",
            "-device", "virtio-rng-pci",
            # wait=on: the guest does not start until the harness is
            # connected, so the transcript begins at the first byte.
            "-chardev", f"socket,id=ser0,path={serial_path},server=on,wait=on",
            "-serial", "chardev:ser0",
        ]

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.forwards = {port: free_local_port() for port in self.config.guest_ports}
        self._sockdir = tempfile.mkdtemp(prefix="sshdoctor-lab-")
        serial_path = os.path.join(self._sockdir, "serial.sock")
        with open(self.workdir / "qemu.log", "wb") as qemu_log:
            self._qemu = subprocess.Popen(self._qemu_command(serial_path),
                                          stdin=subprocess.DEVNULL, stdout=qemu_log,
                                          stderr=subprocess.STDOUT,
                                          preexec_fn=die_with_parent)
        sock = self._connect(serial_path, timeout=30)
        self.console = SerialConsole(sock, self.workdir / "vm-serial.log")

    def _connect(self, path: str, timeout: float) -> socket.socket:
        deadline = time.monotonic() + timeout
        while True:
            if self._qemu.poll() is not None:
                log = (self.workdir / "qemu.log").read_text(errors="replace")
                raise RuntimeError(f"qemu exited with {self._qemu.returncode}:\n{log}")
            try:
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(path)
                return sock
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise RuntimeError("qemu serial socket never appeared")
                time.sleep(0.1)

    def wait_until_ready(self):
        """Wait for the autologin shell of a (new) boot and prepare it."""
        self.boot_id = self.console.wait_for_shell(self.BOOT_TIMEOUT, not_boot_id=self.boot_id or None)
        self.console.run(self.SHELL_SETUP, timeout=30)

    def reboot(self):
        self.console.send("systemctl reboot\n")
        self.wait_until_ready()

    def run(self, command: str, timeout: float = 120) -> Result:
        try:
            return self.console.run(command, timeout)
        except ConsoleTimeout:
            self.console.interrupt()
            raise

    def stop(self):
        if self.console:
            self.console.close()
        if self._qemu and self._qemu.poll() is None:
            self._qemu.terminate()
            try:
                self._qemu.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._qemu.kill()
                self._qemu.wait()
        if self._sockdir:
            shutil.rmtree(self._sockdir, ignore_errors=True)


def die_with_parent():
    """Runs in the qemu child before exec: if the harness is killed (a CI
    timeout, Ctrl-C), the kernel sends qemu SIGTERM instead of leaving it
    running on a core."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# Scripts that make the Debian guest emulate another distribution's layout
# (tests/lab/emulations), on the tools disk under emulations/.
EMULATIONS = Path(__file__).resolve().parent / "emulations"


def make_tools_disk(binary: Path | None, image: Path, deb: Path | None = None):
    """A small ext4 disk holding the sshdoctor binary (and the .deb under its
    own name, for the deb-install step, and the emulations), mounted read-only
    in the guest at /mnt/sshdoctor, so a new binary never rebuilds the image.
    Without a binary the disk has none and every verdict fails clearly."""
    with tempfile.TemporaryDirectory() as staging:
        shutil.copytree(EMULATIONS, Path(staging) / "emulations")
        size_mb = 16
        if binary:
            target = Path(staging) / "sshdoctor"
            target.write_bytes(binary.read_bytes())
            target.chmod(0o755)
            size_mb += binary.stat().st_size // (1 << 20) * 2
        if deb:
            (Path(staging) / deb.name).write_bytes(deb.read_bytes())
            size_mb += deb.stat().st_size // (1 << 20) * 2
        subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "sshdoctor", "-d", staging,
                        str(image), f"{size_mb}M"], check=True, stdout=subprocess.DEVNULL)
