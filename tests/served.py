"""Long-lived owners that serve the tests of a class or a fixture, shared by
tests/test_served.py (unittest) and pytest_suites/pytest_served.py (pytest, which has
tests/ on its path): what they make while serving a test is theirs, not the test's."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading


class Server:
    """An asyncio server on its own loop in its own thread, as an HTTP or ASGI test
    server (a uvicorn fixture) runs one.

    Each connection gets a reply, then is kept open (a keep-alive: its handler task
    stays pending, its accepted socket open, a keep-alive timer scheduled) until the
    server stops.
    """

    def __init__(self, name: str, *, daemon: bool) -> None:
        self.ready = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self.serve(),), name=name, daemon=daemon)
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

    def request(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port)) as client:
            client.sendall(b"hello\n")
            assert client.makefile("rb").readline() == b"ok\n"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join()


class ThreadCache:
    """A dispatcher thread that starts a worker thread per job when none is idle, and
    keeps idle workers until it stops (as trio's thread cache, or a portal's, does)."""

    def __init__(self, *, daemon: bool) -> None:
        self.daemon = daemon
        self.jobs: queue.Queue[threading.Event | None] = queue.Queue()
        self.idle: queue.Queue[queue.Queue[threading.Event | None]] = queue.Queue()
        self.workers: list[threading.Thread] = []
        self.thread = threading.Thread(target=self.dispatch, name="thread-cache", daemon=daemon)
        self.thread.start()

    def dispatch(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                inbox = self.idle.get_nowait()
            except queue.Empty:
                inbox = queue.Queue()
                worker = threading.Thread(target=self.work, args=(inbox,), name="cache-worker", daemon=self.daemon)
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
