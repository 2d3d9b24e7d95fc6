"""tornado's AsyncHTTPTestCase, leak-checked: leaktest.LeakCheckedTestCase first among the bases.

tornado's tearDown stops the server, closes the client and the IOLoop; leaktest
checks after it and after every cleanup, so only what the test itself left
running is reported. The tasks still pending on the IOLoop, which tornado's
tearDown cancels, are checked just before it does.
"""

from __future__ import annotations

import unittest

try:
    from tornado.testing import AsyncHTTPTestCase
    from tornado.web import Application, RequestHandler
except ImportError:  # a test-only dependency of this example
    raise unittest.SkipTest("tornado is not installed") from None

import leaktest
from examples.features.workers import Worker, report, run_one, verdict


class Hello(RequestHandler):
    def get(self) -> None:
        self.write("hello")


class HelloTest(leaktest.LeakCheckedTestCase, AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([("/", Hello)])

    def test_hello(self) -> None:
        self.assertEqual(self.fetch("/").body, b"hello")


class LeakInATornadoTest(unittest.TestCase):
    def test_a_thread_left_running_fails_the_test(self) -> None:
        worker = Worker("tornado-example-worker")

        class Leaky(HelloTest):
            def test(self) -> None:
                self.fetch("/")
                worker.start()

        result = run_one(Leaky)
        worker.stop()
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Thread 'tornado-example-worker'", report(result))
