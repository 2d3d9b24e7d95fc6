"""A second clean module, for several names and for discovery patterns."""

import unittest


class Gamma(unittest.TestCase):
    def test_four(self) -> None:
        pass

    def test_five(self) -> None:
        pass
