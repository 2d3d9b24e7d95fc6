"""Warn mode: report a leak and let the test pass, to adopt leaktest in a suite that leaks today.

`leak_mode = "warn"` on a class (or ``LEAKTEST_MODE=warn`` in the environment, or
``python -m leaktest --mode warn``, which win over the class) prints the full
report to stderr and issues a `leaktest.LeakWarning`. ``-W
error::leaktest.LeakWarning`` turns the warnings back into failures. ``off``
checks nothing at all.
"""

from __future__ import annotations

import contextlib
import io
import unittest
import warnings

import leaktest
from examples.features.workers import Worker, run_one, verdict


class WarnModeExample(unittest.TestCase):
    def leaking_case(self, mode: str) -> type[unittest.TestCase]:
        worker = Worker("legacy-poller")
        self.addCleanup(worker.stop)

        class LegacySuite(leaktest.LeakCheckedTestCase):
            leak_mode = mode
            grace_period = 0

            def test(self) -> None:
                worker.start()  # leaks, as this legacy suite does today

        return LegacySuite

    def test_warn_reports_and_passes(self) -> None:
        stderr = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
            warnings.simplefilter("always")
            result = run_one(self.leaking_case("warn"))
        self.assertEqual(verdict(result), "ok")
        self.assertEqual(caught[0].category, leaktest.LeakWarning)
        self.assertIn("[Thread 'legacy-poller'", stderr.getvalue())  # the full report

    def test_warnings_made_errors_fail_again(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", leaktest.LeakWarning)  # as -W error::leaktest.LeakWarning
            self.assertEqual(verdict(run_one(self.leaking_case("warn"))), "FAIL")

    def test_off_checks_nothing(self) -> None:
        self.assertEqual(verdict(run_one(self.leaking_case("off"))), "ok")


if __name__ == "__main__":
    unittest.main()
