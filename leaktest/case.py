"""Where the baseline and the check hook into unittest's life cycle.

The baseline is taken in `run()`, before the asyncio runner and the user's
`setUp` exist, so it does not depend on `super().setUp()`. The check runs at the
end of `doCleanups()`, which `TestCase.run` calls after tearDown and every
cleanup, inside the test's own outcome: a leak is that test's FAIL.
"""

from __future__ import annotations

import functools
import sys
import unittest
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from . import check
from .settings import DEFAULT_GRACE_PERIOD, FunctionRef, Settings, from_class

__unittest = True


class _LeakChecked:
    """The leak check, for `unittest.TestCase` and its asyncio flavour alike."""

    grace_period: ClassVar[float] = DEFAULT_GRACE_PERIOD
    ignore_threads: ClassVar[Sequence[str]] = ()
    ignore_tasks: ClassVar[Sequence[str]] = ()
    ignore_top_functions: ClassVar[Sequence[FunctionRef]] = ()
    ignore_any_functions: ClassVar[Sequence[FunctionRef]] = ()
    check_threads: ClassVar[bool] = True
    check_tasks: ClassVar[bool] = True
    check_processes: ClassVar[bool] = True

    _leaktest_settings: ClassVar[Settings] = Settings()
    _leaktest_baseline: check.Baseline | None = None
    _leaktest_class_baseline: ClassVar[check.Baseline | None] = None
    _leaktest_in_class_setup: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._leaktest_settings = from_class(cls)
        own_setup = vars(cls).get("setUpClass")
        if isinstance(own_setup, classmethod):
            cls.setUpClass = _class_baseline_first(own_setup.__func__)  # type: ignore[method-assign]

    # -- one test ---------------------------------------------------------

    def run(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        self._leaktest_baseline = check.take_baseline(self._leaktest_settings)
        try:
            return super().run(result)  # type: ignore[misc, no-any-return]
        finally:
            baseline, self._leaktest_baseline = self._leaktest_baseline, None
            if baseline is not None:
                baseline.release()

    def doCleanups(self) -> bool:
        success: bool = super().doCleanups()  # type: ignore[misc]
        baseline, self._leaktest_baseline = self._leaktest_baseline, None
        outcome = getattr(self, "_outcome", None)
        if baseline is None or outcome is None:
            return success
        with outcome.testPartExecutor(self):
            self._leaktest_check(baseline)
        return bool(outcome.success)

    def _leaktest_check(self, baseline: check.Baseline) -> None:
        check.verify(baseline)

    # -- the class fixture ------------------------------------------------

    @classmethod
    def setUpClass(cls) -> None:
        _take_class_baseline(cls)
        super().setUpClass()  # type: ignore[misc]

    @classmethod
    def doClassCleanups(cls) -> None:
        super().doClassCleanups()  # type: ignore[misc]
        baseline = vars(cls).get("_leaktest_class_baseline")
        if baseline is None:
            return
        cls._leaktest_class_baseline = None
        try:
            check.verify(baseline)
        except check.LeakError:
            cls.tearDown_exceptions.append(sys.exc_info())  # type: ignore[attr-defined]


def _take_class_baseline(cls: type[_LeakChecked]) -> None:
    if not vars(cls).get("_leaktest_in_class_setup"):
        stale = vars(cls).get("_leaktest_class_baseline")
        if stale is not None:
            stale.release()
        cls._leaktest_class_baseline = check.take_baseline(cls._leaktest_settings)


def _class_baseline_first(setup: Callable[[type], None]) -> classmethod[Any, [], None]:
    """Wrap a user's `setUpClass` so the class baseline is taken even without super()."""

    @functools.wraps(setup)
    def setUpClass(cls: type[_LeakChecked]) -> None:
        if vars(cls).get("_leaktest_in_class_setup"):
            return setup(cls)
        _take_class_baseline(cls)
        cls._leaktest_in_class_setup = True
        try:
            return setup(cls)
        finally:
            cls._leaktest_in_class_setup = False

    return classmethod(setUpClass)


class LeakCheckedTestCase(_LeakChecked, unittest.TestCase):
    """A `unittest.TestCase` whose tests fail when they leave threads, tasks or processes."""
