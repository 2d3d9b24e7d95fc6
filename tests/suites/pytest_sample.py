"""The base classes under pytest (and pytest-xdist): run by tests/test_pytest.py.

The leaked threads are daemons blocked on an event nobody sets.
"""

import asyncio
import threading

import leaktest

_never = threading.Event()
_tasks: list["asyncio.Task[object]"] = []


def hold() -> None:
    _never.wait()


def leak(name: str) -> None:
    threading.Thread(target=hold, name=name, daemon=True).start()


class Plain(leaktest.LeakCheckedTestCase):
    grace_period = 0.05

    def test_clean(self) -> None:
        pass

    def test_leaks(self) -> None:
        leak("pytest-plain-leak")

    def test_fails_and_leaks(self) -> None:
        leak("pytest-failing-leak")
        self.fail("fails on purpose")

    def test_ignored(self) -> None:
        leak("pytest-ignored-1")

    ignore_threads = ("pytest-ignored-*",)


class Async(leaktest.LeakCheckedAsyncTestCase):
    grace_period = 0.05

    async def test_clean(self) -> None:
        await asyncio.sleep(0)

    async def test_leaks_task(self) -> None:
        _tasks.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="pytest-task-leak"))

    async def test_leaks_thread(self) -> None:
        leak("pytest-async-thread-leak")
