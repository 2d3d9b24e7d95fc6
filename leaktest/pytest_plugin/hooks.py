"""The checker's hooks: one item from its baseline to its check.

One item: baseline before its setup phase, check after its teardown phase, so
function-scoped fixture finalizers count as cleanups; a leak is an error at
teardown. What a class, module, package or session fixture starts belongs to
that fixture (leaktest/ownership.py, as what a unittest class's or module's
fixtures start): the tests do not see it, and it is checked when the fixture is
finalized, after the test it was finalized within. unittest tests keep their own
check: a `LeakCheckedTestCase` its own settings, a plain `TestCase` the runner's
per-test wrapping.

Tasks pending on a test's loop are looked for while the loop is still open:
pytest-asyncio's loops just before their fixture closes them, anyio's through a
lease on its runner, taken for the tests anyio runs in it (never for a sync test
that only requests `anyio_backend`: the lease would mark the thread as running
asyncio). pytest 8-9's `FixtureDef.addfinalizer` runs finalizers last-in first-out,
so one added before the fixture runs comes after its teardown, and one added
after it, before (`pytest_fixture_setup`).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import traceback
import unittest
import warnings
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol, cast

import pytest

from ..report import LeakError
from . import _compat
from .config import BadMarker, collector_marked, item_settings, marked_settings

if TYPE_CHECKING:
    from ..check import Baseline
    from ..report import Leak
    from ..settings import Settings

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


class _Plan:
    """How one collected item is checked."""

    __slots__ = ("settings", "wrap_unittest")

    def __init__(self, settings: Settings | None, wrap_unittest: bool = False) -> None:
        self.settings = settings  # None: not checked by the plugin
        self.wrap_unittest = wrap_unittest  # a plain TestCase: the runner's per-test wrapping


class _RunnerLike(Protocol):
    """pytest-asyncio's `asyncio.Runner` (or its backport on 3.10)."""

    def run(self, coro: Any) -> Any: ...

    def get_loop(self) -> Any: ...


_PLAN = pytest.StashKey[_Plan]()


class _ItemState:
    """One item between its baseline and its check."""

    __slots__ = ("item", "baseline", "deadline", "leaks", "anyio_lease", "fixtures")

    def __init__(self, item: pytest.Item, baseline: Baseline) -> None:
        self.item = item
        self.baseline = baseline
        self.deadline: float | None = None
        self.leaks: list[Leak] = []  # found on the test's loop
        #: (lease, anyio's runner)
        self.anyio_lease: tuple[contextlib.AbstractContextManager[Any], Any] | None = None
        #: The fixtures finalized while it ran (in its teardown; in its setup, when a
        #: parameter changed): checked after it (ownership.py).
        self.fixtures: list[Baseline] = []


class LeakCheck:
    """The checker, registered as a plugin when the suite asks for leaktest."""

    def __init__(self, settings: Settings) -> None:
        from .. import check, ownership

        self._check = check
        self._ownership = ownership
        self._settings = settings
        self._current: _ItemState | None = None  # the item between its setup and its check
        self._open_runners: list[_RunnerLike] = []  # pytest-asyncio loops of wider scope

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """With -v: the ignore sources in force."""
        from ..settings import ignore_sources_listing

        return ignore_sources_listing(self._settings) if config.get_verbosity() > 0 else []

    # -- collection: every item's settings; a bad marker is a collection error --

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Plan each item as its parent collects it (in every xdist worker alike)."""
        report: pytest.CollectReport = yield
        if report.passed:
            errors = []
            # The collector's markers, read at its first item (a bad one: at each).
            marked = functools.cache(functools.partial(collector_marked, self._settings, collector))
            for node in report.result:
                if isinstance(node, pytest.Item):
                    try:
                        if node.parent is collector:
                            settings = item_settings(marked(), node)
                        else:
                            settings = marked_settings(self._settings, node)
                        node.stash[_PLAN] = self._plan(node, settings)
                    except BadMarker as error:
                        errors.append(str(error))
            if errors:
                report.outcome = "failed"
                report.longrepr = "\n".join(dict.fromkeys(errors))
                report.result = []
        return report

    def _plan(self, item: pytest.Item, settings: Settings | None) -> _Plan:
        # The class an item was collected from is its parent (`item.cls` would walk up to
        # the session for every test function of a module).
        parent = item.parent
        cls = parent.obj if isinstance(parent, pytest.Class) else None
        if isinstance(cls, type) and issubclass(cls, unittest.TestCase):
            from ..case import _LeakChecked

            if issubclass(cls, _LeakChecked):
                return _Plan(None)  # a leak-checked class keeps its own settings
            return _Plan(settings, wrap_unittest=True)
        return _Plan(settings)

    # -- one item -------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        plan = item.stash.get(_PLAN, None)
        if plan is not None and plan.settings is not None and not plan.wrap_unittest:
            baseline = self._check.take_baseline(plan.settings, owner=item.nodeid, running=getattr(item, "obj", None))
            if baseline is not None:  # None: the mode in force is off
                self._current = _ItemState(item, baseline)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        state = self._current
        if state is not None and state.item is item:
            backend = _compat.runs_in_anyio(item)
            if backend is not None:
                state.anyio_lease = _compat.anyio_runner_lease(backend)
            return
        plan = item.stash.get(_PLAN, None)
        if plan is not None and plan.wrap_unittest and plan.settings is not None:
            from ..runner import prepare  # the TestCase instance exists once setup is done

            prepare(getattr(item, "instance"), plan.settings)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        state = self._current
        if state is None or state.item is not item:
            return (yield)
        try:
            return (yield)
        finally:
            self._current = None
            try:
                if not _released_if_clean(state):
                    try:
                        with _unraisable_as_the_tests():
                            self._check_item(state)
                    finally:  # what a thread raised while the check waited for it is this test's
                        _compat.report_thread_exceptions(item.config)
            finally:
                if state.baseline.leaked:  # what fixtures made for it meanwhile is not theirs to report
                    self._ownership.test_checked(state.baseline)
                if state.fixtures:
                    self._check_fixtures(state.fixtures)

    def _check_item(self, state: _ItemState) -> None:
        baseline = state.baseline
        try:
            for runner in self._open_runners:  # loops of wider scope: still open, not running
                self._check_tasks_on(state, runner)
            if state.anyio_lease is not None:
                self._check_tasks_on_anyio(state, *state.anyio_lease)
            deadline = state.deadline or self._check.grace_deadline(baseline)
            leaks = [*state.leaks, *self._check.find_leaks(baseline, deadline)]
        finally:
            baseline.release()
        if leaks:
            self._check.conclude(baseline, leaks)

    # -- asyncio: pending tasks, before the loop's owner cancels them ------------

    def _check_tasks_on(self, state: _ItemState, runner: _RunnerLike) -> None:
        """The tasks part of the check, awaited on the test's loop (still open, not running)."""
        try:
            loop = runner.get_loop()
        except RuntimeError:  # the runner is closed
            return
        if loop.is_closed() or loop.is_running() or state.baseline.unchanged():
            return
        if state.deadline is None:
            state.deadline = self._check.grace_deadline(state.baseline)
        state.leaks.extend(runner.run(self._check.find_leaks_async(state.baseline, state.deadline, in_loop=True)))

    def _loop_closing(self, runner: _RunnerLike) -> None:
        """Before pytest-asyncio closes a loop (cancelling what is pending on it)."""
        if runner in self._open_runners:
            self._open_runners.remove(runner)
        if self._current is not None:
            self._check_tasks_on(self._current, runner)

    def _check_tasks_on_anyio(
        self, state: _ItemState, lease: contextlib.AbstractContextManager[Any], runner: Any
    ) -> None:
        """The tasks part of the check on anyio's loop; then the lease ends, and the loop with it."""
        state.anyio_lease = None
        try:
            if state.deadline is None:
                state.deadline = self._check.grace_deadline(state.baseline)
            baseline, deadline = state.baseline, state.deadline

            async def tasks_phase() -> list[Leak]:
                _compat.hide_anyio_call_tasks()
                leaks: list[Leak] = await self._check.find_leaks_async(baseline, deadline, in_loop=True)
                return leaks

            state.leaks.extend(runner.run_fixture(tasks_phase, {}))
        finally:
            lease.__exit__(None, None, None)

    # -- fixtures of wider scope: what they start is theirs --------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        baseline = None
        if fixturedef.scope != "function":
            settings = self._fixture_settings(fixturedef, request)
            if settings is not None:
                name = _fixture_name(fixturedef, request)
                baseline = self._check.take_baseline(settings, owner=name, running=fixturedef.func, fixture=True)
                if baseline is not None:  # None: the mode in force is off
                    # Added before the fixture runs: finalizers run last-in first-out, so
                    # this check comes after the fixture's own teardown.
                    fixturedef.addfinalizer(functools.partial(self._fixture_finalized, baseline))
        try:
            value = yield
        finally:
            if baseline is not None:
                self._ownership.setup_ended(baseline)  # a loop of wider scope, too, is its fixture's
                # What the test makes next is the test's, "from" the test, not the fixture.
                baseline.returned()
                # Added after the fixture's own teardown was registered: runs before it.
                fixturedef.addfinalizer(functools.partial(self._ownership.teardown_begins, baseline))
        if _compat.is_asyncio_loop_fixture(fixturedef.argname):
            runner = cast(_RunnerLike, value)
            if fixturedef.scope != "function":
                self._open_runners.append(runner)
            # Added after the fixture's own teardown was registered: runs before it.
            fixturedef.addfinalizer(functools.partial(self._loop_closing, runner))
        return value

    def _fixture_settings(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Settings | None:
        from ..case import _LeakChecked

        cls = getattr(request, "cls", None)
        if (
            _compat.unittest_class_fixture(fixturedef.argname)
            and isinstance(cls, type)
            and issubclass(cls, _LeakChecked)
        ):
            return None  # a leak-checked class checks its own class fixture
        return marked_settings(self._settings, request.node)

    def _fixture_finalized(self, baseline: Baseline) -> None:
        """Its teardown ran: check it now, or after the test it ran within."""
        self._ownership.teardown_ended(baseline)
        state = self._current
        if state is not None:
            state.fixtures.append(baseline)
        else:
            self._check_fixture(baseline)

    def _check_fixtures(self, fixtures: list[Baseline]) -> None:
        """Each in turn, as pytest finalized them (innermost first), whatever the others raise."""
        if fixtures:
            try:
                self._check_fixture(fixtures[0])
            finally:
                self._check_fixtures(fixtures[1:])

    def _check_fixture(self, baseline: Baseline) -> None:
        """At the fixture's finalization: what its setup and its teardown left running."""
        try:
            leaks = self._check.find_leaks(baseline)
        finally:
            baseline.release()
        if leaks:
            try:
                self._check.conclude(baseline, leaks)
            except LeakError as error:
                raise type(error)(f"leaked by {baseline.owner}:\n{error}", error.leaks) from None


def _released_if_clean(state: _ItemState) -> bool:
    """The clean path: nothing was started or raised, so there is nothing to check (and
    nothing the check could make happen)."""
    if state.baseline.unchanged() and not state.leaks:
        state.baseline.release()
        if state.anyio_lease is not None:
            state.anyio_lease[0].__exit__(None, None, None)
        return True
    return False


@contextlib.contextmanager
def _unraisable_as_the_tests() -> Generator[None, None, None]:
    """What the check makes happen is the checked test's: an exception raised where
    Python cannot raise it (a finalizer the check's collection runs) is reported in
    this test's teardown as pytest reports one, a `PytestUnraisableExceptionWarning`
    (an error under `filterwarnings = error`), or appended to the leak report; pytest's
    own hook would report it in the next test, once this one's teardown is over."""
    caught: list[str] = []
    hook = sys.unraisablehook

    def note(unraisable: Any) -> None:
        lines = traceback.format_exception(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback)
        where = f"{unraisable.err_msg or 'Exception ignored in'}: {unraisable.object!r}"
        caught.append(f"{where}\n\n{''.join(lines).rstrip()}")

    sys.unraisablehook = note
    try:
        yield
    except LeakError as error:
        if caught:
            raise type(error)("\n\n".join([str(error), *caught]), error.leaks) from None
        raise
    finally:
        sys.unraisablehook = hook
    for message in caught:
        warnings.warn(pytest.PytestUnraisableExceptionWarning(message), stacklevel=1)


def _fixture_name(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> str:
    name = fixturedef.argname
    cls = getattr(request, "cls", None)
    if _compat.unittest_class_fixture(name) and isinstance(cls, type):
        return f"setUpClass/tearDownClass of {cls.__qualname__} ({request.node.nodeid})"
    where = request.node.nodeid or "the session"
    return f"fixture {name!r} ({fixturedef.scope} scope, {where})"
