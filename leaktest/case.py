"""Where the baseline and the check hook into unittest's life cycle.

The baseline is taken before the user's `setUp` exists, so it does not depend
on `super().setUp()`: in `run()`, or for an IsolatedAsyncioTestCase before its
loop is set up (async_case.py, which keeps leaktest's frames off the stack
while the test runs). The check runs at the end of `doCleanups()`, which
`TestCase.run` calls after tearDown and every cleanup, inside the test's own
outcome: a leak is that test's FAIL. A TestCase family whose life cycle ends
elsewhere (trial's own `run()`, Django's teardown after it: `families`) is
checked where it ends.
"""

from __future__ import annotations

import functools
import os
import sys
import unittest
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from . import _compat, check, families, leak_log, marks, mode, ownership, stacks
from .report import LeakError, format_counts
from .settings import Settings, all_options, from_class

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


class PerTestState:
    """What leaktest keeps on one test, under one attribute (`STATE`): its baseline
    from `begin_test` to the check, and what the runner's result summarises after it.

    No `__init__`: the defaults are read from the class until set, so that making
    one, on every test, assigns nothing."""

    baseline: check.Baseline | None = None
    expected: str | None = None  # the reason given to `expected_leak`
    verbose: bool = False  # the runner's -v: counts with the baseline, printed after the test
    waited: float = 0.0  # seconds the check waited in the grace period
    straggler: float = 0.0  # the same, when nothing leaked: what ended in the grace period
    warned: int = 0  # leaks reported as warnings (warn mode)
    counts: tuple[Mapping[str, int], dict[str, int]] | None = None  # before, after (-v)

    def summarised(self) -> None:
        """The runner's result has read what the last run noted: forget it."""
        self.waited = self.straggler = 0.0
        self.warned = 0
        self.counts = None


class ClassFixture:
    """What leaktest keeps on a leak-checked class, under one attribute (`CLASS_STATE`,
    read from the class's own namespace: a subclass has its own): the baseline of its
    `setUpClass`, checked by `doClassCleanups`."""

    __slots__ = ("baseline", "in_setup")

    def __init__(self) -> None:
        self.baseline: check.Baseline | None = None
        self.in_setup = False  # its setUpClass is running (a super() call takes no baseline)


#: The one attribute leaktest sets on a test.
STATE = "_leaktest_state"
#: The one attribute leaktest sets on a leak-checked class.
CLASS_STATE = "_leaktest_class_fixture"


def state_of(test: object) -> PerTestState:
    """The test's state, made at first use."""
    state: PerTestState | None = getattr(test, STATE, None)
    if state is None:
        state = PerTestState()
        setattr(test, STATE, state)
    return state


def _baseline_of(test: object) -> check.Baseline | None:
    state: PerTestState | None = getattr(test, STATE, None)
    return None if state is None else state.baseline


class _LeakChecked:
    """The leak check, for `unittest.TestCase` and its asyncio flavour alike."""

    # The options' defaults as class attributes (`grace_period`, `ignore_threads`...)
    # are set below the class, from settings.all_options().

    _leaktest_settings: ClassVar[Settings] = Settings()
    _leaktest_state: PerTestState | None = None  # `STATE`; a class default keeps getattr cheap

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._leaktest_settings = from_class(cls)
        own_setup = vars(cls).get("setUpClass")
        if isinstance(own_setup, classmethod):
            cls.setUpClass = _class_baseline_first(own_setup.__func__)  # type: ignore[method-assign, assignment]
        own_teardown = vars(cls).get("tearDownClass")
        if isinstance(own_teardown, classmethod):
            cls.tearDownClass = _teardown_marked_first(own_teardown.__func__)  # type: ignore[method-assign, assignment]

    # -- one test ---------------------------------------------------------

    @property
    def leaktest_baseline_counts(self) -> Mapping[str, int]:
        """The baseline's counts, kind -> count; taken at first use unless -v asked for them."""
        baseline = _baseline_of(self)
        return check.Counts(baseline) if baseline is not None else {}

    def doCleanups(self) -> bool:
        success: bool = super().doCleanups()  # type: ignore[misc]
        baseline = baseline_to_check(self)
        return success if baseline is None else check_in_outcome(self, success, baseline, self._leaktest_check)

    def _leaktest_check(self, baseline: check.Baseline) -> None:
        check.verify(baseline)

    # -- the class fixture ------------------------------------------------

    @classmethod
    def setUpClass(cls) -> None:
        _class_setup(cls, super().setUpClass)  # type: ignore[misc]

    @classmethod
    def tearDownClass(cls) -> None:
        _class_teardown_begins(cls)
        super().tearDownClass()  # type: ignore[misc]

    @classmethod
    def doClassCleanups(cls) -> None:
        _class_teardown_begins(cls)  # if tearDownClass did not run (a failed setUpClass)
        super().doClassCleanups()  # type: ignore[misc]
        baseline = _class_fixture(cls).baseline
        if baseline is None:
            return
        _class_fixture(cls).baseline = None
        try:
            check.verify(baseline)
        except LeakError:
            _compat.add_class_teardown_error(cls, sys.exc_info())


for _option in all_options():
    setattr(_LeakChecked, _option.name, _option.default)


def begin_test(
    test: object, settings: Settings, *, counts_attribute: bool = False, unless_skipped: bool = False
) -> None:
    """Take the test's baseline; the check at the end of `doCleanups` ends it (or
    `end_test`, for a run that never reaches it). Shared by the base classes and the runner.

    The test method's own settings (`leak_settings`) apply on top of `settings`;
    the mode in force may turn the check off. With `counts_attribute` (a test that
    is not a leak-checked one), the baseline's counts are also readable as
    `test.leaktest_baseline_counts`, as the base classes' property gives them.
    With `unless_skipped` (a step where no `finally` of leaktest's follows: an
    IsolatedAsyncioTestCase's loop set-up), a test to be skipped, which reaches no
    `doCleanups`, takes no baseline.
    """
    # The function, not a bound method: this runs on every test.
    method = getattr(type(test), getattr(test, "_testMethodName", ""), None)
    if unless_skipped and _compat.skipped(test, method):
        return
    overrides = expected = None
    class_settings = settings
    if getattr(method, marks.MARKED, False):
        overrides = marks.overrides_of(method)
        expected = marks.expected_leak_of(method)
        if overrides:
            settings = settings.updated(f"leak_settings of {getattr(method, '__qualname__', method)}", overrides)
    if mode.forced is not None:
        settings = mode.applied(settings) if not overrides else settings.updated(mode.ENV, {"leak_mode": mode.forced})
    if settings.off:
        return
    if expected is not None:
        # An expected leak is judged (expected failure or unexpected success), never warned.
        settings = settings.updated("expected_leak", {"leak_mode": "fail"})
    state = state_of(test)
    state.expected = expected
    # Positional: a class called with keywords costs twice as much, on every test.
    state.baseline = baseline = check.Baseline(
        settings, class_settings if overrides else None, _VERBOSE or state.verbose, test, method
    )
    if counts_attribute:
        setattr(test, "leaktest_baseline_counts", check.Counts(baseline))


def end_test(test: object) -> None:
    """The test's run is over: release a baseline no `doCleanups` ended (safe to call again)."""
    state: PerTestState | None = getattr(test, STATE, None)
    if state is not None and state.baseline is not None:
        baseline = state.baseline
        _detach(state)
        _ended(baseline)


def _detach(state: PerTestState) -> None:
    state.baseline = None
    state.expected = None


def _ended(baseline: check.Baseline) -> None:
    baseline.release()
    if baseline.leaked:  # what fixtures made for it meanwhile is not theirs to report
        ownership.test_checked(baseline)


def baseline_to_check(test: object) -> check.Baseline | None:
    """At the end of `doCleanups`: the baseline whose check `check_in_outcome` runs now.
    None for a test with no check to run: none was taken, or it is left for `end_test`
    (no outcome to report to), or nothing was started or raised since it (the clean
    path: released here, and no check ran, so nothing leaked: `_ended` without its question)."""
    state: PerTestState | None = getattr(test, STATE, None)
    baseline = None if state is None else state.baseline
    if state is None or baseline is None:
        return None
    if state.expected is None and baseline.unchanged() and not (_VERBOSE or state.verbose):
        state.baseline = None
        baseline.release()
        return None
    return baseline if _compat.outcome_of(test) is not None else None


def check_in_outcome(
    test: object, success: bool, baseline: check.Baseline, check_leaks: Callable[[check.Baseline], None]
) -> bool:
    """The check of `baseline_to_check`'s baseline, inside the test's outcome (a leak is
    its FAIL): an exception goes through `testPartExecutor`, so that unittest records it
    exactly as it records the test's own. `success`: `doCleanups`'; the test's, after."""
    state: PerTestState = getattr(test, STATE)
    expected = state.expected
    outcome = _compat.outcome_of(test)
    _detach(state)
    try:
        if families.tears_down_after_run(test):
            # Django's own teardown follows run(): the check must follow it.
            with _compat.record_in_outcome(outcome, test):
                families.tear_down_now(test)
        if expected is not None:
            return _judge_expected_leak(test, outcome, baseline, check_leaks, expected)
        try:
            check_leaks(baseline)
        except BaseException:
            with _compat.record_in_outcome(outcome, test):
                raise
        finally:
            _diagnose(test, baseline)
        return _compat.outcome_success(outcome)
    finally:
        _ended(baseline)


def check_outside_outcome(test: object, check_leaks: Callable[[check.Baseline], None]) -> None:
    """The check of a test whose run has no unittest outcome (`families`): a leak raises.

    An `expected_leak` is not judged there: its leak fails as any other.
    """
    state: PerTestState | None = getattr(test, STATE, None)
    baseline = None if state is None else state.baseline
    if state is None or baseline is None:
        return
    _detach(state)
    try:
        if not baseline.unchanged() or _VERBOSE or state.verbose:
            try:
                check_leaks(baseline)
            finally:
                _diagnose(test, baseline)
    finally:
        _ended(baseline)


def checked_in_own_run(
    test: unittest.TestCase, result: Any, check_leaks: Callable[[check.Baseline], None]
) -> AbstractContextManager[None] | None:
    """The block of a test's run: for a test that runs its own way (`families`, trial's),
    the check at the end of its `tearDown`; for a tornado test, the in-loop probes'
    before its `tearDown` cancels the pending tasks; for any other, None (`doCleanups`
    checks): no block to enter on every test."""
    if _baseline_of(test) is None:
        return None
    if families.runs_its_own_way(type(test)):
        check_now = functools.partial(check_outside_outcome, test, check_leaks)
        return families.checked_after_teardown(test, result, check_now)
    if families.cancels_pending_tasks(type(test)):
        return families.checked_before_cancelled(test, functools.partial(check_on_loop, test))
    return None


def has_own_run(cls: type) -> bool:
    """Whether `checked_in_own_run` may have a block for the tests of `cls`: known once
    the class exists (a class derived from trial's or tornado's is made after they are
    imported), so that its tests need not ask."""
    return families.runs_its_own_way(cls) or families.cancels_pending_tasks(cls)


def check_on_loop(test: object, run_in_loop: families.RunInLoop) -> None:
    """The in-loop phase of the test's check, now, on its loop (`check.check_on_loop`);
    `doCleanups` checks the rest."""
    baseline = _baseline_of(test)
    if baseline is not None:
        check.check_on_loop(baseline, run_in_loop)


def _judge_expected_leak(
    test: object,
    outcome: Any,
    baseline: check.Baseline,
    check_leaks: Callable[[check.Baseline], None],
    reason: str,
) -> bool:
    """`expected_leak`: its leak is an expected failure; no leak, an unexpected success.

    The verdict is given here, so `TestCase.run` must add no success of its own.
    A test that failed keeps its failure (its leak was expected).
    """
    leaked = None
    try:
        with leak_log.expecting():
            check_leaks(baseline)
    except LeakError as error:
        error.args = (f"expected leak ({reason}):\n{error}",)
        leaked = sys.exc_info()
    except BaseException:
        with _compat.record_in_outcome(outcome, test):
            raise
    finally:
        _diagnose(test, baseline)
    if not _compat.outcome_success(outcome) or not isinstance(test, unittest.TestCase):
        return _compat.outcome_success(outcome)
    result = _compat.outcome_result(outcome)
    _compat.outcome_reported(outcome)
    if leaked is not None:
        result.addExpectedFailure(test, leaked)
    else:
        result.addUnexpectedSuccess(test)
    return False


#: Set to 1 to print every test's counts before -> after to stderr (read once).
VERBOSE_ENV = "LEAKTEST_VERBOSE"
_VERBOSE = os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def _diagnose(test: object, baseline: check.Baseline) -> None:
    """Keep what the runner summarises; counts only on demand (env var or runner -v)."""
    state = state_of(test)
    if baseline.waited:
        state.waited = baseline.waited
        if not baseline.leaked:
            state.straggler = baseline.waited
    if baseline.warned:
        state.warned = baseline.warned
    if _VERBOSE or state.verbose:
        after = check.counts_now(baseline.counts)
        state.counts = (baseline.counts, after)
        if _VERBOSE:
            name = test.id() if isinstance(test, unittest.TestCase) else repr(test)
            print(f"leaktest: {name}: {format_counts(baseline.counts, after)}", file=sys.stderr)


def _class_fixture(cls: type) -> ClassFixture:
    """The class's own state (not a base class's), made at first use."""
    fixture: ClassFixture | None = vars(cls).get(CLASS_STATE)
    if fixture is None:
        fixture = ClassFixture()
        setattr(cls, CLASS_STATE, fixture)
    return fixture


def _class_setup(cls: type[_LeakChecked], setup: Callable[[], None]) -> None:
    """Run the class's `setup` between its baseline and the end of its setup (what it
    left running is the class's: ownership.py); a super() call inside it takes no baseline."""
    fixture = _class_fixture(cls)
    if fixture.in_setup:
        return setup()
    if fixture.baseline is not None:  # a stale one: its class never reached doClassCleanups
        fixture.baseline.release()
    fixture.baseline = check.take_baseline(
        cls._leaktest_settings, owner=cls, fixture=True, running=users_setup_class(cls)
    )
    fixture.in_setup = True
    try:
        return setup()
    finally:
        fixture.in_setup = False
        ownership.setup_ended(fixture.baseline)


def _class_teardown_begins(cls: type) -> None:
    """Before the class's `tearDownClass`: what is new from now on is the class's."""
    ownership.teardown_begins(_class_fixture(cls).baseline)


def users_setup_class(cls: type) -> object:
    """The `setUpClass` the user wrote for `cls` (behind leaktest's wrapper), or None:
    what a report of something it made names as "from"."""
    setup = getattr(cls, "setUpClass", None)
    code = stacks.code_of(setup)
    if code is None or stacks.is_leaktest(code.co_filename) or stacks.is_stdlib(code.co_filename):
        return None  # unittest's or leaktest's own
    return setup


def _class_baseline_first(setup: Callable[[type], None]) -> classmethod[Any, [], None]:
    """Wrap a user's `setUpClass` so the class baseline is taken even without super()."""

    @functools.wraps(setup)
    def setUpClass(cls: type[_LeakChecked]) -> None:
        _class_setup(cls, functools.partial(setup, cls))

    return classmethod(setUpClass)


def _teardown_marked_first(teardown: Callable[[type], None]) -> classmethod[Any, [], None]:
    """Wrap a user's `tearDownClass` so its teardown is marked even without super()."""

    @functools.wraps(teardown)
    def tearDownClass(cls: type[_LeakChecked]) -> None:
        _class_teardown_begins(cls)
        teardown(cls)

    return classmethod(tearDownClass)


class LeakCheckedTestCase(_LeakChecked, unittest.TestCase):  # type: ignore[misc]  # doCleanups returns its bool, as CPython's does
    """A `unittest.TestCase` whose tests fail when they leave anything a probe checks behind.

    Put it first among the bases of a test class of another family (tornado's,
    Django's, Twisted trial's), so that its `run` and `doCleanups` wrap theirs.
    """

    _leaktest_own_run: ClassVar[bool] = False  # `has_own_run`, for the class

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._leaktest_own_run = has_own_run(cls)
        if _compat.is_async_test_class(cls):
            # Its check would run before the base class closes the test's loop.
            raise TypeError(
                f"{cls.__qualname__} is an IsolatedAsyncioTestCase: subclass"
                " leaktest.LeakCheckedAsyncTestCase, not leaktest.LeakCheckedTestCase"
            )
        if families.asynchronous_trial_class(cls):
            raise TypeError(
                f"{cls.__qualname__} is a twisted.trial.unittest.TestCase, whose teardown may go on"
                " in the reactor after tearDown returns: leaktest checks trial's SynchronousTestCase only"
            )

    def run(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        begin_test(self, self._leaktest_settings)
        try:
            if not self._leaktest_own_run:  # most tests: nothing to enter
                return super().run(result)
            block = checked_in_own_run(self, result, self._leaktest_check)
            if block is None:
                return super().run(result)
            with block:
                return super().run(result)
        finally:
            state = self._leaktest_state
            if state is not None and state.baseline is not None:  # its doCleanups was not reached
                end_test(self)
