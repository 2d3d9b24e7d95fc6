"""Twisted trial's SynchronousTestCase with leaktest's base class first."""

from _leaks import leak_thread
from twisted.trial import unittest as trial

import leaktest


class TrialChecked(leaktest.LeakCheckedTestCase, trial.SynchronousTestCase):
    grace_period = 0.05  # what it leaks on purpose is waited for briefly

    def test_clean(self) -> None:
        self.assertEqual(1 + 1, 2)

    def test_leaks_thread(self) -> None:
        leak_thread("trial-thread-leak")

    def test_tear_down_fails_and_leaks(self) -> None:
        leak_thread("trial-teardown-leak")

    def tearDown(self) -> None:
        super().tearDown()
        if self._testMethodName == "test_tear_down_fails_and_leaks":
            raise RuntimeError("tearDown fails on purpose")
