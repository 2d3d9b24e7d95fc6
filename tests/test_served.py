"""What a class's server makes while answering its tests is the class's, not the tests'.

The server runs its own asyncio loop in a thread started by `setUpClass`, as an
HTTP or ASGI test server does; each request leaves a keep-alive behind: the
accepted connection open, its handler task pending, a timer scheduled. A
thread cache started by `setUpClass` starts a worker thread for the first test
and keeps it idle for the next.
"""

from __future__ import annotations

import leaktest
from served import Server, ThreadCache
from support import report, run_tests


class ClassServer(leaktest.LeakCheckedTestCase):
    def test_keep_alives_of_a_class_server_are_the_classs(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            server: Server

            @classmethod
            def setUpClass(cls) -> None:
                cls.server = Server("class-server", daemon=False)

            @classmethod
            def tearDownClass(cls) -> None:
                cls.server.stop()

            def test_1(self) -> None:
                self.server.request()

            def test_2(self) -> None:
                self.server.request()

        result = run_tests(Inner)
        self.assertEqual((result.testsRun, result.failures, result.errors), (2, [], []), report(result))

    def test_workers_a_class_thread_cache_starts_are_the_classs(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            cache: ThreadCache

            @classmethod
            def setUpClass(cls) -> None:
                cls.cache = ThreadCache(daemon=False)

            @classmethod
            def tearDownClass(cls) -> None:
                cls.cache.stop()

            def test_1_needs_a_worker(self) -> None:
                self.cache.run()

            def test_2_reuses_it(self) -> None:
                self.cache.run()

        result = run_tests(Inner)
        self.assertEqual((result.testsRun, result.failures, result.errors), (2, [], []), report(result))
