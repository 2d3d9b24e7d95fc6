"""`leaktest.verify_none`: goleak's VerifyNone, for a suite's end or a process's.

Unlike a per-test check, there is no baseline: every thread but the main thread
and the caller, every pending task and every child process is a leak, whoever
started it.
"""

from __future__ import annotations

import unittest

import leaktest
from examples.features.workers import Worker


class VerifyNoneExample(unittest.TestCase):
    def test_nothing_running_passes(self) -> None:
        leaktest.verify_none()

    def test_a_thread_started_long_before_still_counts(self) -> None:
        worker = Worker("started-at-import").start()  # as if a module had started it
        self.addCleanup(worker.stop)
        with self.assertRaises(leaktest.LeakError) as caught:
            leaktest.verify_none(grace_period=0)
        self.assertIn("Thread 'started-at-import'", [leak.name for leak in caught.exception.leaks])

    def test_what_is_expected_to_run_is_ignored(self) -> None:
        worker = Worker("started-at-import").start()
        self.addCleanup(worker.stop)
        leaktest.verify_none(ignore_threads=["started-at-*"])


if __name__ == "__main__":
    unittest.main()
