"""The deb-install step: the .deb installed with dpkg in the guest as a person
would, a reboot, and the boot-time verdict checked where a person at the
Serial Console looks for it (the console, the journal, last.json); then the
timer's second run, that a diagnosis writes nothing but last.json, and
dpkg -r / dpkg -P.  See README.md, "The deb-install step"."""

import json
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from labvm import ConsoleTimeout, LabVm
from scenarios import EXIT_CODE_FOR_STATUS, GUEST_TOOLS_DIR, IMDS_ENV

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "agent/schema/verdict.schema.json"
UNITS = ("sshdoctor.service", "sshdoctor.timer")
LOG_DIR = "/var/log/sshdoctor"
LAST_JSON = f"{LOG_DIR}/last.json"
STAMP = "/run/lab-stamp"

# What the package installs besides the units (agent/Cargo.toml, [package.metadata.deb]).
INSTALLED_FILES = (
    "/usr/bin/sshdoctor",
    "/usr/share/man/man1/sshdoctor.1.gz",
    "/usr/share/bash-completion/completions/sshdoctor",
    "/usr/share/zsh/vendor-completions/_sshdoctor",
    "/usr/share/doc/sshdoctor/rules.md",
    "/usr/lib/systemd/system/sshdoctor.service",
    "/usr/lib/systemd/system/sshdoctor.timer",
)

# The unit's output reaches the console through journald, which prefixes the
# kernel-style timestamp and "sshdoctor[PID]: "; the text renderer's first line
# is "STATUS: summary" (agent/src/render/text.rs).
STATUS_LINE = re.compile(rb"sshdoctor\[(\d+)\]: (HEALTHY|WARNING|CRITICAL|UNKNOWN): ([^\r\n]*)")

# Paths on the root filesystem that may change while the unit and a person
# each run a diagnosis (find / -xdev -newer STAMP), and why:
#   /var/log/journal/...        journald storing the run's output (and whatever
#                               else the guest logs meanwhile)
#   /var/log/sshdoctor(/last.json)  the --save of the unit (a new file renamed
#                               over the old one, so the directory changes too)
# Nothing else: the unit has no PrivateTmp=, so no /tmp/systemd-private-* dirs
# come and go, and sshdoctor.timer is not Persistent=, so systemd keeps no stamp
# under /var/lib/systemd/timers.  /run, /tmp (trixie), /proc, /sys and /dev are
# other filesystems, which -xdev leaves out.
ALLOWED_WRITES = re.compile(r"^(/var/log/journal(/.*)?|/var/log/sshdoctor|/var/log/sshdoctor/last\.json)$")

# Longest waits.  The boot run starts after ssh.service and takes 1-3 s under
# TCG; the timer fires 2 min after boot (OnBootSec=2min).
BOOT_RUN_TIMEOUT = 180
TIMER_TIMEOUT = 240


@dataclass
class DebRun:
    """What the step found: each check with its outcome, and the boot verdict
    (reported in the table like a scenario's verdict)."""
    checks: list[dict] = field(default_factory=list)
    status: str = ""
    ids: list[str] = field(default_factory=list)
    rc: int | None = None
    error: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, problem: str) -> bool:
        """Record one check; `problem` says what is wrong, and is kept only
        when it is."""
        self.checks.append({"check": name, "ok": bool(ok), "problem": "" if ok else problem})
        return ok

    @property
    def problems(self) -> list[str]:
        return [f"{c['check']}: {c['problem']}" for c in self.checks if not c["ok"]]


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def show(vm: LabVm, unit: str, *props: str) -> dict[str, str]:
    """`systemctl show -p` as a dict (-P with several properties prints the
    values in systemd's order, not ours)."""
    args = " ".join(f"-p {p}" for p in props)
    out = vm.run(f"systemctl show {args} {unit}", timeout=30).output
    return dict(line.split("=", 1) for line in lines(out) if "=" in line)


def schema_problems(document) -> list[str]:
    """The verdict schema's required fields and enums (agent/schema), checked
    without a JSON Schema library: the host has none."""
    schema = json.loads(SCHEMA.read_text())
    if not isinstance(document, dict):
        return [f"not a JSON object but {type(document).__name__}"]
    problems = [f"no {key!r}" for key in schema["required"] if key not in document]
    status = document.get("status")
    if status not in schema["properties"]["status"]["enum"]:
        problems.append(f"status {status!r} not in the schema's enum")
    elif document.get("exit_code") != EXIT_CODE_FOR_STATUS[status]:
        problems.append(f"exit_code {document.get('exit_code')!r} does not match status {status!r}")
    findings = document.get("findings")
    if not isinstance(findings, list):
        return problems + ["findings is not an array"]
    finding_schema = schema["$defs"]["finding"]
    for finding in findings:
        missing = [key for key in finding_schema["required"] if key not in finding]
        if missing or not re.fullmatch(finding_schema["properties"]["id"]["pattern"], str(finding.get("id"))):
            problems.append(f"finding {finding.get('id')!r} lacks {', '.join(missing) or 'a valid id'}")
    return problems


def parse_verdict(text: str) -> tuple[dict | None, str]:
    try:
        return json.loads(text), ""
    except ValueError as error:
        return None, f"not JSON ({error}); starts {text[:120]!r}"


def ids_of(document: dict) -> list[str]:
    return [finding.get("id", "?") for finding in document.get("findings", [])]


def dpkg(vm: LabVm, args: str) -> tuple[int, str]:
    """dpkg with its progress kept off the console; the log's tail on failure."""
    result = vm.run(f"dpkg {args} >/run/lab-dpkg.log 2>&1 || "
                    "{ rc=$?; tail -n 15 /run/lab-dpkg.log; (exit $rc); }", timeout=300)
    return result.rc, result.output.strip()


def symlinks_named_sshdoctor(vm: LabVm, where: str) -> list[str]:
    """Every sshdoctor* entry under `where`, as 'live PATH', 'dangling PATH' or
    'file PATH'."""
    script = (f"find {where} -name 'sshdoctor*' 2>/dev/null | sort | while read -r p; do "
              'if [ ! -L "$p" ]; then echo "file $p"; elif [ -e "$p" ]; then echo "live $p"; '
              'else echo "dangling $p"; fi; done')
    return lines(vm.run(script, timeout=30).output)


def run_deb_install(vm: LabVm, run: DebRun, deb_name: str, outdir: Path, expect_status: tuple[str, ...]):
    """Fill `run` check by check (what it holds survives a console timeout,
    after which lab.recover's FULL_RESET purges the package)."""
    clock = time.monotonic()

    def lap(name: str):
        nonlocal clock
        run.seconds[name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    if install(vm, deb_name, run):
        lap("install")
        boot_doc = reboot_and_check_boot_run(vm, run, outdir, expect_status)
        lap("reboot and boot run")
        check_timer_run(vm, run)
        lap("timer run")
        check_interactive(vm, run, outdir, boot_doc)
        lap("interactive run")
        check_writes(vm, run)
        lap("writes")
        check_remove(vm, run)
        lap("remove")
        check_purge(vm, run)
        lap("purge")
    # Whatever failed, later scenarios get a guest without the package.
    vm.run(f"dpkg -s sshdoctor >/dev/null 2>&1 && dpkg -P sshdoctor >/dev/null 2>&1; rm -rf {LOG_DIR}",
           timeout=300)


def install(vm: LabVm, deb_name: str, run: DebRun) -> bool:
    # The lab image's dpkg.cfg.d leaves out /usr/share/man and /usr/share/doc
    # (mmdebstrap --dpkgopt, to keep it small); a real VM has no such filter, so
    # --path-include='*' undoes it for this package.
    rc, tail = dpkg(vm, f"--path-include='*' -i {shlex.quote(f'{GUEST_TOOLS_DIR}/{deb_name}')}")
    if not run.check("dpkg -i", rc == 0, f"dpkg -i {deb_name} exited {rc}: {tail[-600:]}"):
        return False
    version = vm.run("/usr/bin/sshdoctor --version", timeout=30)
    run.notes.append(f"installed {deb_name}: {version.output.strip()}")
    run.check("after install: /usr/bin/sshdoctor runs", version.rc == 0,
              f"/usr/bin/sshdoctor --version exited {version.rc}: {version.output.strip()[:200]}")

    listed = set(lines(vm.run("dpkg -L sshdoctor", timeout=60).output))
    unlisted = [path for path in INSTALLED_FILES if path not in listed]
    run.check("after install: dpkg -L", not unlisted, f"dpkg -L sshdoctor does not list {', '.join(unlisted)}")
    files = " ".join(INSTALLED_FILES)
    absent = lines(vm.run(f"for f in {files}; do [ -f \"$f\" ] || echo \"$f\"; done", timeout=30).output)
    run.check("after install: files", not absent, f"not on disk: {', '.join(absent)}")

    # enable = true, start = false: enabled for the next boot, not run now.
    enabled = lines(vm.run(f"systemctl is-enabled {' '.join(UNITS)}", timeout=30).output)
    run.check("after install: enabled", enabled == ["enabled", "enabled"],
              f"systemctl is-enabled {' '.join(UNITS)} says {enabled}, expected enabled twice")
    active = lines(vm.run(f"systemctl is-active {' '.join(UNITS)}", timeout=30).output)
    run.check("after install: not started", active == ["inactive", "inactive"],
              f"systemctl is-active {' '.join(UNITS)} says {active}, expected inactive twice "
              "(start = false)")
    exists = vm.run(f"ls -ld {LAST_JSON}", timeout=30)
    run.check("after install: no verdict yet", exists.rc != 0,
              f"{LAST_JSON} exists before any run: {exists.output.strip()}")
    return True


def reboot_and_check_boot_run(vm: LabVm, run: DebRun, outdir: Path,
                              expect_status: tuple[str, ...]) -> dict | None:
    """Reboot, wait for the boot run to end, and check what it left on the
    console, in the journal and in last.json.  Returns last.json of that run."""
    reboot_mark = vm.console.mark()
    started = time.monotonic()
    vm.reboot()
    run.seconds["reboot to shell"] = round(time.monotonic() - started, 1)

    # The shell can be up before the unit has run (it waits for ssh.service).
    vm.run(f"for i in $(seq {BOOT_RUN_TIMEOUT * 2}); do "
           "[ \"$(systemctl show -P ExecMainExitTimestampMonotonic sshdoctor.service)\" != 0 ] && break; "
           "sleep 0.5; done", timeout=BOOT_RUN_TIMEOUT + 30)
    state = show(vm, "sshdoctor.service", "ExecMainExitTimestampMonotonic", "ExecMainStatus", "Result")
    if not run.check("boot: the unit ran", state.get("ExecMainExitTimestampMonotonic", "0") != "0",
                     f"sshdoctor.service had not run {BOOT_RUN_TIMEOUT}s after the shell came up "
                     f"({state})"):
        run.error = "no boot run"
        return None
    run.rc = int(state.get("ExecMainStatus", "-1"))
    run.check("boot: unit result", state.get("Result") == "success",
              f"sshdoctor.service Result={state.get('Result')} (exit status {run.rc}; "
              "SuccessExitStatus should cover 1-3)")

    # The console: the status line must be there, from journald's forward of
    # the unit's output (StandardOutput=journal+console).  Nothing typed at the
    # console since the reboot prints it, so any match is the unit's.
    console_status = console_summary = ""
    try:
        match = vm.console.wait_for(STATUS_LINE, reboot_mark, timeout=20)
        console_status, console_summary = match.group(2).decode(), match.group(3).decode(errors="replace")
    except ConsoleTimeout:
        pass
    run.check("boot: console", bool(console_status),
              "no 'sshdoctor[PID]: STATUS: summary' line on the serial console of the boot")

    journal = vm.run("journalctl -b -u sshdoctor.service -o cat --no-pager", timeout=60).output
    (outdir / "boot-journal.txt").write_text(journal)
    journal_status = [line for line in journal.splitlines()
                      if re.match(r"(HEALTHY|WARNING|CRITICAL|UNKNOWN): ", line)]
    run.check("boot: journal", bool(journal_status),
              "no 'STATUS: summary' line in journalctl -b -u sshdoctor.service")

    stat = lines(vm.run(f"stat -c '%a %U:%G %F %n' {LOG_DIR} {LAST_JSON}", timeout=30).output)
    expected = [f"700 root:root directory {LOG_DIR}", f"600 root:root regular file {LAST_JSON}"]
    run.check("boot: last.json modes", stat == expected, f"stat says {stat}, expected {expected}")

    text = vm.run(f"cat {LAST_JSON}", timeout=60).output
    (outdir / "boot-last.json").write_text(text)
    document, error = parse_verdict(text)
    if not run.check("boot: last.json", document is not None, f"{LAST_JSON}: {error}"):
        run.error = f"{LAST_JSON}: {error}"
        return None
    schema = schema_problems(document)
    run.check("boot: last.json schema", not schema, f"{LAST_JSON} does not fit the schema: {'; '.join(schema)}")
    run.status, run.ids = document.get("status", ""), ids_of(document)

    # The same verdict in all three places, and the unit's exit status.
    summary = str(document.get("summary", ""))
    if console_status:
        run.check("boot: console = last.json",
                  console_status.lower() == run.status and summary.startswith(console_summary.strip()),
                  f"console says {console_status}: {console_summary!r}, last.json {run.status}: {summary!r}")
    if journal_status:
        run.check("boot: journal = last.json", journal_status[0].startswith(f"{run.status.upper()}: "),
                  f"journal says {journal_status[0]!r}, last.json {run.status}")
    run.check("boot: exit status", run.rc == EXIT_CODE_FOR_STATUS.get(run.status),
              f"the unit exited {run.rc}, status {run.status!r} means {EXIT_CODE_FOR_STATUS.get(run.status)}")
    run.check("boot: status", run.status in expect_status,
              f"boot verdict {run.status} ({', '.join(run.ids) or 'no findings'}), "
              f"expected {' or '.join(expect_status)}")

    timers = vm.run("systemctl list-timers --no-legend sshdoctor.timer", timeout=30).output
    run.check("boot: timer scheduled", "sshdoctor.timer" in timers,
              "systemctl list-timers does not list sshdoctor.timer after the boot")
    return document


def check_timer_run(vm: LabVm, run: DebRun):
    """Wait for sshdoctor.timer's run 2 min after boot.  Later checks then
    meet no unit output on the console in the middle of theirs."""
    first = show(vm, "sshdoctor.service", "ExecMainExitTimestampMonotonic").get("ExecMainExitTimestampMonotonic")
    vm.run(f"for i in $(seq {TIMER_TIMEOUT}); do "
           "[ \"$(systemctl show -P LastTriggerUSecMonotonic sshdoctor.timer)\" != 0 ] && "
           f"[ \"$(systemctl show -P ExecMainExitTimestampMonotonic sshdoctor.service)\" != {first} ] && "
           "[ \"$(systemctl show -P ActiveState sshdoctor.service)\" = inactive ] && break; "
           "sleep 1; done", timeout=TIMER_TIMEOUT + 60)
    state = show(vm, "sshdoctor.service", "ExecMainExitTimestampMonotonic", "Result")
    uptime = vm.run("cut -d' ' -f1 /proc/uptime", timeout=30).output.strip()
    run.check("timer: second run", state.get("ExecMainExitTimestampMonotonic") != first
              and state.get("Result") == "success",
              f"sshdoctor.timer did not run sshdoctor.service again by uptime {uptime}s "
              f"(OnBootSec=2min): {state}")


def check_interactive(vm: LabVm, run: DebRun, outdir: Path, boot_doc: dict | None):
    """A person's run now must agree with the boot run."""
    result = vm.run(f"{IMDS_ENV} /usr/bin/sshdoctor --format json 2>/run/sshdoctor.stderr", timeout=180)
    (outdir / "verdict.json").write_text(result.output)
    document, error = parse_verdict(result.output)
    if not run.check("interactive: verdict", document is not None, f"/usr/bin/sshdoctor --format json: {error}"):
        return
    if boot_doc is None:
        return
    boot = (boot_doc.get("status"), sorted(set(ids_of(boot_doc))))
    now = (document.get("status"), sorted(set(ids_of(document))))
    run.check("interactive = boot", boot == now,
              f"boot verdict {boot[0]} {boot[1]}, interactive {now[0]} {now[1]}")


def check_writes(vm: LabVm, run: DebRun):
    """The unit's run and a person's run write nothing on / but last.json
    (and the journal)."""
    vm.run(f"touch {STAMP}; sleep 0.1", timeout=30)
    start = vm.run("systemctl start sshdoctor.service", timeout=180)
    run.check("writes: unit run", start.rc == 0, f"systemctl start sshdoctor.service exited {start.rc}: "
              f"{start.output.strip()[:300]}")
    vm.run(f"{IMDS_ENV} /usr/bin/sshdoctor --format text >/dev/null 2>&1", timeout=180)
    changed = lines(vm.run(f"find / -xdev -newer {STAMP} 2>/dev/null", timeout=120).output)
    unexpected = [path for path in changed if not ALLOWED_WRITES.match(path)]
    run.check("writes: nothing else", not unexpected,
              f"changed on / during a unit run and an interactive run: {', '.join(unexpected[:20])}")
    run.check("writes: last.json", LAST_JSON in changed, f"the unit's run did not rewrite {LAST_JSON}")


def check_remove(vm: LabVm, run: DebRun):
    rc, tail = dpkg(vm, "-r sshdoctor")
    if not run.check("dpkg -r", rc == 0, f"dpkg -r sshdoctor exited {rc}: {tail[-600:]}"):
        return
    gone = vm.run("ls -l /usr/bin/sshdoctor", timeout=30)
    run.check("after remove: binary", gone.rc != 0, f"/usr/bin/sshdoctor still there: {gone.output.strip()}")
    enabled = lines(vm.run(f"systemctl is-enabled {' '.join(UNITS)} 2>&1", timeout=30).output)
    run.check("after remove: not enabled", "enabled" not in enabled,
              f"systemctl is-enabled {' '.join(UNITS)} says {enabled}")
    active = lines(vm.run(f"systemctl is-active {' '.join(UNITS)}", timeout=30).output)
    run.check("after remove: stopped", "active" not in active, f"systemctl is-active says {active}")
    timers = vm.run("systemctl list-timers --no-legend", timeout=30).output
    run.check("after remove: no timer", "sshdoctor" not in timers,
              f"systemctl list-timers still lists it: {timers.strip()[:300]}")
    # Debian's convention (debhelper's postrm, generated by cargo-deb): remove
    # masks the units and keeps the enablement symlinks, so a reinstall
    # restores what the admin had chosen; purge deletes them.  The symlinks
    # left point at unit files dpkg has deleted: nothing may still resolve.
    wants = symlinks_named_sshdoctor(vm, "/etc/systemd/system/*.wants")
    live = [entry for entry in wants if not entry.startswith("dangling ")]
    run.check("after remove: no live .wants symlink", not live,
              f"still wanted by a target: {', '.join(live)}")
    if wants:
        run.notes.append(f"after dpkg -r (purge removes them): {', '.join(wants)}")
    load = lines(vm.run(f"systemctl show -P LoadState {' '.join(UNITS)}", timeout=30).output)
    run.check("after remove: not loadable", "loaded" not in load, f"LoadState {load}")
    # Policy 10.8: remove keeps the log, purge deletes it.
    kept = vm.run(f"test -f {LAST_JSON}", timeout=30)
    run.check("after remove: log kept", kept.rc == 0, f"{LAST_JSON} is gone after dpkg -r (only purge should)")


def check_purge(vm: LabVm, run: DebRun):
    rc, tail = dpkg(vm, "-P sshdoctor")
    if not run.check("dpkg -P", rc == 0, f"dpkg -P sshdoctor exited {rc}: {tail[-600:]}"):
        return
    status = vm.run("dpkg-query -W -f='${db:Status-Abbrev}' sshdoctor 2>&1", timeout=30)
    run.check("after purge: unknown to dpkg", status.rc != 0,
              f"dpkg-query still knows sshdoctor: {status.output.strip()}")
    left = symlinks_named_sshdoctor(vm, "/etc/systemd/system /var/lib/systemd")
    run.check("after purge: no unit links or state", not left,
              f"left under /etc/systemd/system or /var/lib/systemd: {', '.join(left)}")
    log = vm.run(f"ls -ld {LOG_DIR}", timeout=30)
    run.check("after purge: log removed", log.rc != 0, f"{LOG_DIR} is still there: {log.output.strip()}")
    load = lines(vm.run(f"systemctl show -P LoadState {' '.join(UNITS)}", timeout=30).output)
    run.check("after purge: units unknown", load == ["not-found", "not-found"], f"LoadState {load}")
