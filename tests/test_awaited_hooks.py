"""A hook on an `async def` method hears of the awaited result (probes/install.py's
`Hook.awaited`, what uvloop's `create_server` and `subprocess_exec` are heard through)."""

from __future__ import annotations

import asyncio
import unittest
from types import FrameType
from typing import Any

import leaktest
from leaktest.probes import install


class Served:
    """A class whose coroutine method is hooked (as uvloop.Loop's are)."""

    async def start(self, name: str) -> str:
        await asyncio.sleep(0)
        return f"server {name}"

    async def fail(self) -> None:
        raise OSError("address in use")


class AwaitedHookTest(leaktest.LeakCheckedTestCase):
    def setUp(self) -> None:
        self.heard: list[tuple[Any, str | None, tuple[Any, ...]]] = []
        originals = dict(vars(Served))
        self.addCleanup(lambda: [setattr(Served, name, originals[name]) for name in ("start", "fail")])

    def listener(self, result: Any, frame: FrameType | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.heard.append((result, frame.f_code.co_name if frame is not None else None, args[1:]))

    def test_the_listener_hears_the_awaited_result_and_the_caller(self) -> None:
        install.install([install.Hook(lambda: Served, "start", self.listener, awaited=True)])

        async def caller() -> str:
            return await Served().start("one")

        self.assertEqual(asyncio.run(caller()), "server one")
        self.assertEqual(self.heard, [("server one", "caller", ("one",))])

    def test_a_call_that_raises_is_not_heard_and_raises_as_before(self) -> None:
        install.install([install.Hook(lambda: Served, "fail", self.listener, awaited=True)])
        with self.assertRaisesRegex(OSError, "address in use"):
            asyncio.run(Served().fail())
        self.assertEqual(self.heard, [])

    def test_a_method_hooks_are_all_awaited_or_none(self) -> None:
        install.install([install.Hook(lambda: Served, "start", self.listener, awaited=True)])
        with self.assertRaisesRegex(ValueError, "all awaited or none is"):
            install.install([install.Hook(lambda: Served, "start", print, after=True)])


if __name__ == "__main__":
    unittest.main()
