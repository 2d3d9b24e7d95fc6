"""`ignore_processes`: fnmatch patterns on a child's command line.

For helpers a test hands over to something that outlives it (a shared server,
a supervisor), matched against the command line as started and as /proc shows it.
"""

from __future__ import annotations

import subprocess
import sys
import unittest

import leaktest
from examples.features.workers import run_one, verdict

HELPER = [sys.executable, "-c", "import sys; sys.stdin.read()", "--role=cache-helper"]


class IgnoreProcessesExample(unittest.TestCase):
    def start_helper(self) -> subprocess.Popen[bytes]:
        helper = subprocess.Popen(HELPER, stdin=subprocess.PIPE)
        self.addCleanup(helper.wait)
        self.addCleanup(helper.stdin.close)  # type: ignore[union-attr]  # ends the helper
        return helper

    def test_a_matching_child_may_outlive_the_test(self) -> None:
        class Suite(leaktest.LeakCheckedTestCase):
            ignore_processes = ["*--role=cache-helper"]
            grace_period = 0

            def test(inner) -> None:
                self.start_helper()

        self.assertEqual(verdict(run_one(Suite)), "ok")

    def test_other_children_are_still_checked(self) -> None:
        class Suite(leaktest.LeakCheckedTestCase):
            ignore_processes = ["*--role=db-helper"]
            grace_period = 0

            def test(inner) -> None:
                self.start_helper()

        self.assertEqual(verdict(run_one(Suite)), "FAIL")


if __name__ == "__main__":
    unittest.main()
