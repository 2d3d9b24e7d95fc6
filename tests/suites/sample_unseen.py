"""Objects made before any leaktest hook exists (this module imports leaktest only after
making them): what they start later is older than every test. Run in a process of its
own by tests/test_unseen.py."""

import asyncio
import concurrent.futures
import queue
import socket
import threading
from typing import Any

POOL = concurrent.futures.ThreadPoolExecutor(max_workers=1)  # no worker until the first submit
LOOP = asyncio.new_event_loop()
threading.Thread(target=LOOP.run_forever, name="older-loop", daemon=True).start()
LISTENER = socket.create_server(("127.0.0.1", 0))
REQUESTS: "queue.Queue[threading.Event]" = queue.Queue()
KEPT: list[Any] = []  # what the tests leave running, kept from the garbage collector


def handle(started: threading.Event) -> None:
    started.set()
    threading.Event().wait()  # a handler that never returns


def serve() -> None:
    """An older server thread: one handler thread per request."""
    while True:
        started = REQUESTS.get()
        threading.Thread(target=handle, args=(started,), name="older-handler", daemon=True).start()


threading.Thread(target=serve, name="older-server", daemon=True).start()

import leaktest  # noqa: E402  (after the objects above, on purpose)


async def forever(started: threading.Event) -> None:
    started.set()
    await asyncio.Event().wait()


class Unseen(leaktest.LeakCheckedTestCase):
    grace_period = 0.05

    def test_first_submit_to_an_older_pool(self) -> None:
        POOL.submit(int).result()

    def test_task_on_an_older_loop(self) -> None:
        started = threading.Event()
        KEPT.append(asyncio.run_coroutine_threadsafe(forever(started), LOOP))
        started.wait()

    def test_connection_accepted_by_an_older_listener(self) -> None:
        client = socket.create_connection(LISTENER.getsockname())
        self.addCleanup(client.close)
        KEPT.append(LISTENER.accept()[0])

    def test_thread_started_by_an_older_thread(self) -> None:
        started = threading.Event()
        REQUESTS.put(started)
        started.wait()

    def test_pool_made_by_the_test_leaks(self) -> None:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        KEPT.append(pool)
        pool.submit(int).result()
