#!/usr/bin/env python3
"""Turns passed lab scenarios into rule-test fixtures: the facts a real VM gave with the
break in place, the ids and status its verdict had, and what a real ssh login did.

    python3 tests/lab/capture_facts.py [--suite bookworm] SCENARIO...

reads target/lab/SUITE/SCENARIO/{result,verdict}.json (written by lab.py) and writes
agent/tests/fixtures/lab/SCENARIO.json, which agent/tests/verdict/lab_facts.rs replays
through the rules. Only a scenario the lab passed (verdict and login as expected) is
captured.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "agent/tests/fixtures/lab"


def capture(suite: str, name: str) -> Path:
    run = ROOT / "target/lab" / suite / name
    result = json.loads((run / "result.json").read_text())
    if not result.get("passed"):
        sys.exit(f"{name}: the lab did not pass it ({result.get('problems')}); not captured")
    verdict = json.loads((run / "verdict.json").read_text())
    fixture = {
        "scenario": name,
        "suite": suite,
        "tool": verdict["tool"]["version"] + " " + verdict["tool"]["commit"],
        "login": {port: truth["outcome"] for port, truth in result["ground_truth"].items()},
        "status": verdict["status"],
        "ids": sorted(finding["id"] for finding in verdict["findings"]),
        "facts": verdict["facts"],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    # What a reader looks for first, a line each; the facts on one line after them.
    lines = [
        f" {json.dumps(key)}: {json.dumps(value, sort_keys=True, separators=(',', ':'))}"
        for key, value in fixture.items()
    ]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="bookworm")
    parser.add_argument("scenarios", nargs="+")
    args = parser.parse_args()
    for name in args.scenarios:
        path = capture(args.suite, name)
        print(f"{path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
