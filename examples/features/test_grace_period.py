"""`grace_period`: how long, at most, the check waits for what a test started to end.

A thread asked to stop but not joined ends a moment after the cleanups; the
check waits for it and returns the moment it has ended, so a longer grace costs
nothing on a clean test. Only a real leak waits the whole grace period. The
default, 1 s, covers the slowest stdlib stragglers measured on a loaded machine
(docs/grace.rst), and stretches by itself while the machine is overloaded.
"""

from __future__ import annotations

import unittest

import leaktest
from examples.features.workers import Worker, run_one, verdict


class GracePeriodExample(leaktest.LeakCheckedTestCase):
    grace_period = 5.0  # generous: a straggler ends long before, and the check returns then

    def test_a_stop_that_does_not_join_is_waited_for(self) -> None:
        worker = Worker("uploader").start()
        self.addCleanup(worker.stop_later)  # signals the thread; the check waits for its end

    def test_a_real_leak_waits_the_whole_grace_period(self) -> None:
        worker = Worker("uploader")
        self.addCleanup(worker.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.2

            def test(self) -> None:
                worker.start()

        self.assertEqual(verdict(run_one(Inner)), "FAIL")  # after waiting its 0.2 s


if __name__ == "__main__":
    unittest.main()
