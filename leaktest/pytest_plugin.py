"""leaktest under pytest: every test item checked after its teardown phase.

Loaded through the `pytest11` entry point (or `-p leaktest.pytest_plugin`), the
module only adds options and the marker; the checker is registered, and the
engine imported, only when `--leaktest` or `leaktest = true` asks for it.

One item: baseline before its setup phase, check after its teardown phase, so
function-scoped fixture finalizers count as cleanups; a leak is an error at
teardown. What a class, module, package or session fixture starts belongs to
that fixture: the tests do not see it, and it is checked when the fixture is
finalized. unittest tests keep their own check: a `LeakCheckedTestCase` its own
settings, a plain `TestCase` the runner's per-test wrapping.

What this relies on, outside pytest's documented API:
- pytest 8-9: `FixtureDef.addfinalizer`, whose finalizers run last-in first-out,
  so one added before the fixture runs comes after its teardown, and one added
  after it, before (`pytest_fixture_setup`); `_pytest.unittest`'s class fixture
  names, `_unittest_setUpClass_fixture_<class>` (`_fixture_name`).
- pytest-asyncio 1.x: its loop fixtures `_<scope>_scoped_runner`, whose value is
  an `asyncio.Runner` (`_is_loop_fixture`).
- anyio 4.x: `anyio.pytest_plugin.get_runner` (a lease on the test runner) and
  `extract_backend_and_options` (`_anyio_runner_lease`); the runner's calls run in
  a task of `TestRunner._call_in_runner_task` (`_hide_anyio_call_tasks`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib
import time
import unittest
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol, cast

import pytest

if TYPE_CHECKING:
    from .check import Baseline
    from .options import Option
    from .probes import Probe
    from .report import Leak
    from .settings import Settings

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

MARKER = "leaktest"


def _flag(option: Option[Any]) -> str:
    """The pytest flag of an option: the runner's, prefixed (`--leaktest-grace-period`)."""
    return "--leaktest-" + option.flag[2:]


def _key(option: Option[Any]) -> str:
    """The option's ini name and its dest on the command line (`leaktest_grace_period`)."""
    return "leaktest_" + option.name


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--leaktest`, ini `leaktest`, and every option of the runner as flag and ini option."""
    from .settings import all_options

    group = parser.getgroup("leaktest", "leaktest: fail tests that leave threads, tasks or processes running")
    group.addoption(
        "--leaktest",
        action="store_true",
        default=None,
        help="check every test for leaked threads, asyncio tasks and child processes",
    )
    parser.addini("leaktest", "leaktest: check every test (like --leaktest)", type="bool", default=False)
    for option in all_options():
        group.addoption(_flag(option), dest=_key(option), **{**option.flag_arguments(), "default": None})
        if option.accumulates:
            parser.addini(_key(option), f"leaktest: {option.help}, one a line", type="linelist", default=[])
        else:
            parser.addini(_key(option), f"leaktest: {option.help}", default="")


def pytest_configure(config: pytest.Config) -> None:
    from .settings import all_options

    names = ", ".join(f"{option.name}=..." for option in all_options())
    config.addinivalue_line("markers", f"{MARKER}(enabled=True, {names}): leaktest's settings for a test, class or module")
    mode = config.getoption("leaktest_leak_mode")
    if mode is not None:  # --leaktest-mode: over LEAKTEST_MODE, for leak-checked unittest classes too
        from .mode import set_command_line_mode

        set_command_line_mode(mode)
    if config.getoption("leaktest") or config.getini("leaktest"):
        config.pluginmanager.register(LeakCheck(_suite_settings(config)), "leaktest-check")


def _suite_settings(config: pytest.Config) -> Settings:
    """The settings of every test: the defaults, changed by the ini options, then the command line's."""
    from .settings import Settings, all_options

    from_ini: dict[str, object] = {}
    from_command_line: dict[str, object] = {}
    for option in all_options():
        text = config.getini(_key(option))
        if text:
            try:
                from_ini[option.name] = _from_ini(option, text)
            except (argparse.ArgumentTypeError, ValueError) as error:
                raise pytest.UsageError(f"ini option {_key(option)}: {error}") from None
        given = config.getoption(_key(option))
        if given is not None:
            from_command_line[option.name] = option.from_flag(given)
    try:
        return (
            Settings()
            .updated("leaktest's ini options", from_ini)
            .updated("leaktest's command-line options", from_command_line)
        )
    except (TypeError, ValueError) as error:
        raise pytest.UsageError(str(error)) from None


_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _from_ini(option: Option[Any], value: str | list[str]) -> object:
    """An ini value as its command-line flag would give it (lines for a list option)."""
    convert: Callable[[str], object] = option.flag_arguments().get("type", str)
    if isinstance(value, list):
        return option.from_flag([convert(line) for line in value])
    text = value.strip()
    if not option.takes_value:
        if text.lower() not in _BOOLEANS:
            raise ValueError(f"expected true or false, not {text!r}")
        return _BOOLEANS[text.lower()]
    return option.from_flag(convert(text))


def _marked_settings(suite: Settings, node: pytest.Item | pytest.Collector) -> Settings | None:
    """The settings for `node` under its `leaktest` markers, farthest first; None: disabled.

    Raises `_BadMarker` naming the marker and where it is.
    """
    from .options import Flag

    enabled_option = Flag("enabled", True, "check the test")
    settings, enabled = suite, True
    marks = list(node.iter_markers_with_node(MARKER))
    for owner_node, mark in reversed(marks):
        owner = f"@pytest.mark.{MARKER} on {owner_node.nodeid or 'the session'}"
        options = dict(mark.kwargs)
        try:
            if mark.args:
                raise TypeError(f"{owner}: takes keyword arguments only, not {mark.args!r}")
            if "enabled" in options:
                enabled = enabled_option.validate(owner, options.pop("enabled"))
            settings = settings.updated(owner, options)
        except (TypeError, ValueError) as error:
            raise _BadMarker(str(error)) from None
    return settings if enabled else None


class _BadMarker(Exception):
    """A `leaktest` marker with a bad value: reported as a collection error."""


@dataclasses.dataclass(slots=True)
class _Plan:
    """How one collected item is checked."""

    settings: Settings | None  # None: not checked by the plugin
    wrap_unittest: bool = False  # a plain TestCase: the runner's per-test wrapping


@dataclasses.dataclass
class _Owner:
    """A non-function fixture and what it started (kept alive here until it is checked)."""

    name: str
    baseline: Baseline
    items: list[object] = dataclasses.field(default_factory=list)


class _RunnerLike(Protocol):
    """pytest-asyncio's `asyncio.Runner` (or its backport on 3.10)."""

    def run(self, coro: Any) -> Any: ...

    def get_loop(self) -> Any: ...


_PLAN = pytest.StashKey[_Plan]()


@dataclasses.dataclass(slots=True)
class _ItemState:
    """One item between its baseline and its check."""

    item: pytest.Item
    baseline: Baseline
    deadline: float | None = None
    leaks: list[Leak] = dataclasses.field(default_factory=list)  # found on the test's loop
    anyio_lease: tuple[contextlib.AbstractContextManager[Any], Any] | None = None  # (lease, anyio's runner)


class LeakCheck:
    """The checker, registered as a plugin when the suite asks for leaktest."""

    def __init__(self, settings: Settings) -> None:
        from . import check

        self._check = check
        self._settings = settings
        self._owned: dict[int, _Owner] = {}  # id of an item a fixture started -> that fixture
        self._current: _ItemState | None = None  # the item between its setup and its check
        self._open_runners: list[_RunnerLike] = []  # pytest-asyncio loops of wider scope

    # -- collection: every item's settings; a bad marker is a collection error --

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Plan each item as its parent collects it (in every xdist worker alike)."""
        report: pytest.CollectReport = yield
        if report.passed:
            errors = []
            for node in report.result:
                if isinstance(node, pytest.Item):
                    try:
                        node.stash[_PLAN] = self._plan(node)
                    except _BadMarker as error:
                        errors.append(str(error))
            if errors:
                report.outcome = "failed"
                report.longrepr = "\n".join(dict.fromkeys(errors))
                report.result = []
        return report

    def _plan(self, item: pytest.Item) -> _Plan:
        from .case import _LeakChecked

        settings = _marked_settings(self._settings, item)
        cls = getattr(item, "cls", None)
        if isinstance(cls, type) and issubclass(cls, unittest.TestCase):
            if issubclass(cls, _LeakChecked):
                return _Plan(None)  # a leak-checked class keeps its own settings
            return _Plan(settings, wrap_unittest=True)
        return _Plan(settings)

    # -- one item -------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        plan = item.stash.get(_PLAN, None)
        if plan is not None and plan.settings is not None and not plan.wrap_unittest:
            baseline = self._check.take_baseline(plan.settings, owner=item.nodeid)
            if baseline is not None:  # None: the mode in force is off
                self._current = _ItemState(item, baseline)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        state = self._current
        if state is not None and state.item is item:
            backend = getattr(item, "funcargs", {}).get("anyio_backend")
            if backend is not None:
                state.anyio_lease = _anyio_runner_lease(backend)
            return
        plan = item.stash.get(_PLAN, None)
        if plan is not None and plan.wrap_unittest and plan.settings is not None:
            from .runner import prepare  # the TestCase instance exists once setup is done

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
            self._check_item(state)

    def _check_item(self, state: _ItemState) -> None:
        baseline = state.baseline
        if baseline.unchanged() and not state.leaks:
            baseline.release()  # the clean path: nothing was started or raised
            if state.anyio_lease is not None:
                state.anyio_lease[0].__exit__(None, None, None)
            return
        try:
            self._exclude_owned(baseline)
            for runner in self._open_runners:  # loops of wider scope: still open, not running
                self._check_tasks_on(state, runner)
            if state.anyio_lease is not None:
                self._check_tasks_on_anyio(state, *state.anyio_lease)
            deadline = state.deadline or time.monotonic() + baseline.settings.grace_period
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
            state.deadline = time.monotonic() + state.baseline.settings.grace_period
        self._exclude_owned(state.baseline)
        state.leaks.extend(
            runner.run(self._check.find_leaks_async(state.baseline, state.deadline, in_loop=True))
        )

    def _loop_closing(self, runner: _RunnerLike) -> None:
        """Before pytest-asyncio closes a loop (cancelling what is pending on it)."""
        if runner in self._open_runners:
            self._open_runners.remove(runner)
        if self._current is not None:
            self._check_tasks_on(self._current, runner)

    def _check_tasks_on_anyio(self, state: _ItemState, lease: contextlib.AbstractContextManager[Any], runner: Any) -> None:
        """The tasks part of the check on anyio's loop; then the lease ends, and the loop with it."""
        state.anyio_lease = None
        try:
            if state.deadline is None:
                state.deadline = time.monotonic() + state.baseline.settings.grace_period
            baseline, deadline = state.baseline, state.deadline

            async def tasks_phase() -> list[Leak]:
                _hide_anyio_call_tasks()
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
        owner = None
        if fixturedef.scope != "function":
            settings = self._fixture_settings(fixturedef, request)
            if settings is not None:
                name = _fixture_name(fixturedef, request)
                baseline = self._check.take_baseline(settings, owner=name)
                if baseline is not None:  # None: the mode in force is off
                    owner = _Owner(name, baseline)
                    # Added before the fixture runs: finalizers run last-in first-out, so
                    # this check comes after the fixture's own teardown.
                    fixturedef.addfinalizer(functools.partial(self._check_fixture, owner))
        try:
            value = yield
        finally:
            if owner is not None:
                self._own(owner)  # a loop of wider scope, too, is its fixture's
        if _is_loop_fixture(fixturedef.argname):
            runner = cast(_RunnerLike, value)
            if fixturedef.scope != "function":
                self._open_runners.append(runner)
            # Added after the fixture's own teardown was registered: runs before it.
            fixturedef.addfinalizer(functools.partial(self._loop_closing, runner))
        return value

    def _fixture_settings(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Settings | None:
        from .case import _LeakChecked

        cls = getattr(request, "cls", None)
        if fixturedef.argname.startswith("_unittest_") and isinstance(cls, type) and issubclass(cls, _LeakChecked):
            return None  # a leak-checked class checks its own class fixture
        return _marked_settings(self._settings, request.node)

    def _own(self, owner: _Owner) -> None:
        """Note what the fixture's setup started and left running (fixtures it set up keep theirs)."""
        for probe, mark in owner.baseline.marks:
            for item in probe.new_since(mark):
                if id(item) not in self._owned:
                    self._owned[id(item)] = owner
                    owner.items.append(item)

    def _check_fixture(self, owner: _Owner) -> None:
        """At the fixture's finalization: what it started and is still running."""
        items = owner.items
        for item in items:
            self._owned.pop(id(item), None)
        baseline = owner.baseline
        ids = {id(item) for item in items}
        baseline.marks = [(_filtered(probe, lambda item: id(item) in ids), mark) for probe, mark in baseline.marks]
        try:
            leaks = self._check.find_leaks(baseline)
        finally:
            baseline.release()
        if leaks:
            from .report import LeakError

            try:
                self._check.conclude(baseline, leaks)
            except LeakError as error:
                raise type(error)(f"leaked by {owner.name}:\n{error}", error.leaks) from None

    def _exclude_owned(self, baseline: Baseline) -> None:
        """Leave out of a test's check what fixtures of wider scope own."""
        if self._owned and not any(isinstance(probe, _Filtered) for probe, _ in baseline.marks):
            owned = self._owned
            baseline.marks = [
                (_filtered(probe, lambda item: id(item) not in owned), mark) for probe, mark in baseline.marks
            ]


def _anyio_runner_lease(backend: object) -> tuple[contextlib.AbstractContextManager[Any], Any] | None:
    """A lease on anyio's test runner (anyio 4.x), which keeps its asyncio loop open.

    anyio's own `pytest_pyfunc_call` closes the runner, cancelling what is pending,
    when the last lease ends: holding one until the check lets the check see them.
    """
    plugin = importlib.import_module("anyio.pytest_plugin")
    name, options = plugin.extract_backend_and_options(backend)
    if name != "asyncio":
        return None  # the task probe knows asyncio's tasks only
    lease: contextlib.AbstractContextManager[Any] = plugin.get_runner(name, options)
    return lease, lease.__enter__()


def _hide_anyio_call_tasks() -> None:
    """anyio 4.x runs a call on its test runner in a task of `_call_in_runner_task`: not a leak."""
    import asyncio

    from .probes.tasks import hide

    for task in asyncio.all_tasks():
        if getattr(task.get_coro(), "__qualname__", "") == "TestRunner._call_in_runner_task":
            hide(task)


def _is_loop_fixture(name: str) -> bool:
    """pytest-asyncio's per-scope loop fixtures (1.x): `_function_scoped_runner`, ..."""
    return name.startswith("_") and name.endswith("_scoped_runner")


def _fixture_name(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> str:
    name = fixturedef.argname
    cls = getattr(request, "cls", None)
    if name.startswith("_unittest_setUpClass_fixture_") and isinstance(cls, type):
        return f"setUpClass/tearDownClass of {cls.__qualname__} ({request.node.nodeid})"
    where = request.node.nodeid or "the session"
    return f"fixture {name!r} ({fixturedef.scope} scope, {where})"


def _filtered(probe: Probe[Any, Any], keep: Callable[[object], bool]) -> Probe[Any, Any]:
    return cast("Probe[Any, Any]", _Filtered(probe, keep))


class _Filtered:
    """A probe that sees only the items `keep` accepts; everything else is the probe's."""

    def __init__(self, probe: Probe[Any, Any], keep: Callable[[object], bool]) -> None:
        self._probe = probe
        self._keep = keep

    def new_since(self, mark: object) -> list[object]:
        return [item for item in self._probe.new_since(mark) if self._keep(item)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._probe, name)
