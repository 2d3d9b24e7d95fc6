"""`@leaktest.leak_settings(...)`: one test's own settings, on top of its class's.

Values (``grace_period``, ``check_*``, ``cleanup_leaks``, ``leak_mode``) replace
the class's for that test; ignore lists add to the class's. Sync and async tests.
"""

from __future__ import annotations

import asyncio
import unittest

import leaktest
from examples.features.workers import Worker


class LeakSettingsExample(leaktest.LeakCheckedTestCase):
    @leaktest.leak_settings(grace_period=5.0)
    def test_this_shutdown_is_slower_than_the_others(self) -> None:
        worker = Worker("flusher").start()
        self.addCleanup(worker.stop_later)

    @leaktest.leak_settings(ignore_threads=["driver-*"])
    def test_the_driver_keeps_its_thread_for_the_whole_run(self) -> None:
        worker = Worker("driver-io").start()
        self.addClassCleanup(worker.stop)  # ignored here; stopped when the class is done


class AsyncLeakSettingsExample(leaktest.LeakCheckedAsyncTestCase):
    @leaktest.leak_settings(ignore_tasks=["keepalive"])
    async def test_the_keepalive_task_may_stay(self) -> None:
        asyncio.create_task(asyncio.Event().wait(), name="keepalive")  # cancelled with the test's loop


if __name__ == "__main__":
    unittest.main()
