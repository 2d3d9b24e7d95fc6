"""aiohttp's AioHTTPTestCase, leak-checked: leaktest.LeakCheckedAsyncTestCase first among the bases.

AioHTTPTestCase is an IsolatedAsyncioTestCase: its server and client close in
its asyncTearDown, and leaktest checks after it and after every cleanup, on the
test's own loop before that loop is closed, so a task the test left pending is
reported too.
"""

from __future__ import annotations

import asyncio
import unittest

try:
    from aiohttp import web
    from aiohttp.test_utils import AioHTTPTestCase
except ImportError:  # a test-only dependency of this example
    raise unittest.SkipTest("aiohttp is not installed") from None

import leaktest
from examples.features.workers import report, run_one, verdict


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


class HelloTest(leaktest.LeakCheckedAsyncTestCase, AioHTTPTestCase):
    async def get_application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", hello)
        return app

    async def test_hello(self) -> None:
        async with self.client.get("/") as response:
            self.assertEqual(await response.text(), "hello")


class LeakInAnAiohttpTest(unittest.TestCase):
    def test_a_task_left_pending_fails_the_test(self) -> None:
        class Leaky(HelloTest):
            async def test(self) -> None:
                self.forgotten = asyncio.create_task(asyncio.Event().wait(), name="aiohttp-example-task")

        result = run_one(Leaky)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Task 'aiohttp-example-task'", report(result))
