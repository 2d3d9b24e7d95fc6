"""Helpers for leaktest's own tests: run an inner test case and look at its verdict."""

from __future__ import annotations

import io
import threading
import unittest
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def run_tests(case: type[unittest.TestCase], *names: str) -> unittest.TestResult:
    """Run the named tests of `case` (all of them when none is named) in one suite."""
    loader = unittest.TestLoader()
    if names:
        suite = unittest.TestSuite(case(name) for name in names)
    else:
        suite = loader.loadTestsFromTestCase(case)
    result = unittest.TestResult()
    suite.run(result)
    return result


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


@contextmanager
def released_after(event: threading.Event, *threads: threading.Thread) -> Iterator[None]:
    """Release and join threads an inner test leaked on purpose, however the block ends."""
    try:
        yield
    finally:
        event.set()
        for thread in threads:
            thread.join()


def blocked_thread(name: str, event: threading.Event, target: Callable[[], object] | None = None) -> threading.Thread:
    """A started thread that waits for `event` (or runs `target`)."""
    thread = threading.Thread(target=target or event.wait, name=name)
    thread.start()
    return thread
