import asyncio

from _leaks import leak_thread
from tornado.testing import AsyncTestCase, gen_test

_tasks: list[asyncio.Task[None]] = []  # kept: the leaked task is pending, not collected


class TornadoPlain(AsyncTestCase):
    @gen_test
    async def test_clean(self) -> None:
        await self.io_loop.run_in_executor(None, lambda: None)

    @gen_test
    async def test_leaks_thread(self) -> None:
        leak_thread("tornado-plain-leak")

    @gen_test
    async def test_leaks_task(self) -> None:
        _tasks.append(asyncio.create_task(asyncio.Event().wait(), name="tornado-plain-task-leak"))
