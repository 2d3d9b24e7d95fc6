"""Helpers for the small pytest suites that tests/test_pytest_plugin.py runs.

Leaked threads are daemons blocked on an event nobody sets; hubs stop when asked.
"""

import queue
import threading

import pytest

never = threading.Event()


def leak(name: str) -> threading.Thread:
    thread = threading.Thread(target=never.wait, name=name, daemon=True)
    thread.start()
    return thread


class Hub:
    """A worker blocked in `queue.Queue.get` inside `Hub.run` until stopped."""

    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self.thread = threading.Thread(target=self.run, name=name, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self._queue.get() is not None:
            pass

    def stop(self) -> None:
        self._queue.put(None)
        self.thread.join()

    def stop_later(self) -> None:
        """Ask the hub to stop without waiting for it (the check has to wait)."""
        self._queue.put(None)


@pytest.fixture
def worker():
    """A function-scoped fixture whose finalizer stops the thread it started."""
    hub = Hub("function-fixture-worker")
    yield hub
    hub.stop()
