"""Leaks for the mode tests: a plain test and a class that asks for warn mode.

The leaked threads are daemons blocked for good: they end with the process.
"""

import threading
import unittest

import leaktest

_never = threading.Event()


def leak(name: str) -> None:
    threading.Thread(target=_never.wait, name=name, daemon=True).start()


class PlainLeak(unittest.TestCase):
    def test_leaks(self) -> None:
        leak("plain-mode-leak")


class WarnsByClass(leaktest.LeakCheckedTestCase):
    leak_mode = "warn"
    grace_period = 0

    def test_leaks(self) -> None:
        leak("class-warn-leak")
