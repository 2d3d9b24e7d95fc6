"""setUpModule leaks a thread and fails: the leak is reported with the failure."""

import unittest

from suites.sample_leaky import leak


def setUpModule() -> None:
    leak("failed-module-leak")
    raise RuntimeError("setUpModule fails on purpose")


class NeverRuns(unittest.TestCase):
    def test_never_runs(self) -> None:
        pass
