#!/usr/bin/env python3
"""Speed and memory of a full sshdoctor diagnosis, next to `ss -ltpn` on the same machine.

Two conditions: the machine as it is, and under a synthetic load of many idle processes
holding many file descriptors (the case where `ss -ltpn` pays for reading every fd of every
process, and sshdoctor should not). A real sshd listens on loopback during the runs so both
tools have an SSH socket to find and map to its process, and root holds one key in the
file that sshd reads for it, so the live probes (banner and key query) cost what they cost
on a VM; the probes' share is shown apart, from the verdicts' own timings, and next to a
run with --no-probe.

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
    user_key = os.path.join(workdir, "user_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", user_key], check=True)
    os.makedirs(os.path.join(workdir, "keys"))
    shutil.copy(user_key + ".pub", os.path.join(workdir, "keys", "root"))
    config = os.path.join(workdir, "sshd_config")
    with open(config, "w") as out:
        out.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\n"
                  f"PidFile {workdir}/sshd.pid\nUsePAM no\nStrictModes no\n"
                  f"AuthorizedKeysFile {workdir}/keys/%u\n")
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


def probe_costs(doctor, runs):
    """Median elapsed_ms of the live probes, as each verdict reports them, and whether the
    key query really was answered (else the bench would time the wrong thing)."""
    import json
    costs = {}
    for _ in range(runs):
        verdict = json.loads(subprocess.run(doctor, capture_output=True, text=True).stdout)
        for probe in verdict["probes"]:
            if probe["name"].startswith("live"):
                costs.setdefault(probe["name"], []).append(probe["elapsed_ms"])
        outcomes = [q["outcome"] for q in verdict["facts"]["live"]["key_queries"]]
        if outcomes != ["accepted"]:
            sys.exit(f"bench: the key query was not answered as expected: {outcomes}")
    return {name: statistics.median(values) for name, values in costs.items()}


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
    doctor = [args.binary, "--format", "json", "--imds", "never", "--config", config,
              "--user", "root"]
    rows = []
    costs = {}
    try:
        for condition, load in (("idle", 0), (f"{args.processes} procs x {args.fds} fds", args.processes)):
            children = start_idle_load(load, args.fds) if load else []
            try:
                commands = (("sshdoctor", doctor), ("sshdoctor --no-probe", doctor + ["--no-probe"]),
                            ("ss -ltpn", [ss, "-ltpn"]), ("ss -ltn", [ss, "-ltn"]),
                            ("true (floor)", [shutil.which("true")]))
                for name, argv in commands:
                    median, rss = measure(argv, args.runs)
                    rows.append((condition, name, median * 1000, rss / 1024))
                if not load:
                    costs = probe_costs(doctor, args.runs)
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
    print("\nlive probes (idle), median elapsed within a diagnosis:")
    for name, millis in costs.items():
        print(f"  {name}: {millis:.1f} ms")
    print(f"\n{TARGETS}")


if __name__ == "__main__":
    main()
