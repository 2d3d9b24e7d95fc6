"""A clean test whose thread is still running when the check starts, and ends during it.

The thread ends only once the check joins it (`join` is where the check waits),
so it is a straggler on any machine, however fast or loaded.
"""

import threading
import unittest


class JoinedToEnd(threading.Thread):
    """Runs until someone joins it: a thread that always outlives the cleanups."""

    def __init__(self) -> None:
        super().__init__(name="straggler", daemon=True)
        self.joined = threading.Event()

    def run(self) -> None:
        self.joined.wait()

    def join(self, timeout: float | None = None) -> None:
        self.joined.set()
        super().join(timeout)


class Straggler(unittest.TestCase):
    def test_thread_ends_during_the_check(self) -> None:
        JoinedToEnd().start()

    def test_nothing_to_wait_for(self) -> None:
        pass
