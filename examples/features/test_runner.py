"""``python -m leaktest``: check an unchanged unittest suite, with unittest's own arguments.

Each leaking test FAILs with the report; the summary counts the leaks and names
the leaking tests; the exit status is non-zero. The options come before
unittest's arguments: ``--grace-period``, ``--ignore-thread`` and the other
ignores, ``--cleanup-leaks``, ``--mode fail|warn|off``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = "examples.features.unchanged_suite"


def leaktest_run(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEAKTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "leaktest", *args, SUITE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


class RunnerExample(unittest.TestCase):
    def test_the_leaking_test_fails_and_the_summary_names_it(self) -> None:
        run = leaktest_run("--grace-period", "0")
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn("FAIL: test_warm_up_leaves_the_refresher_running", run.stderr)
        self.assertIn("leaktest: 2 tests run, 1 leak found in 1 test", run.stderr)

    def test_an_ignore_on_the_command_line(self) -> None:
        run = leaktest_run("--grace-period", "0", "--ignore-thread", "cache-*")
        self.assertEqual(run.returncode, 0, run.stderr)

    def test_warn_mode_on_the_command_line(self) -> None:
        run = leaktest_run("--grace-period", "0", "--mode", "warn")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("1 leak warned in 1 test", run.stderr)


if __name__ == "__main__":
    unittest.main()
