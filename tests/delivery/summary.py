"""The delivery tests' common ending: run the unittest cases, print one count line
(`NAME: N passed, N failed`) and exit 1 if any failed."""

import sys
import unittest


def run_and_exit(name: str, unittest_args: list[str]) -> None:
    program = unittest.main(argv=[sys.argv[0], *unittest_args], exit=False, verbosity=2)
    result = program.result
    failed = len(result.failures) + len(result.errors)
    print(f"{name}: {result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
