"""A known-leaks file and a JSON report: adopt leaktest in a suite that already leaks.

``python -m leaktest --leak-baseline known-leaks.json ...``: the first run records
every leak it finds in the file and passes; later runs fail only on leaks the file
does not list, and name the entries that no longer leak. ``--update-leak-baseline``
rewrites the file; ``--leak-report FILE`` writes every leak of the run as JSON. Under
pytest: ``--leaktest-baseline``, ``--leaktest-update-baseline``, ``--leaktest-report``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = "examples.features.unchanged_suite"


def run_leaktest(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEAKTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "leaktest", "--grace-period", "0", *args, SUITE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


class KnownLeaksExample(unittest.TestCase):
    def test_record_once_then_only_new_leaks_fail(self) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            known = os.path.join(scratch, "known-leaks.json")
            first = run_leaktest("--leak-baseline", known)
            self.assertEqual(first.returncode, 0, first.stderr)  # recorded, not failed
            with open(known) as file:
                entries = json.load(file)["leaks"]
            self.assertEqual(
                entries,
                [
                    {
                        "test": f"{SUITE}.Cache.test_warm_up_leaves_the_refresher_running",
                        "kind": "threads",
                        "runs": "threading.Event.wait",
                        "started_by": f"{SUITE}.Cache.test_warm_up_leaves_the_refresher_running",
                        "reason": "",  # say why it is accepted for now
                    }
                ],
            )
            second = run_leaktest("--leak-baseline", known)
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertIn("1 leak known from", second.stderr)

    def test_a_json_report_of_every_leak(self) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            report = os.path.join(scratch, "leaks.json")
            run = run_leaktest("--leak-report", report)
            self.assertEqual(run.returncode, 1, run.stderr)
            with open(report) as file:
                (leak,) = json.load(file)["leaks"]
            self.assertEqual(
                (leak["kind"], leak["name"], leak["status"]), ("threads", "Thread 'cache-refresher'", "failed")
            )


if __name__ == "__main__":
    unittest.main()
