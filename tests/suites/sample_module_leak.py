"""setUpModule leaks a thread: reported against the module, not its test."""

import unittest

from suites.sample_leaky import leak


def setUpModule() -> None:
    leak("module-fixture-leak")


class InLeakyModule(unittest.TestCase):
    def test_clean(self) -> None:
        pass
