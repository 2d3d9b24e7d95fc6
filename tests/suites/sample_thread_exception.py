"""A test whose background thread dies of an exception raised on purpose (and no leak)."""

import threading
import unittest


def fail() -> None:
    raise RuntimeError("a background thread re-raises a command's error on purpose")


class ThreadRaises(unittest.TestCase):
    def test_thread_raises(self) -> None:
        thread = threading.Thread(target=fail, name="reraiser")
        thread.start()
        thread.join()
