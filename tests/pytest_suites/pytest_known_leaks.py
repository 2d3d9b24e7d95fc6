"""Leaks whose set changes with the environment: SAMPLE_NEW adds one, SAMPLE_FIXED fixes one."""

import os
import unittest

from conftest import leak


def test_old() -> None:
    leak(f"old-{os.getpid()}")


def test_fixed_later() -> None:
    if not os.environ.get("SAMPLE_FIXED"):
        leak("to-be-fixed")


def test_new_later() -> None:
    if os.environ.get("SAMPLE_NEW"):
        leak("new")


def test_clean() -> None:
    pass


class Unittest(unittest.TestCase):
    def test_old(self) -> None:
        leak("unittest-old")


def test_asserts_a_leak() -> None:
    """A check inside the test is the test's own: the file neither excuses nor records it."""
    import pytest

    import leaktest

    with pytest.raises(leaktest.LeakError):
        with leaktest.no_leaks(grace_period=0):
            leak("asserted")
