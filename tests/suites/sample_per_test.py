"""An unchanged suite using the per-test marks: an ignore, a known leak, a fixed one."""

import threading
import unittest

import leaktest

_never = threading.Event()


def leak(name: str) -> None:
    threading.Thread(target=_never.wait, name=name, daemon=True).start()


class Marked(unittest.TestCase):
    @leaktest.leak_settings(ignore_threads=["vendor-*"])
    def test_ignored_for_this_test(self) -> None:
        leak("vendor-thread")

    @leaktest.expected_leak(reason="tracked in issue 7")
    def test_known_leak(self) -> None:
        leak("known-thread")

    @leaktest.expected_leak(reason="fixed, the mark should go")
    def test_no_longer_leaks(self) -> None:
        pass
