"""The known helpers of trio and anyio, started for real (run as a script: anyio's
worker processes re-import the main module)."""

import asyncio
import unittest

import anyio
import anyio.to_process
import trio

import leaktest


class TrioCache(leaktest.LeakCheckedTestCase):
    grace_period = 0.1

    def test_idle_worker(self) -> None:
        async def main() -> None:
            await trio.to_thread.run_sync(abs, -1)

        trio.run(main)


class TrioCacheUnknown(TrioCache):
    library_ignores = False


class AnyioPool(leaktest.LeakCheckedTestCase):
    """A loop that outlives the test, as a test runner's does."""

    grace_period = 0.1

    @classmethod
    def setUpClass(cls) -> None:
        cls.loop = asyncio.new_event_loop()
        cls.addClassCleanup(cls.loop.close)
        cls.addClassCleanup(lambda: cls.loop.run_until_complete(cls.loop.shutdown_asyncgens()))

    def test_process_pool(self) -> None:
        async def main() -> None:
            await anyio.to_process.run_sync(abs, -1)

        self.loop.run_until_complete(main())


class AnyioPoolUnknown(AnyioPool):
    library_ignores = False


if __name__ == "__main__":
    unittest.main()
