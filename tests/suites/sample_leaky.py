"""Leaks on purpose, of every shape the runner must catch in an unchanged suite.

The leaked threads are daemons blocked on an event nobody sets: they end with
the process that runs this sample.
"""

import asyncio
import threading
import unittest

import leaktest

_never = threading.Event()
_tasks: list["asyncio.Task[object]"] = []  # leaked tasks stay referenced: not garbage-collected


def hold() -> None:
    _never.wait()


def leak(name: str) -> None:
    threading.Thread(target=hold, name=name, daemon=True).start()


class PlainLeak(unittest.TestCase):
    def test_leaks_thread(self) -> None:
        leak("plain-leak")

    def test_clean(self) -> None:
        pass


class AsyncLeak(unittest.IsolatedAsyncioTestCase):
    async def test_leaks_thread(self) -> None:
        leak("async-thread-leak")

    async def test_leaks_task(self) -> None:
        _tasks.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="async-task-leak"))

    async def test_clean(self) -> None:
        await asyncio.sleep(0)


class SetUpFails(unittest.TestCase):
    def setUp(self) -> None:
        leak("setup-leak")
        raise RuntimeError("setUp fails on purpose")

    def test_never_runs(self) -> None:
        pass


class ClassFixtureLeak(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        leak("class-fixture-leak")

    def test_clean(self) -> None:
        pass


class CheckedSubclass(leaktest.LeakCheckedTestCase):
    """Checked by its own base class, once, with its own ignores."""

    ignore_threads = ("own-ignore-*",)

    def test_leaks_ignored_thread(self) -> None:
        leak("own-ignore-1")
