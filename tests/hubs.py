"""Small thread owners for the tests: a queue-driven hub, as users write them."""

from __future__ import annotations

import queue
import threading


class Hub:
    """A worker blocked in `queue.Queue.get` inside `Hub.run` until stopped."""

    def __init__(self, name: str = "hub-run", daemon: bool = False) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self.thread = threading.Thread(target=self.run, name=name, daemon=daemon)

    def start(self) -> Hub:
        self.thread.start()
        return self

    def run(self) -> None:
        while self._queue.get() is not None:
            pass

    def stop(self) -> None:
        self._queue.put(None)
        self.thread.join()

    def stop_later(self) -> None:
        """Ask the hub to stop without waiting for it (the check has to wait)."""
        self._queue.put(None)


def start_hub(name: str = "hub-run", daemon: bool = False) -> Hub:
    return Hub(name, daemon).start()


class PreparingThread(threading.Thread):
    """A Thread subclass with its own `start` calling `super().start()`, as watchdog's
    `BaseThread`: the report must name whoever called `start`, not the override."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.stopped = threading.Event()
        self.prepared = False

    def start(self) -> None:
        self.prepared = True
        super().start()

    def run(self) -> None:
        self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()
        self.join()


class TwiceOverriddenThread(PreparingThread):
    """A second override on top of the first: both are the thread's own `start`."""

    def start(self) -> None:
        PreparingThread.start(self)
