"""`ignore_threads`: fnmatch patterns on thread names, for threads a test may leave running.

Here a metrics library starts its reporter thread lazily, in whichever test
first records a metric, and keeps it for the whole process: it is nobody's leak.
"""

from __future__ import annotations

import unittest

import leaktest
from examples.features.workers import Worker, run_one, verdict

_reporter: Worker | None = None


def record_metric() -> None:
    """Starts the process-wide 'metrics-reporter' thread on first use."""
    global _reporter
    if _reporter is None:
        _reporter = Worker("metrics-reporter").start()


def tearDownModule() -> None:
    if _reporter is not None:
        _reporter.stop()


class IgnoreThreadsExample(leaktest.LeakCheckedTestCase):
    ignore_threads = ["metrics-*"]  # a subclass's ignore_threads adds to this list

    def test_the_reporter_may_outlive_the_test(self) -> None:
        record_metric()

    def test_without_the_ignore_such_a_thread_fails_the_test(self) -> None:
        reporter = Worker("metrics-reporter")
        self.addCleanup(reporter.stop)  # the example stops what its inner test leaks

        class Unconfigured(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                reporter.start()

        self.assertEqual(verdict(run_one(Unconfigured)), "FAIL")


if __name__ == "__main__":
    unittest.main()
