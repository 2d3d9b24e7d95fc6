from _leaks import leak_thread
from aiohttp import web
from aiohttp.test_utils import AioHTTPTestCase


class AiohttpPlain(AioHTTPTestCase):
    async def get_application(self) -> web.Application:
        return web.Application()

    async def test_clean(self) -> None:
        async with self.client.get("/") as response:
            self.assertEqual(response.status, 404)

    async def test_leaks_thread(self) -> None:
        leak_thread("aiohttp-plain-leak")
