"""One failure among clean tests, for -f (failfast)."""

import unittest


class Failing(unittest.TestCase):
    def test_a_fails(self) -> None:
        self.fail("fails on purpose")

    def test_b_clean(self) -> None:
        pass

    def test_c_clean(self) -> None:
        pass
