"""Clean tests, for comparing what `python -m leaktest` and `python -m unittest` run."""

import asyncio
import os
import unittest


class Alpha(unittest.TestCase):
    def test_one(self) -> None:
        pass

    def test_two(self) -> None:
        print("output that -b buffers")

    def test_select_me(self) -> None:
        if os.environ.get("SAMPLE_EXPECT_BASELINE_COUNTS"):
            counts = self.leaktest_baseline_counts  # type: ignore[attr-defined]
            self.assertGreaterEqual(counts["threads"], 1)


class Beta(unittest.IsolatedAsyncioTestCase):
    async def test_three(self) -> None:
        await asyncio.sleep(0)

    async def test_select_me_too(self) -> None:
        await asyncio.sleep(0)
