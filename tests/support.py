"""Helpers for leaktest's own tests: run an inner test case and look at its verdict.

Inner test cases leak on purpose, and a leak is reported only once the grace
period has been waited out. `run_tests` therefore gives an inner case that sets
no grace period of its own `INNER_GRACE_PERIOD` instead of the 1.0 s default,
and no load stretch (load.py), unless the test asks for it: the suite answers
in seconds, and what an inner case waits for ends by an event, a join or a
cleanup, never by the grace alone.
"""

from __future__ import annotations

import contextlib
import unittest
from collections.abc import Iterator
from unittest import mock

from leaktest import load

#: The grace period of an inner test case that sets none (the default is 1.0 s).
INNER_GRACE_PERIOD = 0.05


def run_tests(case: type[unittest.TestCase], *names: str, load_stretch: bool = False) -> unittest.TestResult:
    """Run the named tests of `case` (all of them when none is named) in one suite,
    with the inner grace period unless `case` sets one; with the load stretch only
    if `load_stretch`."""
    case = quick(case)
    loader = unittest.TestLoader()
    if names:
        suite = unittest.TestSuite(case(name) for name in names)
    else:
        suite = loader.loadTestsFromTestCase(case)
    result = unittest.TestResult()
    with contextlib.nullcontext() if load_stretch else no_load_stretch():
        suite.run(result)
    return result


def quick(case: type[unittest.TestCase]) -> type[unittest.TestCase]:
    """`case` with the inner grace period, unless one of its own classes sets a grace period.

    A subclass of the same name and module, so that test ids and reports are unchanged.
    """
    if any("grace_period" in vars(cls) for cls in case.__mro__ if not cls.__module__.startswith("leaktest")):
        return case
    attributes = {"grace_period": INNER_GRACE_PERIOD, "__module__": case.__module__, "__qualname__": case.__qualname__}
    return type(case.__name__, (case,), attributes)


@contextlib.contextmanager
def no_load_stretch() -> Iterator[None]:
    """The grace period is not stretched however loaded the machine is."""
    with mock.patch.object(load, "extension", return_value=0.0):
        yield


def verdict(result: unittest.TestResult) -> str:
    """'ok', 'FAIL' or 'ERROR' for a result holding one test."""
    if result.errors:
        return "ERROR"
    if result.failures:
        return "FAIL"
    return "ok"


def report(result: unittest.TestResult) -> str:
    """Every failure and error text of `result`, joined."""
    return "\n".join(text for _, text in result.failures + result.errors)
