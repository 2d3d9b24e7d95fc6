"""An old-style suite: sync tests sharing the loop `asyncio.get_event_loop()` creates
implicitly (3.10-3.13) in a process where no loop was ever set."""

import asyncio
import unittest
import warnings


def run(coro: "asyncio.Future[object] | object") -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: "There is no current event loop"
        return asyncio.get_event_loop().run_until_complete(coro)  # type: ignore[arg-type]


class OldStyle(unittest.TestCase):
    def test_first_uses_the_implicit_loop(self) -> None:
        run(asyncio.sleep(0))

    def test_second_uses_it_too(self) -> None:
        run(asyncio.sleep(0))
