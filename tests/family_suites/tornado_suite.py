"""tornado's AsyncTestCase and AsyncHTTPTestCase with leaktest's base class first."""

import asyncio

from _leaks import leak_thread
from tornado.testing import AsyncHTTPTestCase, AsyncTestCase, gen_test
from tornado.web import Application, RequestHandler

import leaktest

_tasks: list[asyncio.Task[None]] = []  # kept: the leaked task is pending, not collected


class Hello(RequestHandler):
    def get(self) -> None:
        self.write("hello")


class TornadoChecked(leaktest.LeakCheckedTestCase, AsyncTestCase):
    grace_period = 0.05  # what it leaks on purpose is waited for briefly

    @gen_test
    async def test_clean(self) -> None:
        await self.io_loop.run_in_executor(None, lambda: None)

    @gen_test
    async def test_leaks_thread(self) -> None:
        leak_thread("tornado-thread-leak")

    @gen_test
    async def test_leaks_task(self) -> None:
        _tasks.append(asyncio.create_task(asyncio.Event().wait(), name="tornado-task-leak"))

    @gen_test
    async def test_awaits_its_task(self) -> None:
        await asyncio.create_task(asyncio.sleep(0), name="tornado-awaited-task")


class TornadoTearDownChecked(leaktest.LeakCheckedTestCase, AsyncTestCase):
    """The check of pending tasks follows the user's tearDown, which may end them."""

    grace_period = 0.05  # what it leaks on purpose is waited for briefly

    def tearDown(self) -> None:
        self.task.cancel()
        super().tearDown()

    @gen_test
    async def test_task_cancelled_by_tear_down(self) -> None:
        self.task = asyncio.create_task(asyncio.Event().wait(), name="tornado-task-cancelled-by-teardown")


class TornadoHTTPChecked(leaktest.LeakCheckedTestCase, AsyncHTTPTestCase):
    grace_period = 0.05  # what it leaks on purpose is waited for briefly

    def get_app(self) -> Application:
        return Application([("/", Hello)])

    def test_clean_fetch(self) -> None:
        self.assertEqual(self.fetch("/").body, b"hello")

    def test_leaks_thread(self) -> None:
        self.assertEqual(self.fetch("/").body, b"hello")
        leak_thread("tornado-http-thread-leak")
