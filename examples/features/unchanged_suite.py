"""A plain unittest suite, not written for leaktest: `test_runner.py` runs it with ``python -m leaktest``.

Not named test*.py, so discovery leaves it to that example.
"""

import threading
import unittest

_stop = threading.Event()


class Cache(unittest.TestCase):
    def test_warm_up_leaves_the_refresher_running(self) -> None:
        threading.Thread(target=_stop.wait, name="cache-refresher", daemon=True).start()

    def test_lookup(self) -> None:
        self.assertEqual({"a": 1}["a"], 1)
