#!/usr/bin/env python3
"""sshdoctor VM lab: boot a real Debian VM, break SSH in known ways, run
sshdoctor over the serial console and check each verdict against whether a
real ssh client gets in.  See README.md next to this file."""

import argparse
import json
import os
import queue
import re
import shutil
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from deb_install import DebRun, run_deb_install
from ground_truth import Access, check_access
from image import Image, ensure_image
from labvm import ConsoleTimeout, LabVm, VmConfig, make_tools_disk
from scenarios import (BASELINE_PROBE, DEB_INSTALL, EXIT_CODE_FOR_STATUS, FINAL_CHECK, FORGET_FAILURES,
                       FULL_RESET, GUEST_BINARY, IMDS_ENV, SCENARIOS, SETTLE, SUITES, Scenario)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO / "target/x86_64-unknown-linux-musl/release/sshdoctor"
HOST_TOOLS = ["qemu-system-x86_64", "mmdebstrap", "mkfs.ext4", "ssh", "ssh-keygen"]


@dataclass
class Verdict:
    status: str = ""
    ids: list[str] = field(default_factory=list)
    rc: int | None = None
    error: str = ""
    # What the diagnosis could not see (probes not "ok"): the first clue when a verdict
    # differs from the expected one only on a slower machine.
    blind_spots: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    scenario: Scenario
    verdict: Verdict = field(default_factory=Verdict)
    access: dict[int, Access] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    vm_lost: bool = False
    expected_to_fail: bool = False
    skipped: str = ""  # why the scenario does not apply to this suite
    deb: DebRun | None = None  # the deb-install step's checks

    @property
    def passed(self) -> bool:
        return not self.problems and not self.skipped

    @property
    def label(self) -> str:
        if self.skipped:
            return "SKIP"
        if self.expected_to_fail:
            return "XPASS" if self.passed else "XFAIL"
        return "PASS" if self.passed else "FAIL"

    @property
    def counts_as_failure(self) -> bool:
        return bool(self.problems) and not self.expected_to_fail


def run_sshdoctor(vm: LabVm, outdir: Path) -> Verdict:
    """Run sshdoctor as a person at the serial console would, and parse the
    JSON it prints."""
    result = vm.run(f"{IMDS_ENV} {GUEST_BINARY} --format json "
                    "2>/run/sshdoctor.stderr", timeout=180)
    (outdir / "verdict.json").write_text(result.output)
    verdict = Verdict(rc=result.rc)
    try:
        document = json.loads(result.output)
        verdict.status = document["status"]
        verdict.ids = [finding["id"] for finding in document["findings"]]
        verdict.blind_spots = [f"{probe['name']} {probe['outcome']} after {probe['elapsed_ms']:.0f} ms: "
                               + "; ".join(probe["notes"])
                               for probe in document["probes"] if probe["outcome"] != "ok"]
    except (ValueError, KeyError, TypeError) as error:
        stderr = vm.run("tail -c 600 /run/sshdoctor.stderr", timeout=30).output.strip()
        verdict.error = (f"no usable JSON verdict (rc={result.rc}, {error.__class__.__name__}: {error}); "
                         f"stdout starts {result.output[:120]!r}; stderr: {stderr!r}")
    return verdict


# Colour and the progress line's erase sequence: what a terminal does not show as text.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SCREEN = (80, 24)


def screen_lines(raw: str) -> list[str]:
    """The lines a terminal shows for `raw`: escape sequences are not text, and a
    carriage return (the progress line being cleared) starts its line again."""
    return [ANSI_ESCAPE.sub("", line.split("\r")[-1]) for line in raw.rstrip("\n").split("\n")]


def run_text_verdict(vm: LabVm, outdir: Path) -> list[str]:
    """Run sshdoctor the way a person at the Azure Serial Console does: plain
    `sshdoctor` on a terminal that does not report its size (the lab's console is
    set back to 80x24 afterwards).  Returns the screen lines."""
    width, height = SCREEN
    result = vm.run("stty cols 0 rows 0; "
                    f"{IMDS_ENV} {GUEST_BINARY}; rc=$?; "
                    f"stty cols {width} rows {height}; (exit $rc)", timeout=180)
    lines = screen_lines(result.output)
    (outdir / "verdict.txt").write_text("\n".join(lines) + "\n")
    return lines


def text_problems(lines: list[str], outdir: Path) -> list[str]:
    """The text verdict against the JSON one: a status line first, every line within
    80 columns, and the first screenful holding the most severe finding and, when it
    has one, the command to run."""
    try:
        document = json.loads((outdir / "verdict.json").read_text())
    except ValueError:
        return []  # the JSON verdict's own problem is reported already
    width, height = SCREEN
    problems = []
    status = document["status"].upper()
    if not lines or not lines[0].startswith(f"{status}:"):
        problems.append(f"text: first line {lines[0] if lines else ''!r} is not the {status} status line")
    too_wide = [line for line in lines if len(line) > width]
    if too_wide:
        problems.append(f"text: {len(too_wide)} line(s) wider than {width} columns, e.g. {too_wide[0]!r}")
    first_screen = lines[:height]
    if document["findings"]:
        top = document["findings"][0]
        header = re.compile(rf"^{re.escape(top['severity'])} {re.escape(top['id'])} ", re.I)
        if not any(header.match(line) for line in first_screen):
            problems.append(f"text: the first {height} lines do not show {top['id']}")
        elif top["remediation"].get("guest") and not any(line.startswith("  run:  ") for line in first_screen):
            problems.append(f"text: the first {height} lines do not show the command for {top['id']}")
    return problems


# What a verdict must never carry: password hashes (crypt's $id$ prefixes), private key
# material (PEM armor; sshd's "UNPROTECTED PRIVATE KEY FILE" warning is no secret),
# bearer tokens (a JWT's header).
SECRET_MARKERS = ("$1$", "$5$", "$6$", "$y$", "$gy$", "$2b$", "$2y$", "PRIVATE KEY-----",
                  "eyJhbGci", "eyJ0eXAi")


def secret_problems(outdir: Path) -> list[str]:
    path = outdir / "verdict.json"
    text = path.read_text() if path.exists() else ""
    return [f"the verdict carries {marker!r}" for marker in SECRET_MARKERS if marker in text]


def verdict_problems(scenario: Scenario, verdict: Verdict) -> list[str]:
    if verdict.error:
        return [verdict.error]
    problems = []
    missing = [rule for rule in scenario.expect_ids if rule not in verdict.ids]
    if missing:
        problems.append(f"missing finding(s) {', '.join(missing)}")
    if verdict.status not in scenario.expect_status:
        problems.append(f"status {verdict.status!r}, expected {' or '.join(scenario.expect_status)}")
    expected_rc = EXIT_CODE_FOR_STATUS.get(verdict.status)
    if verdict.rc != expected_rc:
        problems.append(f"exit code {verdict.rc} does not match status {verdict.status!r}")
    return problems


def access_problems(scenario: Scenario, access: dict[int, Access]) -> list[str]:
    return [f"ssh to guest port {port}: {access[port].outcome} ({access[port].detail}), "
            f"expected {' or '.join(allowed)}"
            for port, allowed in scenario.access.items()
            if access[port].outcome not in allowed]


def verdict_fix_problems(vm: LabVm, scenario: Scenario, outdir: Path, key: Path) -> list[str]:
    """Run the first guest command of the expected finding as a person pastes it, and
    check that labuser can log in again."""
    document = json.loads((outdir / "verdict.json").read_text())
    wanted = scenario.expect_ids[0]
    finding = next((f for f in document["findings"] if f["id"] == wanted), None)
    commands = (finding or {}).get("remediation", {}).get("guest") or []
    if not commands:
        return [f"fix: {wanted} has no guest command"]
    fix = commands[0]
    (outdir / "fix.txt").write_text(fix + "\n")
    vm.run(FORGET_FAILURES)
    # As a script of its own lines: a fix may end in a "# ..." comment.
    vm.run(f"{fix}\ntrue", timeout=180)
    vm.run(SETTLE)
    after = check_access(vm.forwards[22], key)
    if after.outcome != "success":
        return [f"fix: after the verdict's {fix!r}, ssh gave {after.outcome} ({after.detail})"]
    return []


def fix_undo_problems(vm: LabVm, scenario: Scenario, outdir: Path, key: Path) -> list[str]:
    """When the expected finding carries actions: `sshdoctor fix --apply` as a person
    runs it must repair (labuser logs in), and `sshdoctor undo` must put the break back
    (the files the fix touched byte for byte, with their modes and owners, the unit's
    enablement as it was, and the login failing again)."""
    if not scenario.expect_ids or 22 not in scenario.access:
        return []
    document = json.loads((outdir / "verdict.json").read_text())
    wanted = scenario.expect_ids[0]
    finding = next((f for f in document["findings"] if f["id"] == wanted), None)
    actions = (finding or {}).get("remediation", {}).get("actions") or []
    if not actions:
        return []
    # A break that only warns (labuser still logs in) is back without keeping anyone out.
    blocked = "success" not in scenario.access[22]
    paths = sorted({action.get("path") or action.get("file") for action in actions} - {None})
    units = sorted({action["unit"] for action in actions if action.get("unit")})
    state = "; ".join([f"sha256sum {path} 2>&1; stat -c '%a %U %G %n' {path} 2>&1" for path in paths]
                      + [f"echo {unit} $(systemctl is-enabled {unit})" for unit in units])
    before = vm.run(state or "true").output
    problems = []
    # The plan writes nothing: no file on the root file system is newer than a stamp
    # made before it but the logs (the live probes' connections are logged).
    vm.run("touch /run/sshdoctor-stamp; sleep 1")
    vm.run(f"{IMDS_ENV} {GUEST_BINARY} fix --format json >/dev/null 2>&1")
    written = vm.run("find / -xdev -newer /run/sshdoctor-stamp -not -path '/var/log/*' "
                     "2>/dev/null | head -n 5").output.strip()
    if written:
        problems.append(f"fix (the plan) wrote: {written!r}")
    steps = [("fix --apply", scenario.fix_outcome, "fix-apply")]
    if scenario.fix_outcome == "applied":
        steps.append(("undo", "undone", "undo"))
    for command, expected, name in steps:
        done = vm.run(f"{IMDS_ENV} {GUEST_BINARY} {command} --format json 2>/run/sshdoctor.stderr",
                      timeout=300)
        (outdir / f"{name}.json").write_text(done.output)
        try:
            report = json.loads(done.output)
        except ValueError:
            return problems + [f"{command}: no JSON report (rc={done.rc}): {done.output[:200]!r}"]
        if report.get("outcome") != expected:
            return problems + [f"{command}: {report.get('outcome')}, not {expected}: {report.get('why')}"]
        vm.run(SETTLE)
        access = check_access(vm.forwards[22], key)
        if command == "undo" and blocked and scenario.undo_breaks_again and access.outcome == "success":
            problems.append("undo: labuser still logs in: the break is not back")
        if command != "undo" and access.outcome != "success" and (expected == "applied" or not blocked):
            problems.append(f"{command}: ssh gave {access.outcome} ({access.detail})")
    after = vm.run(state or "true").output
    if after != before:
        problems.append(f"{steps[-1][0]}: the state is not as before: {before!r} became {after!r}")
    if scenario.name == CONFIRM_SCENARIO and not problems:
        problems += unconfirmed_fix_problems(vm, outdir, key, state, before)
    return problems


# The break whose fix restarts sshd: the kind of change --confirm-within is for.
CONFIRM_SCENARIO = "max-sessions-zero"


def unconfirmed_fix_problems(vm: LabVm, outdir: Path, key: Path, state: str, before: str) -> list[str]:
    """`fix --apply --confirm-within 20s`, never confirmed: the fix lets labuser in, a
    transient systemd timer waits, and when it fires the break is back exactly."""
    done = vm.run(f"{IMDS_ENV} {GUEST_BINARY} fix --apply --confirm-within 20s --format json "
                  "2>/run/sshdoctor.stderr", timeout=300)
    (outdir / "fix-unconfirmed.json").write_text(done.output)
    try:
        report = json.loads(done.output)
    except ValueError:
        return [f"fix --confirm-within: no JSON report (rc={done.rc}): {done.output[:200]!r}"]
    if report.get("outcome") != "applied" or not report.get("confirm_by"):
        return [f"fix --confirm-within: {report.get('outcome')}: {report.get('why')}"]
    problems = []
    timer = vm.run(f"systemctl is-active sshdoctor-rollback-{report['transaction']}.timer").output.strip()
    if timer != "active":
        problems.append(f"fix --confirm-within: its rollback timer is {timer!r}, not active")
    vm.run(SETTLE)
    access = check_access(vm.forwards[22], key)
    if access.outcome != "success":
        problems.append(f"fix --confirm-within: ssh gave {access.outcome} ({access.detail})")
    # The timer fires 20 s after the fix; the rollback restarts sshd.
    vm.run("sleep 30")
    vm.run(SETTLE)
    listed = vm.run(f"{GUEST_BINARY} undo --list --format json").output
    (outdir / "undo-list.json").write_text(listed)
    latest = (json.loads(listed) or [{}])[-1]
    if latest.get("state") != "rolled_back":
        problems.append(f"unconfirmed: the transaction is {latest.get('state')}, not rolled_back")
    if check_access(vm.forwards[22], key).outcome == "success":
        problems.append("unconfirmed: labuser still logs in after its time: the break is not back")
    after = vm.run(state or "true").output
    if after != before:
        problems.append(f"unconfirmed: the state is not as before: {before!r} became {after!r}")
    return problems


def restore(vm: LabVm, scenario: Scenario) -> list[str]:
    """Undo the scenario and check cheaply that sshd is back on port 22.
    If it is not, force the full reset so later scenarios start clean."""
    if scenario.restore_cmds:
        vm.run(FORGET_FAILURES)
        vm.run(scenario.restore_cmds)
    if vm.run(BASELINE_PROBE).rc == 0:
        return []
    vm.run(FULL_RESET)
    if vm.run(BASELINE_PROBE).rc == 0:
        return ["restore commands did not bring sshd back (the full reset did)"]
    return ["restore commands did not bring sshd back, nor did the full reset"]


def run_scenario(vm: LabVm, scenario: Scenario, outdir: Path, key: Path) -> ScenarioResult:
    result = ScenarioResult(scenario)
    outdir.mkdir(parents=True, exist_ok=True)
    vm.console.set_transcript(outdir / "serial.log")
    started = time.monotonic()
    try:
        if scenario.break_cmds:
            vm.run(FORGET_FAILURES)
            # Exit status ignored: breaking things makes commands fail.
            vm.run(scenario.break_cmds, timeout=scenario.break_timeout)
        if scenario.needs_reboot:
            vm.reboot()
        vm.run(SETTLE)
        if scenario.login_first:
            result.access = {port: check_access(vm.forwards[port], key) for port in scenario.access}
        result.verdict = run_sshdoctor(vm, outdir)
        result.problems += verdict_problems(scenario, result.verdict)
        result.problems += secret_problems(outdir)
        if scenario.check_cmds and vm.run(scenario.check_cmds).rc != 0:
            result.problems.append(f"check failed: {scenario.check_cmds}")
        result.problems += text_problems(run_text_verdict(vm, outdir), outdir)
        if not scenario.login_first:
            result.access = {port: check_access(vm.forwards[port], key) for port in scenario.access}
        result.problems += access_problems(scenario, result.access)
        if not result.problems:
            result.problems += fix_undo_problems(vm, scenario, outdir, key)
        if scenario.verdict_fixes and not result.problems:
            result.problems += verdict_fix_problems(vm, scenario, outdir, key)
        result.problems += restore(vm, scenario)
    except ConsoleTimeout as error:
        result.problems.append(f"console: {error}")
        result.vm_lost = not recover(vm)
    finally:
        result.seconds = time.monotonic() - started
        write_scenario_record(result, outdir)
        vm.console.set_transcript(None)
    return result


def run_deb_step(vm: LabVm, scenario: Scenario, outdir: Path, deb: Path) -> ScenarioResult:
    """The deb-install step: its checks are the problems, the boot run's
    verdict stands in the table where a scenario's verdict does."""
    result = ScenarioResult(scenario, deb=DebRun())
    outdir.mkdir(parents=True, exist_ok=True)
    vm.console.set_transcript(outdir / "serial.log")
    started = time.monotonic()
    try:
        run_deb_install(vm, result.deb, deb.name, outdir, scenario.expect_status)
    except ConsoleTimeout as error:
        result.problems.append(f"console: {error}")
        result.vm_lost = not recover(vm)
    finally:
        run = result.deb
        result.verdict = Verdict(run.status, run.ids, run.rc, run.error)
        result.problems = run.problems + result.problems
        result.seconds = time.monotonic() - started
        write_scenario_record(result, outdir)
        vm.console.set_transcript(None)
    return result


def recover(vm: LabVm) -> bool:
    """After a console timeout, get a shell back and reset the guest.
    False means the VM is beyond saving."""
    try:
        vm.console.wait_for_shell(60)
        vm.run(FULL_RESET)
        return True
    except ConsoleTimeout:
        return False


def write_scenario_record(result: ScenarioResult, outdir: Path):
    record = {
        "scenario": result.scenario.name,
        "passed": result.passed,
        "problems": result.problems,
        "expected_ids": list(result.scenario.expect_ids),
        "expected_status": list(result.scenario.expect_status),
        "verdict": {"status": result.verdict.status, "ids": result.verdict.ids,
                    "rc": result.verdict.rc, "error": result.verdict.error},
        "ground_truth": {str(port): {"outcome": a.outcome, "detail": a.detail,
                                     "expected": list(result.scenario.access[port]),
                                     "seconds": round(a.seconds, 1)}
                         for port, a in result.access.items()},
        "seconds": round(result.seconds, 1),
    }
    if result.deb:
        record["checks"] = result.deb.checks
        record["notes"] = result.deb.notes
        record["step_seconds"] = result.deb.seconds
    (outdir / "result.json").write_text(json.dumps(record, indent=2) + "\n")


def format_row(result: ScenarioResult) -> list[str]:
    scenario = result.scenario
    verdict = result.verdict
    got_ids = ",".join(verdict.ids) if not verdict.error else "(no verdict)"
    truth = " ".join(f"{port}:{'/'.join(allowed)}={result.access[port].outcome if port in result.access else '-'}"
                     for port, allowed in scenario.access.items()) or "-"
    return [scenario.name, ",".join(scenario.expect_ids) or "-", got_ids or "-",
            f"{'/'.join(scenario.expect_status)}={verdict.status or '-'}",
            truth, result.label, f"{result.seconds:.0f}"]


@dataclass
class SuiteRun:
    suite: str
    results: list[ScenarioResult] = field(default_factory=list)
    timings: dict[str, str] = field(default_factory=dict)


def suite_report_lines(run: SuiteRun) -> list[str]:
    results = run.results
    header = ["scenario", "expected", "got", "status exp=got", "ground truth port:exp=got", "result", "secs"]
    rows = [header] + [format_row(result) for result in results if not result.skipped]
    widths = [max(len(row[col]) for row in rows) for col in range(len(header))]
    lines = [f"== {run.suite}"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append("")
    for result in results:
        name = result.scenario.name
        if result.skipped:
            lines.append(f"{name}: SKIP: {result.skipped}")
            continue
        extra = [rule for rule in result.verdict.ids if rule not in result.scenario.expect_ids]
        if extra:
            lines.append(f"{name}: also reported {', '.join(extra)}")
        lines += [f"{name}: {result.label}: {problem}" for problem in result.problems]
        if result.problems:
            lines += [f"{name}: could not see: {spot}" for spot in result.verdict.blind_spots]
        if result.scenario.known_issue and result.expected_to_fail:
            lines.append(f"{name}: known issue: {result.scenario.known_issue}")
    lines.append("")
    lines.append(f"timings {run.suite}: " + ", ".join(f"{name} {value}" for name, value in run.timings.items()))
    lines.append(f"{run.suite}: {count_line(results)}")
    return lines


def count_line(results: list[ScenarioResult]) -> str:
    # Expected failures are counted as skipped so they do not fail the run.
    passed = sum(result.passed for result in results)
    failed = sum(result.counts_as_failure for result in results)
    skipped = len(results) - passed - failed
    return f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


def report_lines(runs: list[SuiteRun], total_seconds: float) -> list[str]:
    lines = []
    for run in runs:
        lines += suite_report_lines(run) + [""]
    every = [result for run in runs for result in run.results]
    lines.append(f"lab ({', '.join(run.suite for run in runs)}; {total_seconds:.0f}s): {count_line(every)}")
    return lines


def parse_suites(value: str) -> list[str]:
    suites = list(SUITES) if value == "all" else [s for s in value.split(",") if s]
    unknown = [suite for suite in suites if suite not in SUITES]
    if unknown or not suites:
        sys.exit(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(SUITES)} or all")
    return suites


def select_scenarios(only: str | None) -> list[Scenario]:
    if not only:
        return [DEB_INSTALL] + SCENARIOS
    by_name = {scenario.name: scenario for scenario in [DEB_INSTALL] + SCENARIOS}
    unknown = [name for name in only.split(",") if name not in by_name]
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[name] for name in only.split(",")]


def default_jobs() -> int:
    # An emulated CPU keeps one host CPU busy; more VMs than CPUs only slow each down.
    return max(1, min(os.cpu_count() or 1, 4))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated scenario names (baseline-end always runs)")
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    parser.add_argument("--xfail", default=os.environ.get("LAB_XFAIL", ""),
                        help="comma-separated scenarios known to fail (e.g. a rule not written "
                             "yet): reported as XFAIL/XPASS, not failing the run")
    parser.add_argument("--suite", default=os.environ.get("LAB_SUITE", "bookworm"),
                        help=f"Debian suite(s) of the guest image, comma-separated, or all "
                             f"({','.join(SUITES)}); each gets its own VM, one after the other")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("LAB_JOBS", default_jobs())),
                        help="VMs per suite, running scenarios side by side (default: one per "
                             "CPU, at most 4; LAB_JOBS)")
    parser.add_argument("--rebuild-image", action="store_true", help="ignore the cached image")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("LAB_OUT", REPO / "target/lab")),
                        help="where transcripts, verdicts and the report go")
    parser.add_argument("--cache", type=Path, default=None,
                        help="image cache directory (default: LAB_CACHE_DIR or OUT/cache)")
    return parser.parse_args()


def find_binary() -> Path | None:
    binary = Path(os.environ.get("SSHDOCTOR_BIN", DEFAULT_BINARY))
    if binary.is_file():
        return binary
    print(f"WARNING: no sshdoctor binary at {binary} (run `make build` or set SSHDOCTOR_BIN); "
          "every verdict will fail", flush=True)
    return None


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def find_deb() -> tuple[Path | None, str]:
    """The .deb for the deb-install step: SSHDOCTOR_DEB, else the newest
    dist/sshdoctor_*.deb.  Without one: None and why, and the step is skipped,
    or fails under CI (CI=true), where the package must be tested."""
    named = os.environ.get("SSHDOCTOR_DEB")
    if named:
        debs = [Path(named)] if Path(named).is_file() else []
        missing = f"SSHDOCTOR_DEB={named} is not a file"
    else:
        debs = sorted(REPO.glob("dist/sshdoctor_*.deb"), key=lambda path: path.stat().st_mtime)
        missing = f"no {REPO / 'dist'}/sshdoctor_*.deb"
    if debs:
        return debs[-1], ""
    reason = f"{missing} (run `make deb`, or `make lab`, which builds it)"
    if under_ci():
        reason += "; CI=true, so this fails the run"
    else:
        print(f"WARNING: {reason}; the deb-install step is skipped", flush=True)
    return None, reason


def deb_not_run(scenario: Scenario, reason: str) -> ScenarioResult:
    if under_ci():
        return ScenarioResult(scenario, problems=[reason])
    return ScenarioResult(scenario, skipped=reason)


def scenario_chains(scenarios: list[Scenario]) -> list[list[Scenario]]:
    """The scenarios as chains that run in order on one VM: a scenario joins the chain
    of the one it `follows` when that one comes right before it. The longest chains
    come first (in their order otherwise), so the VMs finish close together."""
    chains: list[list[Scenario]] = []
    for scenario in scenarios:
        if chains and scenario.follows and scenario.follows == chains[-1][-1].name:
            chains[-1].append(scenario)
        else:
            chains.append([scenario])
    return sorted(chains, key=len, reverse=True)


def final_checks(count: int) -> list[Scenario]:
    """One closing check per VM: the first VM's keeps FINAL_CHECK's name."""
    return [FINAL_CHECK] + [replace(FINAL_CHECK, name=f"{FINAL_CHECK.name}-vm{number}")
                            for number in range(2, count + 1)]


@dataclass
class SuiteVms:
    """What a suite's VMs share: the chains not yet taken and the results so far."""
    suite: str
    out: Path
    image: Image
    tools_disk: Path
    key: Path
    deb: tuple[Path | None, str]
    chains: queue.Queue
    run: SuiteRun
    results: dict[str, ScenarioResult] = field(default_factory=dict)
    not_run: dict[str, str] = field(default_factory=dict)


def run_vm(shared: SuiteVms, number: int, final: Scenario):
    """Boot VM `number` and run chains from the shared queue until it is empty, then
    the VM's closing check. A VM that does not boot, or is lost, takes no more chains;
    the others run them."""
    image = shared.image
    vm = LabVm(VmConfig(image.kernel, image.initrd, image.disk, shared.tools_disk),
               shared.out / f"vm{number}")
    booting = time.monotonic()
    try:
        vm.start()
        vm.wait_until_ready()
    except (ConsoleTimeout, RuntimeError) as error:
        shared.not_run[final.name] = f"not run: VM {number} did not boot: {error}"
        vm.stop()
        return
    shared.run.timings[f"vm{number} boot"] = f"{time.monotonic() - booting:.0f}s"
    lost = False
    try:
        while not lost:
            try:
                chain = shared.chains.get_nowait()
            except queue.Empty:
                break
            for scenario in chain:
                if lost:
                    shared.not_run[scenario.name] = (f"not run: VM {number} was lost before it, "
                                                     f"and it runs only after {scenario.follows}")
                    continue
                try:
                    result = run_one(vm, scenario, shared, number)
                except Exception:  # the harness's own bug: report it, give up this VM
                    result = ScenarioResult(scenario, vm_lost=True,
                                            problems=[f"lab harness error: {traceback.format_exc()}"])
                shared.results[scenario.name] = result
                lost = result.vm_lost
        if lost:
            shared.not_run[final.name] = f"not run: VM {number} was lost"
        else:
            shared.results[final.name] = run_one(vm, final, shared, number)
    finally:
        vm.stop()


def run_one(vm: LabVm, scenario: Scenario, shared: SuiteVms, number: int) -> ScenarioResult:
    if shared.suite in scenario.skip:
        return ScenarioResult(scenario, skipped=scenario.skip[shared.suite])
    deb = shared.deb
    if scenario.kind == "deb" and not deb[0]:
        return deb_not_run(scenario, deb[1])
    print(f"== {shared.suite} {scenario.name} (vm{number})", flush=True)
    if scenario.kind == "deb":
        return run_deb_step(vm, scenario, shared.out / scenario.name, deb[0])
    return run_scenario(vm, scenario, shared.out / scenario.name, shared.key)


def run_suite(suite: str, args: argparse.Namespace, binary: Path | None,
              deb: tuple[Path | None, str] = (None, "")) -> SuiteRun:
    """Boot `args.jobs` VMs of `suite`, each from the same image, and share the
    scenarios that apply to it among them."""
    run = SuiteRun(suite)
    out = args.out / suite
    out.mkdir(parents=True, exist_ok=True)
    selected = [s.for_suite(suite) for s in select_scenarios(args.only)]
    chains = scenario_chains(selected)
    vm_count = max(1, min(args.jobs, len(chains)))
    finals = final_checks(vm_count)
    scenarios = selected + finals
    cache = args.cache or Path(os.environ.get("LAB_CACHE_DIR", args.out / "cache"))
    started = time.monotonic()
    print(f"=== {suite} ({vm_count} VM{'s' if vm_count > 1 else ''})", flush=True)

    results: dict[str, ScenarioResult] = {}
    not_run: dict[str, str] = {}
    image = None
    try:
        image = ensure_image(suite, cache, rebuild=args.rebuild_image)
    except RuntimeError as error:
        not_run_reason = f"not run: no {suite} image: {error}"
    if image:
        run.timings["image"] = f"{image.built_seconds:.0f}s build" if image.built_seconds else "cached"
        tools_disk = out / "tools.img"
        make_tools_disk(binary, tools_disk, deb[0])
        # The run's own copy of the login key: ssh reads it for every
        # ground truth, long after QEMU has opened the image's files.
        key = out / "id_ed25519"
        key.unlink(missing_ok=True)
        shutil.copyfile(image.key, key)
        key.chmod(0o600)
        pending: queue.Queue = queue.Queue()
        for chain in chains:
            pending.put(chain)
        shared = SuiteVms(suite, out, image, tools_disk, key, deb, pending, run)
        workers = [threading.Thread(target=run_vm, args=(shared, number, final), daemon=True)
                   for number, final in enumerate(finals, start=1)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        results, not_run = shared.results, shared.not_run
        boot_failures = sorted({why for why in not_run.values() if "did not boot" in why})
        not_run_reason = ("; ".join(boot_failures) if boot_failures
                          else "not run: every VM was lost before it")
    ordered = [results.get(scenario.name)
               or ScenarioResult(scenario, problems=[not_run.get(scenario.name, not_run_reason)])
               for scenario in scenarios]
    run.timings["total"] = f"{time.monotonic() - started:.0f}s"
    xfail = args.xfail.split(",")
    for result in ordered:
        name = result.scenario.name
        result.expected_to_fail = (name in xfail or f"{suite}/{name}" in xfail
                                   or bool(result.scenario.known_issue))
    run.results = ordered
    (out / "report.txt").write_text("\n".join(suite_report_lines(run)) + "\n")
    return run


def run_lab(args: argparse.Namespace) -> int:
    missing = [tool for tool in HOST_TOOLS if not shutil.which(tool)]
    if missing:
        sys.exit(f"missing host tools: {', '.join(missing)}; run tests/install-deps.sh lab")
    suites = parse_suites(args.suite)
    started = time.monotonic()
    binary = find_binary()
    wants_deb = any(scenario.kind == "deb" for scenario in select_scenarios(args.only))
    deb = find_deb() if wants_deb else (None, "")
    runs = [run_suite(suite, args, binary, deb) for suite in suites]
    lines = report_lines(runs, time.monotonic() - started)
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.txt").write_text("\n".join(lines) + "\n")
    return 1 if any(result.counts_as_failure for run in runs for result in run.results) else 0


def main() -> int:
    args = parse_args()
    if args.list:
        for scenario in [DEB_INSTALL] + SCENARIOS:
            notes = [f"skip on {suite}: {why}" for suite, why in scenario.skip.items()]
            notes += [f"known issue: {scenario.known_issue}"] if scenario.known_issue else []
            notes += ["the package step: dpkg -i, reboot, boot verdict, dpkg -r/-P (deb_install.py)"
                      ] if scenario.kind == "deb" else []
            notes += [f"{suite} differs: {', '.join(fields)}" for suite, fields in scenario.per_suite.items()]
            print(f"{scenario.name:24} {','.join(scenario.expect_ids) or '-':32} {'; '.join(notes)}".rstrip())
        return 0
    return run_lab(args)


if __name__ == "__main__":
    sys.exit(main())
