"""The grace period stretches while the machine is overloaded, and only then."""

from __future__ import annotations

import threading
import unittest
from unittest import mock

import leaktest
from leaktest import load
from support import run_tests, verdict


class EndsOnSecondJoin(threading.Thread):
    """A straggler that outlives the grace period and ends during the extra time.

    The check joins it once until the deadline; only a second join, which the
    check makes when it extends the deadline, lets it end. No timing involved.
    """

    def __init__(self) -> None:
        super().__init__(name="slow-straggler")
        self.release = threading.Event()
        self.joins = 0

    def run(self) -> None:
        self.release.wait()

    def join(self, timeout: float | None = None) -> None:
        self.joins += 1
        if self.joins >= 2:
            self.release.set()
        super().join(timeout)


class LoadExtension(leaktest.LeakCheckedTestCase):
    def run_straggler(self, load_per_cpu: float) -> str:
        straggler = EndsOnSecondJoin()
        self.addCleanup(straggler.release.set)

        class Inner(leaktest.LeakCheckedTestCase):
            # The extra time is 1.5 grace periods at a load of 2.5: long enough for the
            # released straggler to be scheduled and end on two busy cores (at 0.01 s,
            # 15 ms, it was not, 1 full-suite stress run in 20).
            grace_period = 0.1

            def test(self) -> None:
                straggler.start()

        with mock.patch.object(load, "_load_per_cpu", return_value=load_per_cpu):
            return verdict(run_tests(Inner, "test", load_stretch=True))

    def test_overloaded_machine_gives_stragglers_more_time(self) -> None:
        self.assertEqual(self.run_straggler(2.5), "ok")

    def test_no_extra_time_when_the_machine_keeps_up(self) -> None:
        self.assertEqual(self.run_straggler(0.9), "FAIL")

    def test_extra_time_is_bounded(self) -> None:
        with mock.patch.object(load, "_load_per_cpu", return_value=50.0):
            self.assertEqual(load.extension(1.0), load.MAX_FACTOR - 1.0)
        with mock.patch.object(load, "_load_per_cpu", return_value=2.0):
            self.assertEqual(load.extension(0.5), 0.5)

    def test_the_default_grace_period_covers_the_measured_stragglers(self) -> None:
        # The slowest straggler measured under load was 0.22 s (docs/grace.rst,
        # "A grace period that holds under load"); the default keeps a wide margin.
        self.assertEqual(leaktest.LeakCheckedTestCase.grace_period, 1.0)


if __name__ == "__main__":
    unittest.main()
