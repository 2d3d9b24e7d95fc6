"""What a class's server makes while answering its tests is the class's, not the tests'.

The server runs its own asyncio loop in a thread started by `setUpClass`, as an
HTTP or ASGI test server does; each request leaves a keep-alive behind: the
accepted connection open, its handler task pending, a timer scheduled. A
thread cache started by `setUpClass` starts a worker thread for the first test
and keeps it idle for the next.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading

import leaktest
from support import report, run_tests


class Server:
    """An asyncio server on its own loop in its own thread; connections kept until it stops."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self.serve(),), name="class-server")
        self.thread.start()
        self.ready.wait()

    async def serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        server = await asyncio.start_server(self.answer, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        async with server:
            await self.stopping.wait()

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"ok\n")
        await writer.drain()
        keep_alive = asyncio.get_running_loop().call_later(3600, self.expire, writer)
        await self.stopping.wait()
        keep_alive.cancel()
        writer.close()

    def expire(self, writer: asyncio.StreamWriter) -> None:
        writer.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join()

    def request(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port)) as client:
            client.sendall(b"hello\n")
            assert client.makefile("rb").readline() == b"ok\n"


class ThreadCache:
    """A dispatcher thread that starts a worker per job when none is idle, and keeps
    idle workers until it stops (as trio's thread cache does)."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[threading.Event | None] = queue.Queue()
        self.idle: queue.Queue[queue.Queue[threading.Event | None]] = queue.Queue()
        self.workers: list[threading.Thread] = []
        self.thread = threading.Thread(target=self.dispatch, name="thread-cache")
        self.thread.start()

    def dispatch(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                inbox = self.idle.get_nowait()
            except queue.Empty:
                inbox = queue.Queue()
                worker = threading.Thread(target=self.work, args=(inbox,), name="cache-worker")
                self.workers.append(worker)
                worker.start()
            inbox.put(job)
        for _ in self.workers:
            self.idle.get().put(None)
        for worker in self.workers:
            worker.join()

    def work(self, inbox: queue.Queue[threading.Event | None]) -> None:
        while (job := inbox.get()) is not None:
            job.set()
            self.idle.put(inbox)

    def run(self) -> None:
        done = threading.Event()
        self.jobs.put(done)
        done.wait()

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join()


class ClassServer(leaktest.LeakCheckedTestCase):
    def test_keep_alives_of_a_class_server_are_the_classs(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            server: Server

            @classmethod
            def setUpClass(cls) -> None:
                cls.server = Server()

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
                cls.cache = ThreadCache()

            @classmethod
            def tearDownClass(cls) -> None:
                cls.cache.stop()

            def test_1_needs_a_worker(self) -> None:
                self.cache.run()

            def test_2_reuses_it(self) -> None:
                self.cache.run()

        result = run_tests(Inner)
        self.assertEqual((result.testsRun, result.failures, result.errors), (2, [], []), report(result))
