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
from collections.abc import Callable

from . import _async_compat, case, check
from .probes import tasks

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


def checked_cleanups(test: unittest.IsolatedAsyncioTestCase, cleanups: Callable[[], object] | None = None) -> bool:
    """`doCleanups`, then the check of an `IsolatedAsyncioTestCase`: first on its loop,
    then once it is closed. `LeakCheckedAsyncTestCase.doCleanups` is this function (the
    next class's `doCleanups` runs the cleanups); the runner's, with `cleanups`.

    Tasks are awaited on the test's loop before the base class would cancel them
    silently; closing the loop then shuts the default executor down, so the threads
    of `run_in_executor` are joined, not reported. The loop is closed from this frame:
    in debug mode, each frame under the closing is extracted, with its line, into the
    source traceback of every task it makes, and `doCleanups` is the shallowest frame
    inside the test's outcome. What the first phase or the closing raises is the check's.
    """
    if cleanups is None:
        success = bool(super(case._LeakChecked, test).doCleanups())  # type: ignore[misc]
        check_leaks: Callable[[check.Baseline], None] = test._leaktest_check  # type: ignore[attr-defined]
    else:
        success, check_leaks = bool(cleanups()), check.verify
    baseline = case.baseline_to_check(test)
    if baseline is None:
        return success
    failed: BaseException | None = None
    try:
        check.check_on_loop(baseline, functools.partial(_async_compat.run_in_test_loop, test))
    except BaseException as error:
        failed = error
    try:
        _async_compat.test_loop_closer(test)()
    except BaseException as error:
        if failed is None:  # the first phase's error is the one reported
            failed = error
    if failed is not None:
        check_leaks = functools.partial(_raise, failed)
    return case.check_in_outcome(test, success, baseline, check_leaks)


def _raise(error: BaseException, baseline: check.Baseline) -> None:
    raise error


class LeakCheckedAsyncTestCase(case._LeakChecked, _async_compat.LoopSteps):
    """An `IsolatedAsyncioTestCase` whose tests fail when they leave anything a probe checks behind.

    Pending tasks are checked on the test's loop, after the async cleanups and
    before the base class would cancel them silently.
    """

    doCleanups = checked_cleanups  # type: ignore[assignment]

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
