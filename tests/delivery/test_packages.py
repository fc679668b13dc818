#!/usr/bin/env python3
"""The .deb and .rpm as a distribution's tools see them: lintian, `dpkg-deb`, and
`rpm -qpl` / `rpm -qpi` / `rpm -qp --dump` (Debian's rpm package). Needs the artifacts
of `make dist`. Installing the .deb for real, and rebooting, is the VM lab's job.

    python3 tests/delivery/test_packages.py [--dist dist] [--binary PATH]
"""

import argparse
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import unittest
from pathlib import Path

from summary import run_and_exit

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
BINARY = ROOT / "target/x86_64-unknown-linux-musl/release/sshdoctor"

UNITS = ("sshdoctor.service", "sshdoctor.timer")
# Where each distribution wants a file that both packages carry.
DEB_ONLY = {
    "/usr/share/doc/sshdoctor/copyright",  # Debian's licence file
    "/usr/share/doc/sshdoctor/changelog.Debian.gz",
    "/usr/share/lintian/overrides/sshdoctor",
}
RPM_ONLY = {"/usr/share/licenses/sshdoctor/LICENSE"}
RENAMED = {"/usr/share/zsh/vendor-completions/_sshdoctor": "/usr/share/zsh/site-functions/_sshdoctor"}


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def only(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if len(found) != 1:
        raise AssertionError(f"expected one {pattern} in {DIST}, found {[p.name for p in found]}")
    return found[0]


def deb_files(deb: Path) -> dict[str, tuple[int, str]]:
    """Regular files of the .deb's data: path -> (mode, sha256)."""
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True).stdout
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        for member in archive.getmembers():
            if member.isfile():
                data = archive.extractfile(member).read()
                files[member.name.lstrip(".")] = (member.mode, hashlib.sha256(data).hexdigest())
    return files


def rpm_files(rpm: Path) -> dict[str, tuple[int, str]]:
    """Files of the .rpm from its header: path -> (permission bits, sha256)."""
    files = {}
    for line in run("rpm", "-qp", "--dump", str(rpm)).splitlines():
        path, _size, _mtime, digest, mode = line.split()[:5]
        files[path] = (int(mode, 8) & 0o7777, digest)
    return files


class Packages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = only("sshdoctor_*_amd64.deb")
        cls.rpm = only("sshdoctor-*.x86_64.rpm")
        cls.deb_files = deb_files(cls.deb)
        cls.rpm_files = rpm_files(cls.rpm)
        cls.binary_sha256 = hashlib.sha256(BINARY.read_bytes()).hexdigest()

    def test_deb_passes_lintian(self):
        # Warnings fail too; the overrides file names each accepted tag and why.
        done = subprocess.run(
            ["lintian", "--fail-on", "error,warning", str(self.deb)], capture_output=True, text=True
        )
        complaints = [line for line in done.stdout.splitlines() if re.match(r"^[EW]: ", line)]
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(complaints, [])

    def test_both_ship_the_built_binary_executable(self):
        for name, files in (("deb", self.deb_files), ("rpm", self.rpm_files)):
            mode, digest = files["/usr/bin/sshdoctor"]
            self.assertEqual(digest, self.binary_sha256, f"{name} carries another binary")
            self.assertEqual(mode & 0o777, 0o755, name)

    def test_both_hold_the_same_files_in_each_distributions_places(self):
        deb = {RENAMED.get(path, path): value for path, value in self.deb_files.items() if path not in DEB_ONLY}
        rpm = {path: value for path, value in self.rpm_files.items() if path not in RPM_ONLY}
        self.assertEqual(sorted(deb), sorted(rpm))
        for path in deb:
            self.assertEqual(deb[path], rpm[path], path)
        expected = {
            "/usr/bin/sshdoctor",
            "/usr/share/man/man1/sshdoctor.1.gz",
            "/usr/share/bash-completion/completions/sshdoctor",
            "/usr/share/zsh/site-functions/_sshdoctor",
            "/usr/share/doc/sshdoctor/rules.md",
            *(f"/usr/lib/systemd/system/{unit}" for unit in UNITS),
        }
        self.assertEqual(set(rpm), expected)
        self.assertIn("/usr/share/doc/sshdoctor/copyright", self.deb_files)
        self.assertIn("/usr/share/licenses/sshdoctor/LICENSE", self.rpm_files)

    def test_no_runtime_dependencies(self):
        depends = run("dpkg-deb", "-f", str(self.deb), "Depends", "Pre-Depends").strip()
        self.assertEqual(depends, "")
        requires = run("rpm", "-qp", "--requires", str(self.rpm)).splitlines()
        # rpmlib() features of the package format, and the shell its scriptlets run in.
        others = [req for req in requires if not req.startswith("rpmlib(") and req != "/bin/sh"]
        self.assertEqual(others, [])

    def test_rpm_describes_itself(self):
        info = run("rpm", "-qpi", str(self.rpm))
        fields = dict(re.findall(r"^(\w[\w ]*?)\s*: (.*)$", info, re.M))
        self.assertEqual(fields["Name"], "sshdoctor")
        self.assertEqual(fields["License"], "MIT")
        self.assertEqual(fields["Architecture"], "x86_64")
        version = run(str(BINARY), "--version").split()[1]
        self.assertEqual(fields["Version"], version)
        self.assertIn("SSH", fields["Summary"])

    def test_man_page_and_completions_come_from_the_cli(self):
        with tarfile.open(fileobj=io.BytesIO(
            subprocess.run(["dpkg-deb", "--fsys-tarfile", str(self.deb)], capture_output=True, check=True).stdout
        )) as archive:
            bash = archive.extractfile("./usr/share/bash-completion/completions/sshdoctor").read().decode()
        # Every long option the binary's --help lists is completed.
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", run(str(BINARY), "--help")))
        self.assertTrue(options, "no options in --help")
        missing = [option for option in options if option not in bash]
        self.assertEqual(missing, [])
        man = run("sh", "-c", f"dpkg-deb --fsys-tarfile {self.deb} | tar -xO ./usr/share/man/man1/sshdoctor.1.gz | gzip -dc")
        self.assertIn(".TH sshdoctor 1", man)
        for option in options:
            self.assertIn(option.replace("-", r"\-"), man, option)

    def test_units_are_enabled_on_install_and_disabled_on_removal_never_started(self):
        control = self.deb_control_scripts()
        self.assertRegex(control["postinst"], r"deb-systemd-helper .*enable")
        for unit in UNITS:
            self.assertIn(unit, control["postinst"])
        # enable = true, start = false: the diagnosis runs at the next boot, not during dpkg
        # (an upgrade's try-restart touches only a unit that is running).
        self.assertNotRegex(control["postinst"], r"(deb-systemd-invoke|systemctl) +(start|restart)|--now")
        self.assertRegex(control["postrm"], r"deb-systemd-helper .*(purge|mask)")
        scripts = run("rpm", "-qp", "--scripts", str(self.rpm))
        post, _, preun = scripts.partition("preuninstall scriptlet")
        self.assertRegex(post, r"systemctl enable sshdoctor.service sshdoctor.timer")
        self.assertNotRegex(post, r"systemctl (--now|start)")
        self.assertRegex(preun, r"systemctl .*disable .*sshdoctor.timer sshdoctor.service")

    def deb_control_scripts(self) -> dict[str, str]:
        tar_bytes = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(self.deb)], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
            return {
                Path(member.name).name: archive.extractfile(member).read().decode()
                for member in archive.getmembers()
                if member.isfile()
            }


def main():
    global DIST, BINARY
    parser = argparse.ArgumentParser()
    parser.add_argument("--dist", type=Path, default=DIST)
    parser.add_argument("--binary", type=Path, default=BINARY)
    args, rest = parser.parse_known_args()
    DIST, BINARY = args.dist.resolve(), args.binary.resolve()
    run_and_exit("packages", rest)


if __name__ == "__main__":
    main()
