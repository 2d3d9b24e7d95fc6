"""`python -m examples.demo_leak` must report each of its four leaks and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest

from leaktest import LeakCheckedTestCase

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DemoLeakTest(LeakCheckedTestCase):
    def test_demo_reports_every_leak_and_exits_with_1(self) -> None:
        demo = subprocess.run(
            [sys.executable, "-m", "examples.demo_leak"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,  # a hung demo fails here instead of hanging the suite
        )
        report = demo.stdout + demo.stderr
        self.assertEqual(demo.returncode, 1, report)
        for test_name in (
            "test_server_never_stopped",
            "test_task_never_awaited",
            "test_reconnect_timer_never_cancelled",
            "test_child_never_waited",
        ):
            with self.subTest(test_name):
                self.assertIn(f"FAIL: {test_name}", report)
        for leak_name in (
            "loghub-accept",
            "loghub-heartbeat",
            "loghub-run",
            "forgotten-tailer",
            "listening on 127.0.0.1:",
            "[Timer __main__.reconnect()",
        ):
            with self.subTest(leak_name):
                self.assertIn(leak_name, report)
        with self.subTest("the child process, by its command line"):
            self.assertIn("import time; time.sleep(30)", report)


if __name__ == "__main__":
    unittest.main()
