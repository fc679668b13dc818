#!/usr/bin/env python3
"""The Run Command door, driven through the stand-in `az` (tests/delivery/fake-az/az)
exactly as a user drives it: `sshdoctor-az -g RG -n VM`. Needs root (mount namespaces)
and the artifacts of `make dist`.

    python3 tests/delivery/test_runcommand.py [--dist dist/runcommand]
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from summary import run_and_exit

ROOT = Path(__file__).resolve().parents[2]
FAKE_AZ_DIR = ROOT / "tests/delivery/fake-az"
DIST = ROOT / "dist/runcommand"
VERDICT_LINE = re.compile(r"^SSHDOCTOR schema=2 status=(\w+) exit=(\d) findings=(\S+)$")


class RunCommandDoor(unittest.TestCase):
    def setUp(self):
        self.scratch = Path(tempfile.mkdtemp(prefix="sshdoctor-delivery-"))
        self.vm = self.scratch / "vm"
        self.dist = DIST

    def tearDown(self):
        shutil.rmtree(self.scratch)

    def env(self, **extra):
        env = dict(os.environ)
        env["PATH"] = f"{FAKE_AZ_DIR}:{env['PATH']}"
        env["FAKE_AZ_STATE"] = str(self.vm)
        env.update(extra)
        return env

    def helper(self, *args, **extra):
        return subprocess.run(
            ["sh", str(self.dist / "sshdoctor-az"), "-g", "rg", "-n", "vm", *args],
            capture_output=True, text=True, env=self.env(**extra), timeout=600,
        )

    def az(self, script, check=True, **extra):
        done = subprocess.run(
            ["az", "vm", "run-command", "invoke", "-g", "rg", "-n", "vm",
             "--command-id", "RunShellScript", "--scripts", f"@{script}"],
            capture_output=True, text=True, env=self.env(**extra), check=check,
        )
        return json.loads(done.stdout)["value"][0]["message"] if check else done

    def calls(self):
        return [line.split()[1] for line in (self.vm / "calls.log").read_text().splitlines()]

    def parts(self, compression="xz"):
        return sorted((self.dist / compression).glob("part-*.sh"))

    def staged(self):
        return sorted(p.name for p in (self.vm / "vm-lib").rglob("part-*"))

    def assert_verdict_whole(self, done):
        lines = done.stdout.rstrip("\n").split("\n")
        match = VERDICT_LINE.match(lines[-1])
        self.assertTrue(match, f"last line is the verdict line:\n{done.stdout}\n{done.stderr}")
        status, code, findings = match.groups()
        self.assertEqual(done.returncode, int(code), done.stderr)
        self.assertTrue(lines[0].startswith(f"{status.upper()}: "), "the first line survived")
        saved = json.loads((self.vm / "vm-log/last.json").read_text())
        self.assertEqual(saved["status"], status)
        ids = [finding["id"] for finding in saved["findings"]]
        self.assertEqual(",".join(dict.fromkeys(ids)) or "none", findings)
        for finding_id in ids:
            self.assertIn(finding_id, done.stdout)
        self.assertIn("full verdict saved to /var/log/sshdoctor/last.json", done.stderr)
        self.assertEqual(self.staged(), [], "staged parts removed")

    def test_every_script_fits_the_run_command_limit_and_names_its_part(self):
        for compression in ("xz", "gzip"):
            parts = self.parts(compression)
            self.assertGreater(len(parts), 1)
            for number, part in enumerate(parts, start=1):
                self.assertLessEqual(len(base64.b64encode(part.read_bytes())), 256 * 1024, part)
                self.assertEqual(part.name, f"part-{number:02d}-of-{len(parts):02d}.sh")
                self.assertIn(f"part {number} of {len(parts)}", part.read_text().split("\n")[1])
            final = self.dist / compression / "final.sh"
            self.assertLessEqual(len(base64.b64encode(final.read_bytes())), 256 * 1024)

    def test_verdict_arrives_whole_and_nothing_is_resent(self):
        done = self.helper()
        self.assert_verdict_whole(done)
        names = [p.name for p in self.parts()]
        self.assertEqual(self.calls(), ["final.sh", *names, "final.sh"])

    def test_extra_arguments_reach_sshdoctor(self):
        done = self.helper("--", "--config", "/nonexistent dir/it's here")
        self.assert_verdict_whole(done)
        self.assertIn("SSH-CFG-002", done.stdout.split("\n")[-2] + done.stdout)
        self.assertIn("/nonexistent dir/it's here", done.stdout)

    def test_a_fix_plan_passes_through_and_changes_nothing(self):
        done = self.helper("--", "fix", "--no-probe")
        last = done.stdout.rstrip("\n").split("\n")[-1]
        match = re.match(r"^SSHDOCTOR-FIX outcome=(planned|nothing_to_fix) exit=0 transaction=none$", last)
        self.assertTrue(match, f"last line is the fix line:\n{done.stdout}\n{done.stderr}")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertFalse((self.vm / "vm-log/last.json").exists(), "a fix run saves no verdict")
        self.assertEqual(self.staged(), [], "staged parts removed")

    def test_rerun_after_a_failed_part_sends_only_what_is_missing(self):
        # Call 1 asks, 2 sends part 1, 3 (part 2) fails as Azure can.
        first = self.helper(FAKE_AZ_FAIL_CALLS="3")
        self.assertEqual(first.returncode, 3)
        self.assertIn("az failed while sending part 2 of", first.stderr)
        self.assertIn("rerun sshdoctor-az", first.stderr)
        self.assertEqual(self.staged(), ["part-1"])
        done = self.helper()
        self.assert_verdict_whole(done)
        names = [p.name for p in self.parts()]
        self.assertEqual(self.calls()[3:], ["final.sh", *names[1:], "final.sh"])

    def test_part_damaged_in_transit_is_refused_and_named(self):
        self.dist = self.scratch / "dist"
        shutil.copytree(DIST, self.dist)
        third = self.parts()[2]
        text = third.read_text().split("\n")
        chunk_line = text.index("CHUNK", text.index("  if ! base64 -d > \"$incoming\" <<'CHUNK'")) - 20
        text[chunk_line] = ("A" if text[chunk_line][0] != "A" else "B") + text[chunk_line][1:]
        third.write_text("\n".join(text))
        message = self.az(third)
        self.assertIn("SSHDOCTOR-PART part=3 of=", message)
        self.assertIn("part 3 of", message)
        self.assertIn("arrived damaged (SHA-256 mismatch): resend part 3", message)
        done = self.helper()
        self.assertEqual(done.returncode, 3)
        self.assertIn("part 3 of", done.stderr)
        self.assertIn("did not arrive intact", done.stderr)
        self.assertEqual(self.staged(), ["part-1", "part-2"])

    def test_part_damaged_on_the_vm_is_named_and_resent(self):
        for part in self.parts():
            self.az(part)
        staged = next((self.vm / "vm-lib").rglob("part-2"))
        data = bytearray(staged.read_bytes())
        data[1000] ^= 0xFF
        staged.write_bytes(bytes(data))
        message = self.az(self.dist / "xz/final.sh")
        self.assertIn("need=2\n", message)
        self.assertIn("parts damaged on disk (SHA-256 mismatch): 2", message)
        self.assertIn("send parts 2 of", message)
        self.assertNotIn("SSHDOCTOR schema=", message)
        done = self.helper()
        self.assert_verdict_whole(done)
        self.assertEqual(self.calls()[-3:], ["final.sh", self.parts()[1].name, "final.sh"])

    def test_vm_without_xz_gets_the_gzip_parts(self):
        no_xz = self.scratch / "bin"
        no_xz.mkdir()
        for directory in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            for tool in Path(directory).iterdir():
                link = no_xz / tool.name
                if not tool.name.startswith(("xz", "unxz")) and not link.exists():
                    link.symlink_to(tool)
        done = self.helper(FAKE_AZ_PATH=str(no_xz))
        self.assert_verdict_whole(done)
        self.assertIn("has no xz: switching to the gzip parts", done.stderr)
        gzip_parts = [p.name for p in self.parts("gzip")]
        self.assertEqual(self.calls(), ["final.sh", "final.sh", *gzip_parts, "final.sh"])

    def test_managed_script_runs_alone(self):
        managed = self.dist / "sshdoctor-managed.sh"
        refused = self.az(managed, check=False)
        self.assertEqual(refused.returncode, 1, "too big for action Run Command")
        self.assertIn("256 KB limit", refused.stderr)
        message = self.az(managed, FAKE_AZ_MANAGED="1")
        stdout = message.split("\n[stdout]\n", 1)[1].split("\n[stderr]\n", 1)[0]
        self.assertTrue(VERDICT_LINE.match(stdout.rstrip("\n").split("\n")[-1]), message)
        self.assertTrue((self.vm / "vm-log/last.json").exists())
        self.assertEqual(list((self.vm / "vm-lib").iterdir()), [], "temporary files removed")

    def test_scripts_pass_shellcheck_and_dash(self):
        scripts = [self.dist / "sshdoctor-az", self.dist / "sshdoctor-managed.sh"]
        for compression in ("xz", "gzip"):
            scripts += [self.dist / compression / "final.sh", self.parts(compression)[0]]
        for script in scripts:
            subprocess.run(["dash", "-n", str(script)], check=True)
        done = subprocess.run(["shellcheck", "-s", "sh", *map(str, scripts)], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout)


def main():
    global DIST
    parser = argparse.ArgumentParser()
    parser.add_argument("--dist", type=Path, default=DIST)
    args, rest = parser.parse_known_args()
    DIST = args.dist.resolve()
    if os.geteuid() != 0:
        sys.exit("test_runcommand: needs root (mount namespaces), as the extension runs")
    run_and_exit("delivery", rest)


if __name__ == "__main__":
    main()
