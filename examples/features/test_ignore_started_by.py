"""`ignore_started_by`: ignore what a library starts, by the function that started it.

Matched against the whole stack that started the thread, created the task or
spawned the process: "anything this library starts" is one line. Same name forms
as the other function rules (``"pkg.module.function"`` strings or the objects).
"""

from __future__ import annotations

import concurrent.futures
import threading
import unittest
from collections.abc import Callable

import leaktest
from examples.features.workers import Worker, run_one, verdict

_pool: concurrent.futures.ThreadPoolExecutor | None = None


def run_in_background(job: Callable[[], object]) -> None:
    """A library's entry point: its process-wide pool starts threads on first use."""
    global _pool
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="library-pool")
    _pool.submit(job)


def tearDownModule() -> None:
    if _pool is not None:
        _pool.shutdown()


class IgnoreStartedByExample(leaktest.LeakCheckedTestCase):
    ignore_started_by = [run_in_background]  # or f"{__name__}.run_in_background"

    def test_threads_the_library_starts_may_outlive_the_test(self) -> None:
        done = threading.Event()
        run_in_background(done.set)
        done.wait()

    def test_threads_started_otherwise_are_still_checked(self) -> None:
        worker = Worker("own-worker")
        self.addCleanup(worker.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_started_by = [run_in_background]
            grace_period = 0

            def test(self) -> None:
                worker.start()

        self.assertEqual(verdict(run_one(Inner)), "FAIL")


if __name__ == "__main__":
    unittest.main()
