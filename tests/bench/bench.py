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
TARGETS = ("targets: median <= 15 ms idle (--no-probe), >= 20x faster than ss -ltpn under 2,000 x 50 fds, "
           "peak RSS <= 10 MB under every load, <= 2 s with 10,000 firewall rules, binary <= 2.5 MB")


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


def own_peak_rss_kib(argv, name):
    """Peak RSS of the process called `name` alone, without the programs it runs (nft,
    journalctl), which GNU time counts in: its VmHWM, read from /proc every millisecond
    until it exits (the high-water mark only grows, so the last reading is the peak but
    for what it touches in its last millisecond)."""
    discard = [(os.POSIX_SPAWN_OPEN, fd, "/dev/null", os.O_WRONLY, 0) for fd in (1, 2)]
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=discard)
    peak = 0
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        for child in [pid] + children_of(pid):
            try:
                with open(f"/proc/{child}/status") as status:
                    fields = dict(line.split(":", 1) for line in status if ":" in line)
            except OSError:
                continue
            if fields.get("Name", "").strip() == name and "VmHWM" in fields:
                peak = max(peak, int(fields["VmHWM"].split()[0]))
        time.sleep(0.001)
    return peak


def children_of(pid):
    """The pids whose parent is `pid` (nsenter forks the program it runs)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


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


class NamespaceLoad:
    """A load that lives in namespaces of its own, so nothing on the machine sees it: a
    holder process keeps them, and each measured command enters them with nsenter (the
    same wrapper around `true` is the condition's floor)."""

    def __init__(self, unshare_flags, setup):
        self.holder = subprocess.Popen(
            ["unshare", *unshare_flags, "sh", "-c", f"set -e; {setup}; echo ready; exec sleep 3600"],
            stdout=subprocess.PIPE, text=True)
        if self.holder.stdout.readline().strip() != "ready":
            self.holder.kill()
            sys.exit(f"bench: load setup failed: {setup[:200]}")
        self.enter = [shutil.which("nsenter"), "-t", str(self.holder.pid)] + [
            flag for flag, wanted in (("--mount", "--mount"), ("--net", "--net"))
            if wanted in unshare_flags]

    def stop(self):
        self.holder.kill()
        self.holder.wait()


def accounts_load(count):
    """`count` local accounts with a login shell and a home: passwd, shadow and group
    files bound over the real ones, homes on a tmpfs, in a private mount namespace."""
    work = tempfile.mkdtemp(prefix="sshdoctor-bench-accounts-")
    with open("/etc/passwd") as real:
        passwd = real.read()
    with open("/etc/shadow") as real:
        shadow = real.read()
    with open("/etc/group") as real:
        group = real.read()
    ids = range(20000, 20000 + count)
    passwd += "".join(f"user{i}:x:{i}:{i}::/home/user{i}:/bin/bash\n" for i in ids)
    shadow += "".join(f"user{i}:!:19000:0:99999:7:::\n" for i in ids)
    group += "".join(f"user{i}:x:{i}:\n" for i in ids)
    for name, text in (("passwd", passwd), ("shadow", shadow), ("group", group)):
        with open(os.path.join(work, name), "w") as out:
            out.write(text)
    homes = os.path.join(work, "homes")
    with open(homes, "w") as out:
        out.write("".join(f"/home/user{i}\n" for i in ids))
    setup = (f"mount --make-rprivate /; mount -t tmpfs tmpfs /home; xargs mkdir < {homes}; "
             + "; ".join(f"mount --bind {work}/{name} /etc/{name}" for name in ("passwd", "shadow", "group")))
    return NamespaceLoad(["--mount"], setup), work


def nft_load(rules):
    """An nftables ruleset of `rules` rules on the input hook, in a network namespace of
    its own (loopback only)."""
    work = tempfile.mkdtemp(prefix="sshdoctor-bench-nft-")
    ruleset = os.path.join(work, "ruleset.nft")
    with open(ruleset, "w") as out:
        out.write("table inet filter {\n  chain input {\n"
                  "    type filter hook input priority 0; policy accept;\n")
        for i in range(rules):
            source = f"198.51.{(i // 250) % 250}.{i % 250 + 1}"
            out.write(f"    ip saddr {source} tcp dport {1024 + i % 60000} drop\n")
        out.write("    tcp dport 22 accept\n  }\n}\n")
    setup = f"ip link set lo up; nft -f {ruleset}"
    return NamespaceLoad(["--net"], setup), work


def journal_load(gigabytes, cache_dir):
    """A journal of about `gigabytes` GB (other services' chatter, a few sshd lines), made
    once with systemd-journal-remote and kept in `cache_dir`, shown as this machine's
    journal in a private mount namespace."""
    with open("/etc/machine-id") as machine:
        machine_id = machine.read().strip()
    journal_dir = os.path.join(cache_dir, "journal")
    target = int(gigabytes * 1e9)
    current = sum(os.path.getsize(os.path.join(root, name))
                  for root, _, names in os.walk(journal_dir) for name in names) if os.path.isdir(journal_dir) else 0
    if current < target * 0.9:
        remote = "/lib/systemd/systemd-journal-remote"
        if not os.path.exists(remote):
            subprocess.run(["apt-get", "install", "-y", "-qq", "systemd-journal-remote"], check=True)
        shutil.rmtree(journal_dir, ignore_errors=True)
        os.makedirs(os.path.join(journal_dir, machine_id))
        output = os.path.join(journal_dir, machine_id, "remote.journal")
        feeder = subprocess.Popen([remote, f"--output={output}", "--split-mode=none", "-"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        written, n = 0, 0
        start = int(time.time() - 6 * 86400) * 1_000_000
        while written < target:
            chunk = []
            for _ in range(2000):
                n += 1
                ts = start + n * 100
                if n % 1000 == 0:
                    message = f"Accepted publickey for root from 192.0.2.{n % 250} port {n % 60000} ssh2"
                    fields = f"_COMM=sshd\nSYSLOG_IDENTIFIER=sshd\n_PID={1000 + n % 5000}\n"
                else:
                    message = f"worker {n}: processed batch {n * 7} in {n % 97} ms, queue depth {n % 13}, " + "x" * 200
                    fields = "_COMM=app\nSYSLOG_IDENTIFIER=app\n_PID=4242\n"
                chunk.append(f"__REALTIME_TIMESTAMP={ts}\n__MONOTONIC_TIMESTAMP={ts}\n_BOOT_ID=4a2b0a6f3c3d4e5f8a9b0c1d2e3f4a5b\n"
                             f"_MACHINE_ID={machine_id}\n_HOSTNAME=bench\nPRIORITY=6\n{fields}MESSAGE={message}\n\n")
            data = "".join(chunk).encode()
            feeder.stdin.write(data)
            written += len(data)
        feeder.stdin.close()
        feeder.wait()
    setup = f"mount --make-rprivate /; mount --bind {journal_dir} /var/log/journal"
    return NamespaceLoad(["--mount"], setup)


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


def measure_in(load, doctor, runs, rows, condition):
    """The diagnosis (without the probes, which need the bench's sshd) and the floor,
    both entered into `load`'s namespaces."""
    for name, argv in (("sshdoctor --no-probe", doctor + ["--no-probe"]),
                       ("nsenter + true (floor)", [shutil.which("true")])):
        median, rss = measure(load.enter + argv, runs)
        own = own_peak_rss_kib(load.enter + argv, "sshdoctor") if name.startswith("sshdoctor") else 0
        rows.append((condition, name, median * 1000, rss / 1024, own / 1024))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--processes", type=int, default=2000)
    parser.add_argument("--fds", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--nft-rules", type=int, default=10000)
    parser.add_argument("--journal-gb", type=float, default=2.0)
    parser.add_argument("--cache-dir", default="/var/cache/sshdoctor-bench")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (both tools read other processes' fds)")
    if not os.path.exists(GNU_TIME):
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
    ss = shutil.which("ss")
    # Absolute: entering a mount namespace moves the working directory to its root.
    args.binary = os.path.abspath(args.binary)
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
                    own = own_peak_rss_kib(argv, "sshdoctor") if name.startswith("sshdoctor") else 0
                    rows.append((condition, name, median * 1000, rss / 1024, own / 1024))
                if not load:
                    costs = probe_costs(doctor, args.runs)
            finally:
                stop(children)
        loads = ((f"{args.accounts} accounts", lambda: accounts_load(args.accounts)[0]),
                 (f"{args.nft_rules} nft rules", lambda: nft_load(args.nft_rules)[0]),
                 (f"{args.journal_gb:g} GB journal", lambda: journal_load(args.journal_gb, args.cache_dir)))
        for condition, make in loads:
            load = make()
            try:
                measure_in(load, doctor, args.runs, rows, condition)
            finally:
                load.stop()
    finally:
        sshd.kill()
        sshd.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    size = os.path.getsize(args.binary)
    print(f"binary: {args.binary}, {size} bytes ({size / 1048576:.2f} MiB); {args.runs} runs each; {os.cpu_count()} cores")
    print()
    print("| condition | command | median wall (ms) | peak RSS, with the tools it runs (MiB) | sshdoctor's own peak RSS (MiB) |")
    print("|---|---|---:|---:|---:|")
    for condition, name, millis, mib, own in rows:
        own_text = f"{own:.1f}" if own else "—"
        print(f"| {condition} | {name} | {millis:.1f} | {mib:.1f} | {own_text} |")
    by = {(c, n): m for c, n, m, _, _ in rows}
    for condition in dict.fromkeys(c for c, _, _, _, _ in rows):
        if (condition, "ss -ltpn") not in by:
            continue
        for name in ("sshdoctor", "sshdoctor --no-probe"):
            ratio = by[(condition, "ss -ltpn")] / by[(condition, name)]
            print(f"\n{condition}: {name} is {ratio:.1f}x the speed of ss -ltpn")
    print("\nlive probes (idle), median elapsed within a diagnosis:")
    for name, millis in costs.items():
        print(f"  {name}: {millis:.1f} ms")
    print(f"\n{TARGETS}")


if __name__ == "__main__":
    main()
