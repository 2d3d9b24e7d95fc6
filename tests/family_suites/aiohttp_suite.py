"""aiohttp's AioHTTPTestCase with leaktest's asyncio base class first."""

import asyncio

from _leaks import leak_thread
from aiohttp import web
from aiohttp.test_utils import AioHTTPTestCase

import leaktest

_tasks: list["asyncio.Task[object]"] = []  # leaked tasks stay referenced


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


class AiohttpChecked(leaktest.LeakCheckedAsyncTestCase, AioHTTPTestCase):
    grace_period = 0.05  # what it leaks on purpose is waited for briefly

    async def get_application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", hello)
        return app

    async def test_clean_request(self) -> None:
        async with self.client.get("/") as response:
            self.assertEqual(await response.text(), "hello")

    async def test_leaks_thread(self) -> None:
        async with self.client.get("/") as response:
            self.assertEqual(await response.text(), "hello")
        leak_thread("aiohttp-thread-leak")

    async def test_leaks_task(self) -> None:
        _tasks.append(asyncio.create_task(asyncio.Event().wait(), name="aiohttp-task-leak"))
