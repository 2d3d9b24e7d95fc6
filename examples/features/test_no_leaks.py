"""`leaktest.no_leaks`: check one block or one function, without changing the base class.

Baseline at entry, check at exit: `LeakError` (an AssertionError) names what the
block left running. It is a context manager (`with`, `async with`) and a decorator.
"""

from __future__ import annotations

import asyncio
import unittest

import leaktest
from examples.features.workers import Worker


class NoLeaksExample(unittest.TestCase):
    def test_a_block_that_stops_what_it_starts_passes(self) -> None:
        with leaktest.no_leaks():
            worker = Worker("indexer").start()
            worker.stop()

    def test_a_block_that_forgets_fails_with_the_thread_name(self) -> None:
        worker = Worker("indexer")
        self.addCleanup(worker.stop)  # this example's own cleanup, after the demonstration
        with self.assertRaises(leaktest.LeakError) as caught:
            with leaktest.no_leaks(grace_period=0):
                worker.start()  # ... and no stop()
        self.assertEqual([leak.name for leak in caught.exception.leaks], ["Thread 'indexer'"])
        self.assertIn("started by", str(caught.exception))

    def test_as_a_decorator(self) -> None:
        @leaktest.no_leaks
        def rebuild_index() -> None:
            Worker("indexer").start().stop()

        rebuild_index()

    def test_on_a_coroutine_function_the_grace_is_awaited(self) -> None:
        @leaktest.no_leaks()
        async def fetch_all() -> None:
            await asyncio.gather(*(asyncio.sleep(0) for _ in range(3)))

        asyncio.run(fetch_all())


if __name__ == "__main__":
    unittest.main()
