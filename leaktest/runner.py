"""`python -m leaktest`: unittest's own command line, every test leak-checked.

The suite is not changed: after loading, each test instance that is not already
a leak-checked one gets instance-level `run`/`doCleanups` wrappers calling the
same hooks as the base classes (`case.run_with_baseline`, `case.check_after_cleanups`),
and each suite gets a subclass that checks class and module fixtures. Fixture
baselines live on the result, because a class set up by one suite may be torn
down by the next.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import unittest
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from . import case, check
from .report import LeakError, format_counts
from .settings import FLAG_OPTIONS, Settings, from_options, validate_grace_period

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones

T = TypeVar("T")

PROG = "python -m leaktest"

DESCRIPTION = f"""\
{PROG}: run unittest tests and fail every test that leaves threads, asyncio
tasks or child processes running after its cleanups, as if each test case
subclassed leaktest.LeakCheckedTestCase (or LeakCheckedAsyncTestCase). Tests
that already do are checked once, with their own settings. Leaks of setUpClass/
tearDownClass and setUpModule/tearDownModule are reported against the class or
module. The leaktest options come first; the rest is exactly what
`python -m unittest` accepts. Exit status: unittest's (non-zero when any test
failed, errored or leaked; 2 on a usage error). With -v, each test's counts
before -> after are printed under it; the summary gives tests run, leaks found
and the time spent waiting in grace periods.
"""

# The options of the runner: (flag, dest, list option of `from_options` or None).
_LIST_FLAGS = {
    "--ignore-thread": ("leaktest_ignore_threads", "ignore_threads"),
    "--ignore-task": ("leaktest_ignore_tasks", "ignore_tasks"),
    "--ignore-top-function": ("leaktest_ignore_top_functions", "ignore_top_functions"),
    "--ignore-any-function": ("leaktest_ignore_any_functions", "ignore_any_functions"),
    "--ignore-socket": ("leaktest_ignore_sockets", "ignore_sockets"),
}
_VALUE_FLAGS = ("--grace-period", *_LIST_FLAGS)
# Switches: --check-X / --no-check-X; unset ones keep their default.
_SWITCHES = {
    "--check-sockets": ("check_sockets", "sockets created by the test and still open, or closed by the GC"),
    "--check-handles": ("check_handles", "asyncio call_soon/call_later/call_at callbacks still pending"),
    "--check-loops": ("check_loops", "asyncio event loops created by the test and never closed"),
    "--check-fds": ("check_fds", "file descriptors opened by the test and still open (reads /proc per test)"),
}
_SWITCH_TOKENS = (*_SWITCHES, *(f"--no-{flag[2:]}" for flag in _SWITCHES))


def _grace_period(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    try:
        return validate_grace_period("--grace-period", seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be finite and >= 0 seconds, not {text!r}") from None


def _non_empty(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("expected a non-empty pattern or name")
    return text


def _discover_after_options(argv: list[str]) -> list[str]:
    """Move leading leaktest options after `discover`, where unittest looks for it.

    unittest only recognises `discover` as the first argument; our options are
    also known to its discovery parser, so they can follow it.
    """
    index = 1
    while index < len(argv):
        token = argv[index]
        if token in _VALUE_FLAGS:
            index += 2
        elif token in _SWITCH_TOKENS:
            index += 1
        elif token.startswith("--") and token.split("=", 1)[0] in _VALUE_FLAGS:
            index += 1
        else:
            break
    if index > 1 and index < len(argv) and argv[index].lower() == "discover":
        return [argv[0], argv[index], *argv[1:index], *argv[index + 1 :]]
    return argv


# -- per test -----------------------------------------------------------------


def _check_function(test: unittest.TestCase) -> Callable[[check.Baseline], None]:
    """How the check runs for `test`: the async flavour for IsolatedAsyncioTestCase."""
    if isinstance(test, unittest.IsolatedAsyncioTestCase):
        async_check: Callable[[unittest.TestCase, check.Baseline], None] | None = getattr(
            case, "check_async_test", None
        )
        if async_check is not None:
            return functools.partial(async_check, test)
    return check.verify


def _wrap_test(test: unittest.TestCase, settings: Settings) -> None:
    """Instance-level `run`/`doCleanups` doing what `_LeakChecked` does in its methods."""
    run = test.run
    do_cleanups = test.doCleanups
    check_leaks = _check_function(test)

    def run_checked(result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        return case.run_with_baseline(test, settings, run, result)

    def do_cleanups_checked() -> bool:
        return case.check_after_cleanups(test, bool(do_cleanups()), check_leaks)

    test.run = run_checked  # type: ignore[method-assign]
    test.doCleanups = do_cleanups_checked  # type: ignore[method-assign, assignment]
    test._leaktest_wrapped = True  # type: ignore[attr-defined]


# -- class and module fixtures -------------------------------------------------


@dataclasses.dataclass
class _FixtureState:
    """Fixture baselines of one run, kept on the result."""

    classes: dict[type, check.Baseline] = dataclasses.field(default_factory=dict)
    modules: dict[str, check.Baseline] = dataclasses.field(default_factory=dict)
    module_settings: dict[str, list[Settings]] = dataclasses.field(default_factory=dict)
    pending_module: str | None = None


def _fixture_state(result: unittest.TestResult) -> _FixtureState:
    state: _FixtureState | None = getattr(result, "_leaktest_fixtures", None)
    if state is None:
        state = _FixtureState()
        result._leaktest_fixtures = state  # type: ignore[attr-defined]
    return state


def _merged(settings: Settings, others: Iterable[Settings]) -> Settings:
    """The runner's settings plus the ignores of the leak-checked classes of a module.

    What such a class ignores in its tests must not turn up again at module level.
    """
    merged = settings
    for other in others:
        merged = dataclasses.replace(
            merged,
            ignore_threads=_union(merged.ignore_threads, other.ignore_threads),
            ignore_tasks=_union(merged.ignore_tasks, other.ignore_tasks),
            ignore_top_functions=_union(merged.ignore_top_functions, other.ignore_top_functions),
            ignore_any_functions=_union(merged.ignore_any_functions, other.ignore_any_functions),
            ignore_sockets=_union(merged.ignore_sockets, other.ignore_sockets),
        )
    return merged


def _union(first: tuple[T, ...], second: tuple[T, ...]) -> tuple[T, ...]:
    return tuple(dict.fromkeys((*first, *second)))


class _FixtureCheckedSuite(unittest.TestSuite):
    """Checks class and module fixtures around unittest's own handling of them.

    Mixed into the class of every suite of the run (`_checked_suite_class`).
    """

    _leaktest_settings: Settings = Settings()

    def _handleClassSetUp(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        cls = test.__class__
        fresh = (
            cls != getattr(result, "_previousTestClass", None)
            and not getattr(result, "_moduleSetUpFailed", False)
            and not getattr(cls, "__unittest_skip__", False)
        )
        state = _fixture_state(result)
        if fresh and issubclass(cls, case._LeakChecked):
            # Checked by its own doClassCleanups; its ignores also hold for the module.
            state.module_settings.setdefault(cls.__module__, []).append(cls._leaktest_settings)
            fresh = False
        if fresh:
            state.classes[cls] = check.take_baseline(self._leaktest_settings)
        super()._handleClassSetUp(test, result)  # type: ignore[misc]
        if fresh and getattr(cls, "_classSetupFailed", False):
            baseline = state.classes.pop(cls, None)
            self._leaktest_fixture(result, baseline, "setUpClass", unittest.util.strclass(cls))  # type: ignore[attr-defined]

    def _tearDownPreviousClass(
        self, test: unittest.TestCase | None, result: unittest.TestResult
    ) -> None:
        previous = getattr(result, "_previousTestClass", None)
        super()._tearDownPreviousClass(test, result)  # type: ignore[misc]
        if previous is None or previous == test.__class__:
            return
        baseline = _fixture_state(result).classes.pop(previous, None)
        self._leaktest_fixture(result, baseline, "tearDownClass", unittest.util.strclass(previous))  # type: ignore[attr-defined]

    def _handleModuleFixture(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        current = test.__class__.__module__
        fresh = current != self._get_previous_module(result)  # type: ignore[attr-defined]
        state = _fixture_state(result)
        if fresh:
            # The baseline is taken after the previous module's teardown (below).
            state.pending_module = current
        super()._handleModuleFixture(test, result)  # type: ignore[misc]
        if state.pending_module == current:  # no teardown ran: there was no previous module
            state.pending_module = None
            state.modules[current] = check.take_baseline(self._leaktest_settings)
        if fresh and getattr(result, "_moduleSetUpFailed", False):
            self._leaktest_module(result, current, "setUpModule")

    def _handleModuleTearDown(self, result: unittest.TestResult) -> None:
        previous = self._get_previous_module(result)  # type: ignore[attr-defined]
        super()._handleModuleTearDown(result)  # type: ignore[misc]
        state = _fixture_state(result)
        if previous is not None:
            self._leaktest_module(result, previous, "tearDownModule")
        pending, state.pending_module = state.pending_module, None
        if pending is not None:
            state.modules[pending] = check.take_baseline(self._leaktest_settings)

    def _leaktest_module(self, result: unittest.TestResult, module: str, method: str) -> None:
        state = _fixture_state(result)
        baseline = state.modules.pop(module, None)
        if baseline is not None:
            baseline.settings = _merged(baseline.settings, state.module_settings.pop(module, ()))
        self._leaktest_fixture(result, baseline, method, module)

    def _leaktest_fixture(
        self,
        result: unittest.TestResult,
        baseline: check.Baseline | None,
        method: str,
        parent: str,
    ) -> None:
        """Check a fixture; a leak is an error of the class or module, like unittest's own."""
        if baseline is None:
            return
        try:
            check.verify(baseline)
        except LeakError as leak:
            self._createClassOrModuleLevelException(  # type: ignore[attr-defined]
                result, leak, method, parent, info=sys.exc_info()
            )
        finally:
            if isinstance(result, LeakTestResult):
                result.grace_seconds += baseline.waited


_SUITE_CLASSES: dict[type[unittest.TestSuite], type[unittest.TestSuite]] = {}


def _checked_suite_class(suite_class: type[unittest.TestSuite]) -> type[unittest.TestSuite]:
    """`suite_class` with the fixture checks mixed in (created once per suite class)."""
    if issubclass(suite_class, _FixtureCheckedSuite):
        return suite_class
    checked = _SUITE_CLASSES.get(suite_class)
    if checked is None:
        checked = type(suite_class.__name__, (_FixtureCheckedSuite, suite_class), {})
        _SUITE_CLASSES[suite_class] = checked
    return checked


def prepare(test: object, settings: Settings, verbose: bool = False) -> None:
    """Make every test in the tree checked; suites check class and module fixtures.

    Tests that are already leak-checked keep their own settings and are not wrapped.
    """
    if isinstance(test, unittest.TestSuite):
        try:
            test.__class__ = _checked_suite_class(type(test))
        except TypeError:  # an incompatible layout: the tests are still checked
            pass
        else:
            test._leaktest_settings = settings  # type: ignore[attr-defined]
        for child in test:
            prepare(child, settings, verbose)
    elif isinstance(test, unittest.TestCase):
        if verbose:
            test._leaktest_verbose = True  # type: ignore[attr-defined]
        if not isinstance(test, case._LeakChecked) and not getattr(test, "_leaktest_wrapped", False):
            _wrap_test(test, settings)


# -- result, runner, program ---------------------------------------------------


class LeakTestResult(unittest.TextTestResult):
    """A TextTestResult that also notes leaks, grace time and (with -v) the counts."""

    def __init__(self, stream: Any, descriptions: bool, verbosity: int, **kwargs: Any) -> None:
        super().__init__(stream, descriptions, verbosity, **kwargs)
        self.leaking: list[str] = []  # ids of the tests (and fixtures) that leaked
        self.leaks_found = 0
        self.grace_seconds = 0.0
        self._leaktest_verbosity = verbosity

    def _note_leak(self, test: unittest.TestCase, err: Any) -> None:
        if isinstance(err, tuple) and isinstance(err[1], LeakError):
            self.leaks_found += len(err[1].leaks) or 1
            name = test.id()
            if name not in self.leaking:
                self.leaking.append(name)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        self._note_leak(test, err)
        super().addFailure(test, err)

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        self._note_leak(test, err)
        super().addError(test, err)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        self.grace_seconds += vars(test).pop("_leaktest_waited", 0.0)
        counts = vars(test).pop("_leaktest_counts", None)
        if counts is not None and self._leaktest_verbosity > 1:
            self.stream.write(f"    {format_counts(*counts)}\n")
            self.stream.flush()


class LeakTestRunner(unittest.TextTestRunner):
    """unittest's TextTestRunner, plus the leaktest summary at the end."""

    resultclass = LeakTestResult

    def run(self, test: unittest.TestSuite | unittest.TestCase) -> unittest.TextTestResult:
        result = super().run(test)
        if isinstance(result, LeakTestResult):
            self.stream.write(summary(result))
            self.stream.flush()
        return result


def summary(result: LeakTestResult) -> str:
    """Tests run, leaks found, grace time; then the leaking tests, one a line."""
    tests = "test" if result.testsRun == 1 else "tests"
    found = f"{result.leaks_found} leak{'' if result.leaks_found == 1 else 's'} found"
    if result.leaking:
        found += f" in {len(result.leaking)} test{'' if len(result.leaking) == 1 else 's'}"
    text = (
        f"leaktest: {result.testsRun} {tests} run, {found}, "
        f"{result.grace_seconds:.3f}s spent waiting in grace periods\n"
    )
    if result.leaking:
        text += "leaktest: leaking:\n" + "".join(f"  {name}\n" for name in result.leaking)
    return text


class LeakTestProgram(unittest.TestProgram):
    """unittest.main with the leaktest options, its runner, and a checked suite."""

    leaktest_grace_period: float | None = None
    leaktest_ignore_threads: list[str] | None = None
    leaktest_ignore_tasks: list[str] | None = None
    leaktest_ignore_top_functions: list[str] | None = None
    leaktest_ignore_any_functions: list[str] | None = None
    leaktest_ignore_sockets: list[str] | None = None
    settings: Settings = Settings()
    test: unittest.TestSuite | unittest.TestCase

    def __init__(self, argv: Sequence[str] | None = None, exit: bool = True) -> None:
        args = _discover_after_options(list(sys.argv if argv is None else argv))
        super().__init__(module=None, argv=args, testRunner=LeakTestRunner, exit=exit)

    def _getParentArgParser(self) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = super()._getParentArgParser()  # type: ignore[misc]
        group = parser.add_argument_group("leaktest options (given before the unittest arguments)")
        group.add_argument(
            "--grace-period",
            dest="leaktest_grace_period",
            type=_grace_period,
            metavar="SECONDS",
            help="how long to wait, at most, for what a test started to end (default: 0.1)",
        )
        helps = {
            "--ignore-thread": ("GLOB", "ignore threads whose name matches (fnmatch; repeatable)"),
            "--ignore-task": ("GLOB", "ignore asyncio tasks by name or coroutine qualified name"),
            "--ignore-top-function": (
                "FUNC",
                "ignore what has pkg.mod.Class.method on top of its stack (outside the stdlib)",
            ),
            "--ignore-any-function": ("FUNC", "ignore what has pkg.mod.Class.method anywhere in its stack"),
            "--ignore-socket": ("GLOB", "ignore sockets whose local or peer address matches (\"127.0.0.1:*\")"),
        }
        for flag, (dest, _option) in _LIST_FLAGS.items():
            metavar, text = helps[flag]
            group.add_argument(flag, dest=dest, action="append", type=_non_empty, metavar=metavar, help=text)
        for flag, (option, text) in _SWITCHES.items():
            default = FLAG_OPTIONS[option]
            group.add_argument(
                flag,
                dest=f"leaktest_{option}",
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{text} (default: {'on' if default else 'off'})",
            )
        return parser

    def _print_help(self, *args: Any, **kwargs: Any) -> None:
        print(DESCRIPTION)
        super()._print_help(*args, **kwargs)  # type: ignore[misc]

    def createTests(self, from_discovery: bool = False, Loader: Any = None) -> None:
        self.settings = self._leaktest_settings()
        super().createTests(from_discovery, Loader)
        prepare(self.test, self.settings, verbose=self.verbosity > 1)

    def _leaktest_settings(self) -> Settings:
        lists = {
            option: tuple(getattr(self, dest) or ())
            for dest, option in _LIST_FLAGS.values()
        }
        switches = {
            option: value
            for option, _ in _SWITCHES.values()
            if (value := getattr(self, f"leaktest_{option}", None)) is not None
        }
        grace = self.leaktest_grace_period
        try:
            if grace is None:
                return from_options(PROG, **lists, **switches)
            return from_options(PROG, grace, **lists, **switches)
        except (TypeError, ValueError) as error:
            self._main_parser.error(str(error))  # type: ignore[attr-defined]
            raise  # not reached: error() exits with status 2


def main(argv: Sequence[str] | None = None, exit: bool = True) -> LeakTestProgram:
    """`python -m leaktest ARGS`; `argv[0]` is the program name."""
    if argv is None:
        argv = [PROG, *sys.argv[1:]]
    return LeakTestProgram(argv=argv, exit=exit)
