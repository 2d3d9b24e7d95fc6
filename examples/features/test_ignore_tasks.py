"""`ignore_tasks`: fnmatch patterns on asyncio task names or coroutine qualified names."""

from __future__ import annotations

import asyncio
import unittest

import leaktest
from examples.features.workers import report, run_one, verdict


async def heartbeat() -> None:
    while True:
        await asyncio.sleep(3600)


class IgnoreTasksExample(leaktest.LeakCheckedAsyncTestCase):
    # A task name ("heartbeat-*") or a coroutine's qualified name ("*.heartbeat").
    ignore_tasks = ["heartbeat-*"]

    async def test_an_ignored_task_may_still_be_pending(self) -> None:
        asyncio.create_task(heartbeat(), name="heartbeat-1")  # the test's loop cancels it after the check


class OtherTasksAreStillChecked(unittest.TestCase):
    def test_a_task_not_matched_fails(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            ignore_tasks = ["heartbeat-*"]

            async def test(self) -> None:
                asyncio.create_task(heartbeat(), name="poller-1")

        result = run_one(Inner)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("Task 'poller-1'", report(result))


if __name__ == "__main__":
    unittest.main()
