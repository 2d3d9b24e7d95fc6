"""`cleanup_leaks = True`: after reporting a leak, end what can be ended.

Leaked tasks are cancelled, pending `threading.Timer`s cancelled, leaked children
terminated (SIGTERM, then SIGKILL) and reaped, so the next tests do not inherit
them. Threads cannot be killed in Python: the report says which were left running.
Off by default: the report is the point, and your own `wait()` keeps its status.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import unittest

import leaktest
from examples.features.workers import report, run_one, verdict


class CleanupLeaksExample(unittest.TestCase):
    def test_a_leaked_child_is_reported_then_terminated_and_reaped(self) -> None:
        children: list[subprocess.Popen[bytes]] = []

        class Suite(leaktest.LeakCheckedTestCase):
            cleanup_leaks = True
            grace_period = 0

            def test(self) -> None:
                children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]))

        result = run_one(Suite)
        self.assertEqual(verdict(result), "FAIL")  # still a failure: the report comes first
        self.assertIn(f"terminated and reaped Process {children[0].pid}", report(result))
        self.assertIsNotNone(children[0].wait())  # gone: the owner's wait returns at once

    def test_a_leaked_timer_is_cancelled(self) -> None:
        timer = threading.Timer(3600, print)
        self.addCleanup(timer.join)

        class Suite(leaktest.LeakCheckedTestCase):
            cleanup_leaks = True
            grace_period = 0

            def test(self) -> None:
                timer.start()

        self.assertIn("cancelled Timer", report(run_one(Suite)))


if __name__ == "__main__":
    unittest.main()
