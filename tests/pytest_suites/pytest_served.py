"""A module fixture's server answers the tests: what it makes while serving is its
own, not the test's (see tests/test_pytest_plugin.py)."""

import asyncio
import queue
import socket
import threading

import pytest


class Server:
    """An asyncio server on its own loop in its own thread, as a uvicorn fixture runs one.

    Each connection gets a reply, then is kept open (a keep-alive: its handler task
    stays pending, its accepted socket open, a keep-alive timer scheduled) until the
    server stops.
    """

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self.serve(),), name="served-server", daemon=True)
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


@pytest.fixture(scope="module")
def server():
    running = Server()
    yield running
    running.stop()


def request(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        client.sendall(b"hello\n")
        assert client.makefile("rb").readline() == b"ok\n"


def test_first_request(server):
    request(server)


def test_second_request(server):
    request(server)


class ThreadCache:
    """A dispatcher thread that starts a worker thread per job when none is idle, and
    keeps idle workers until it stops (as trio's thread cache, or a portal's, does)."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[object] = queue.Queue()
        self.idle: queue.Queue[queue.Queue[object]] = queue.Queue()
        self.workers: list[threading.Thread] = []
        self.thread = threading.Thread(target=self.dispatch, name="thread-cache", daemon=True)
        self.thread.start()

    def dispatch(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                inbox = self.idle.get_nowait()
            except queue.Empty:
                inbox = queue.Queue()
                worker = threading.Thread(target=self.work, args=(inbox,), name="cache-worker", daemon=True)
                self.workers.append(worker)
                worker.start()
            inbox.put(job)
        for _ in self.workers:
            self.idle.get().put(None)
        for worker in self.workers:
            worker.join()

    def work(self, inbox: "queue.Queue[object]") -> None:
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


@pytest.fixture(scope="class")
def thread_cache():
    cache = ThreadCache()
    yield cache
    cache.stop()


class TestThreadCache:
    def test_first_needs_a_worker(self, thread_cache):
        thread_cache.run()

    def test_second_reuses_it(self, thread_cache):
        thread_cache.run()
