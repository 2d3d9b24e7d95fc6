"""urllib3's module-level pool, a known helper (known_helpers.py): the keep-alive socket
`urllib3.request()` leaves in the pool made at import is the pool's, not the first
test's; a socket of a pool the test made itself is still reported.

urllib3 is not installed in CI: a package of the same name, shaped as its code path
is (2.x: `urllib3.request` -> `_DEFAULT_POOL.request` -> a connection pool ->
`http.client.HTTPConnection.send` -> `HTTPConnection.connect` ->
`urllib3.util.connection.create_connection` -> `socket.socket`), stands in for it.
Each class runs in its own process: the pool outlives the test that filled it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOOKALIKE = {
    "urllib3/__init__.py": """
        from .poolmanager import PoolManager

        _DEFAULT_POOL = PoolManager()


        def request(method, url):
            return _DEFAULT_POOL.request(method, url)
    """,
    "urllib3/poolmanager.py": """
        import http.client
        import queue

        from .util import connection


        class HTTPConnection(http.client.HTTPConnection):
            def connect(self):
                self.sock = connection.create_connection((self.host, self.port))


        class HTTPConnectionPool:
            def __init__(self, host, port):
                self.host, self.port = host, port
                self.pool = queue.LifoQueue()

            def urlopen(self, method, url):
                conn = self.pool.get_nowait() if self.pool.qsize() else HTTPConnection(self.host, self.port)
                conn.send(b"")  # http.client connects on the first send
                self.pool.put(conn)  # kept alive for the next caller


        class PoolManager:
            def __init__(self):
                self.pools = {}

            def request(self, method, url):
                host, port = url.split("//")[1].rstrip("/").split(":")
                pool = self.pools.setdefault((host, port), HTTPConnectionPool(host, int(port)))
                return pool.urlopen(method, url)
    """,
    "urllib3/util/__init__.py": "",
    "urllib3/util/connection.py": """
        import socket


        def create_connection(address):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.connect(address)
            return sock
    """,
    "test_pools.py": """
        import os, socket, unittest
        import leaktest
        import urllib3

        LISTENER = socket.create_server(("127.0.0.1", 0), backlog=16)  # made at import: nobody's leak
        URL = f"http://127.0.0.1:{LISTENER.getsockname()[1]}/"
        _kept = []

        class ModuleLevelPool(leaktest.LeakCheckedTestCase):
            grace_period = 0.05
            def test_first_request(self):
                urllib3.request("GET", URL)
            def test_second_request(self):
                urllib3.request("GET", URL)

        class ModuleLevelPoolUnknown(leaktest.LeakCheckedTestCase):
            grace_period = 0.05
            library_ignores = False
            def test_first_request(self):
                urllib3.request("GET", URL)

        class OwnPool(leaktest.LeakCheckedTestCase):
            grace_period = 0.05
            def test_own_pool(self):
                pool = urllib3.PoolManager()
                _kept.append(pool)
                pool.request("GET", URL)

        class OwnPoolUnderBlockbuster(leaktest.LeakCheckedTestCase):
            grace_period = 0.05
            def test_own_pool(self):
                # As blockbuster refuses os.path.abspath inside an event loop: leaktest's
                # hooks look at files seen for the first time meanwhile.
                real = os.path.abspath
                def refused(path):
                    raise RuntimeError("Blocking call to os.path.abspath")
                os.path.abspath = refused
                try:
                    pool = urllib3.PoolManager()
                    _kept.append(pool)
                    pool.request("GET", URL)
                finally:
                    os.path.abspath = real
    """,
}


class ModuleLevelPoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        top = tempfile.mkdtemp()
        cls.addClassCleanup(__import__("shutil").rmtree, top)
        for name, text in LOOKALIKE.items():
            path = Path(top, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        cls.top = top

    def run_class(self, name: str) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LEAKTEST_"))}
        environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), self.top])
        return subprocess.run(
            [sys.executable, "-m", "unittest", "-v", f"test_pools.{name}"],
            cwd=self.top,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def test_the_module_level_pools_socket_is_the_pools(self) -> None:
        done = self.run_class("ModuleLevelPool")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Ran 2 tests", done.stderr)

    def test_the_switch_turns_it_back_on(self) -> None:
        done = self.run_class("ModuleLevelPoolUnknown")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("found unexpected sockets:", done.stderr)
        self.assertIn("created by urllib3.util.connection.create_connection at ", done.stderr)

    def test_a_pool_the_test_made_is_still_reported(self) -> None:
        done = self.run_class("OwnPool")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("test_own_pool (test_pools.OwnPool", done.stderr)
        self.assertIn("(AF_INET, SOCK_STREAM, connected 127.0.0.1:", done.stderr)
        self.assertIn("created by urllib3.util.connection.create_connection at ", done.stderr)
        self.assertIn("from test_pools.OwnPool.test_own_pool at ", done.stderr)

    def test_a_pool_made_under_blockbuster_is_still_reported(self) -> None:
        done = self.run_class("OwnPoolUnderBlockbuster")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("created by urllib3.util.connection.create_connection at ", done.stderr)


if __name__ == "__main__":
    unittest.main()
