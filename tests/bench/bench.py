#!/usr/bin/env python3
"""Speed and memory of a full sshdoctor diagnosis, next to `ss -ltpn` on the same machine.

Two conditions: the machine as it is, and under a synthetic load of many idle processes
holding many file descriptors (the case where `ss -ltpn` pays for reading every fd of every
process, and sshdoctor should not). A real sshd listens on loopback during the runs so both
tools have an SSH socket to find and map to its process.

Prints a Markdown table; never asserts timings (targets are read, not enforced).
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"  # Debian package "time"
TARGETS = "targets: median <= 30 ms idle, >= 3x faster than ss -ltpn under load, peak RSS <= 10 MB, binary <= 2.5 MB"


def run_once(argv):
    """Runs argv with output discarded; returns its wall time in seconds."""
    discard = [(os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_WRONLY, 0) for fd in (1, 2)]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=discard)
    os.waitpid(pid, 0)
    return time.perf_counter() - started


def peak_rss_kib(argv):
    """Peak RSS of one run, measured by GNU time.

    Not from our own wait4: the kernel folds the pre-exec image into a child's peak RSS,
    so any child of this Python would report Python's size. GNU time is a small C
    program, so its child's pre-exec image is small.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run([GNU_TIME, "-f", "%M", "-o", report.name, *argv],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return int(report.read().strip().splitlines()[-1])


def measure(argv, runs):
    run_once(argv)  # warm the page cache
    times = [run_once(argv) for _ in range(runs)]
    return statistics.median(times), max(peak_rss_kib(argv) for _ in range(3))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sshd(workdir):
    """A real sshd on a loopback port, with its own host key and config."""
    key = os.path.join(workdir, "host_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    port = free_port()
    config = os.path.join(workdir, "sshd_config")
    with open(config, "w") as out:
        out.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\n"
                  f"PidFile {workdir}/sshd.pid\nUsePAM no\n")
    os.makedirs("/run/sshd", exist_ok=True)
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return sshd, config
        time.sleep(0.05)
    sshd.kill()
    sys.exit("sshd did not start listening")


def start_idle_load(processes, fds_each):
    """`processes` sleeping children, each holding `fds_each` open descriptors."""
    held = [os.open("/dev/null", os.O_RDONLY) for _ in range(fds_each)]
    children = [subprocess.Popen(["sleep", "600"], pass_fds=held, stdout=subprocess.DEVNULL)
                for _ in range(processes)]
    for fd in held:
        os.close(fd)
    return children


def stop(children):
    for child in children:
        child.send_signal(signal.SIGKILL)
    for child in children:
        child.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--processes", type=int, default=2000)
    parser.add_argument("--fds", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (both tools read other processes' fds)")
    if not os.path.exists(GNU_TIME):
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
    ss = shutil.which("ss")
    workdir = tempfile.mkdtemp(prefix="sshdoctor-bench-")
    sshd, config = start_sshd(workdir)
    doctor = [args.binary, "--format", "json", "--config", config]
    rows = []
    try:
        for condition, load in (("idle", 0), (f"{args.processes} procs x {args.fds} fds", args.processes)):
            children = start_idle_load(load, args.fds) if load else []
            try:
                commands = (("sshdoctor", doctor), ("ss -ltpn", [ss, "-ltpn"]),
                            ("ss -ltn", [ss, "-ltn"]), ("true (floor)", [shutil.which("true")]))
                for name, argv in commands:
                    median, rss = measure(argv, args.runs)
                    rows.append((condition, name, median * 1000, rss / 1024))
            finally:
                stop(children)
    finally:
        sshd.kill()
        sshd.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    size = os.path.getsize(args.binary)
    print(f"binary: {args.binary}, {size} bytes ({size / 1048576:.2f} MiB); {args.runs} runs each; {os.cpu_count()} cores")
    print()
    print("| condition | command | median wall (ms) | peak RSS (MiB) |")
    print("|---|---|---:|---:|")
    for condition, name, millis, mib in rows:
        print(f"| {condition} | {name} | {millis:.1f} | {mib:.1f} |")
    by = {(c, n): m for c, n, m, _ in rows}
    for condition in dict.fromkeys(c for c, _, _, _ in rows):
        ratio = by[(condition, "ss -ltpn")] / by[(condition, "sshdoctor")]
        print(f"\n{condition}: sshdoctor is {ratio:.1f}x the speed of ss -ltpn")
    print(f"\n{TARGETS}")


if __name__ == "__main__":
    main()
