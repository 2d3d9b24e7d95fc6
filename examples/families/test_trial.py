"""Twisted trial's SynchronousTestCase, leak-checked: leaktest.LeakCheckedTestCase first among the bases.

trial runs a test its own way (its cleanups, then tearDown, reported to its own
result): leaktest checks at the end of its tearDown and reports a leak as the
test's failure, under the `trial` command as under unittest or pytest.
"""

from __future__ import annotations

import unittest

try:
    from twisted.trial import unittest as trial
except ImportError:  # a test-only dependency of this example
    raise unittest.SkipTest("twisted is not installed") from None

import leaktest
from examples.features.workers import Worker, report, run_one, verdict


class ArithmeticTest(leaktest.LeakCheckedTestCase, trial.SynchronousTestCase):
    def test_sum(self) -> None:
        self.assertEqual(sum([1, 2, 3]), 6)


class LeakInATrialTest(unittest.TestCase):
    def test_a_thread_left_running_fails_the_test(self) -> None:
        worker = Worker("trial-example-worker")

        class Leaky(ArithmeticTest):
            def test(self) -> None:
                worker.start()

        result = run_one(Leaky)
        worker.stop()
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Thread 'trial-example-worker'", report(result))
