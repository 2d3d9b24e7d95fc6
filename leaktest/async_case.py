"""`LeakCheckedAsyncTestCase`, the asyncio flavour of case.py's life cycle.

Apart from case.py because it imports asyncio (`unittest.async_case`): a suite of
synchronous tests never brings it in. The baseline is taken before the base
class sets its loop up and the test's own loop is adopted once it exists
(`_async_compat.LoopSteps`, which keeps leaktest's frames off the stack while
the test runs); the check runs on that loop, then once it is closed.
"""

from __future__ import annotations

import functools
import unittest

from . import _async_compat, case, check
from .probes import tasks

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


def check_async_test(test: unittest.IsolatedAsyncioTestCase, baseline: check.Baseline) -> None:
    """The check of an `IsolatedAsyncioTestCase`: first on its loop, then once it is closed.

    Tasks are awaited on the test's loop before the base class would cancel them
    silently; closing the loop then shuts the default executor down, so the threads
    of `run_in_executor` are joined, not reported.
    """
    check.verify_around_loop(
        baseline,
        functools.partial(_async_compat.run_in_test_loop, test),
        _async_compat.test_loop_closer(test),
    )


class LeakCheckedAsyncTestCase(case._LeakChecked, _async_compat.LoopSteps):  # type: ignore[misc]
    """An `IsolatedAsyncioTestCase` whose tests fail when they leave anything a probe checks behind.

    Pending tasks are checked on the test's loop, after the async cleanups and
    before the base class would cancel them silently.
    """

    # The function itself: one frame less under the check, which closes the loop (see
    # `_async_compat.test_loop_closer`).
    _leaktest_check = check_async_test

    def leaktest_loop_starting(self) -> None:
        case.begin_test(self, self._leaktest_settings, unless_skipped=True)

    def leaktest_loop_ready(self) -> None:
        adopt_test_loop(self)

    def debug(self) -> None:
        """Run without a result, as the base class does: nothing is checked."""
        try:
            super().debug()
        finally:
            case.end_test(self)


def adopt_test_loop(test: unittest.IsolatedAsyncioTestCase) -> None:
    """The test's own loop, made by the base class before `setUp`, is not the test's doing."""
    baseline = case._baseline_of(test)
    if baseline is not None:
        tasks.hide(_async_compat.calls_task(test))  # 3.10: the base class's own, for the whole test
        check.adopt_loop(baseline, functools.partial(_async_compat.create_test_loop, test))
