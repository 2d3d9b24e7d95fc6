from _leaks import leak_thread
from tornado.testing import AsyncTestCase, gen_test


class TornadoPlain(AsyncTestCase):
    @gen_test
    async def test_clean(self) -> None:
        await self.io_loop.run_in_executor(None, lambda: None)

    @gen_test
    async def test_leaks_thread(self) -> None:
        leak_thread("tornado-plain-leak")
