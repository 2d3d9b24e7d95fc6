"""`python -m leaktest`: unittest's own command line, every test leak-checked.

The suite is not changed: after loading, each test instance that is not already
a leak-checked one gets instance-level `run`/`doCleanups` wrappers calling the
same hooks as the base classes (`case.begin_test`, `case.end_test`, `case.check_in_outcome`),
and each suite gets a subclass that checks class and module fixtures. Fixture
baselines live on the result, because a class set up by one suite may be torn
down by the next.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import unittest
from types import ModuleType

from . import _compat, case, check, leak_log, mode, ownership
from .options import Option
from .probes import PROBES
from .report import Leak, LeakError, format_counts
from .settings import LEAK_MODE, Settings, all_options, from_flags, ignore_sources_listing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from .run_files import RunFiles

    T = TypeVar("T")

__unittest = True  # hide these frames from unittest tracebacks
__tracebackhide__ = True  # and from pytest ones


PROG = "python -m leaktest"

DESCRIPTION = f"""\
{PROG}: run unittest tests and fail every test that leaves threads, asyncio
tasks, child processes, sockets, asyncio handles or event loops (and, with
--check-fds, file descriptors) behind after its cleanups, as if each test case
subclassed leaktest.LeakCheckedTestCase (or LeakCheckedAsyncTestCase). Tests
that already do are checked once, with their own settings. Leaks of setUpClass/
tearDownClass and setUpModule/tearDownModule are reported against the class or
module. The leaktest options come first; the rest is exactly what
`python -m unittest` accepts. Exit status: unittest's (non-zero when any test
failed, errored or leaked; 2 on a usage error). `--mode warn` (or
LEAKTEST_MODE=warn) reports leaks without failing; `--mode off` checks nothing;
either holds for the tests with their own settings too. With -v, each test's
counts before -> after are printed under it; the summary gives tests run, leaks
found (and warned), the time spent waiting in grace periods and the slowest
straggler.
"""


#: The flags of the run's files (run_files.py): not settings of a test.
_FILE_FLAGS = {"--leak-baseline": "FILE", "--leak-report": "FILE", "--update-leak-baseline": None}


def _flags() -> tuple[set[str], set[str]]:
    """The runner flags that take a value, and those that do not."""
    valued = {flag for flag, metavar in _FILE_FLAGS.items() if metavar}
    bare = {flag for flag, metavar in _FILE_FLAGS.items() if not metavar}
    for option in all_options():
        (valued if option.takes_value else bare).update(option.flags())
    return valued, bare


def _discover_after_options(argv: list[str]) -> list[str]:
    """Move leading leaktest options after `discover`, where unittest looks for it.

    unittest only recognises `discover` as the first argument; our options are
    also known to its discovery parser, so they can follow it.
    """
    valued, bare = _flags()
    index = 1
    while index < len(argv):
        token = argv[index]
        if token in valued:
            index += 2
        elif token in bare or (token.startswith("--") and token.split("=", 1)[0] in valued):
            index += 1
        else:
            break
    if index > 1 and index < len(argv) and argv[index].lower() == "discover":
        return [argv[0], argv[index], *argv[1:index], *argv[index + 1 :]]
    return argv


# -- per test -----------------------------------------------------------------


@functools.cache
def _async_parts() -> tuple[ModuleType, ModuleType]:
    """`_async_compat` and `async_case`, imported at the first asynchronous test (they
    import asyncio), then kept: an import statement in a function runs two Python
    functions of importlib's each time, on every test."""
    from . import _async_compat, async_case

    return _async_compat, async_case


def _wrap_test(test: unittest.TestCase, settings: Settings) -> None:
    """Instance-level steps doing what `_LeakChecked` does in its methods: `run` and
    `doCleanups`; for an IsolatedAsyncioTestCase, its loop steps and `doCleanups`, which
    closes the loop (`async_case.checked_cleanups`)."""
    if _compat.is_async_test(test):
        _async_compat, async_case = _async_parts()
        test.doCleanups = functools.partial(async_case.checked_cleanups, test, test.doCleanups)  # type: ignore[method-assign]
        _async_compat.hook_loop_steps(
            test,
            functools.partial(case.begin_test, test, settings, counts_attribute=True, unless_skipped=True),
            functools.partial(async_case.adopt_test_loop, test),
        )
        return
    checked = _CheckedSteps(test, settings)
    test.doCleanups = checked.do_cleanups  # type: ignore[method-assign, assignment]
    test.run = checked  # type: ignore[method-assign]


def _wrapped(test: unittest.TestCase) -> bool:
    """Whether `_wrap_test` gave `test` the check already."""
    cleanups = vars(test).get("doCleanups")
    if isinstance(cleanups, functools.partial):
        return cleanups.func is _async_parts()[1].checked_cleanups
    return isinstance(getattr(cleanups, "__self__", None), _CheckedSteps)


class _CheckedSteps:
    """A test's `run` and `doCleanups`, checked. One object a test, with the two methods
    it wraps: every test of the run is prepared before the first one runs, and each
    object left until then is one more for every garbage collection to traverse
    (the closures in its place were about 7 objects more a test)."""

    __slots__ = ("test", "settings", "run", "unchecked_cleanups")

    def __init__(self, test: unittest.TestCase, settings: Settings) -> None:
        self.test = test
        self.settings = settings
        self.run = test.run
        self.unchecked_cleanups = test.doCleanups

    def __call__(self, result: unittest.TestResult | None = None) -> unittest.TestResult | None:
        test = self.test
        case.begin_test(test, self.settings, counts_attribute=True)
        try:
            with case.checked_in_own_run(test, result, check.verify) or contextlib.nullcontext():
                return self.run(result)
        finally:
            case.end_test(test)
            _unwrap(test)

    def do_cleanups(self) -> bool:
        success = bool(self.unchecked_cleanups())
        baseline = case.baseline_to_check(self.test)
        return success if baseline is None else case.check_in_outcome(self.test, success, baseline, check.verify)


#: What leaktest puts on a test it runs (`_wrap_test`, `case.begin_test`).
_ON_A_TEST = ("run", "doCleanups", "leaktest_baseline_counts", case.STATE)


def _unwrap(test: unittest.TestCase) -> None:
    """Take leaktest's attributes off a test whose run is over (its result read them):
    the result keeps a skipped or failed test to the end of the run, and each object
    left on it is one more for every garbage collection to traverse until then
    (test_socket: 111 skipped tests, about ten objects each)."""
    attributes = vars(test)
    for name in _ON_A_TEST:
        attributes.pop(name, None)


# -- class and module fixtures -------------------------------------------------


class _FixtureState:
    """Fixture baselines of one run, kept on the result."""

    __slots__ = ("classes", "modules", "module_settings", "pending_module")

    def __init__(self) -> None:
        self.classes: dict[type, check.Baseline] = {}
        self.modules: dict[str, check.Baseline] = {}
        self.module_settings: dict[str, list[Settings]] = {}
        self.pending_module: str | None = None


def _fixture_state(result: unittest.TestResult) -> _FixtureState:
    state: _FixtureState | None = getattr(result, "_leaktest_fixtures", None)
    if state is None:
        state = _FixtureState()
        result._leaktest_fixtures = state  # type: ignore[attr-defined]
    return state


class _FixtureCheckedSuite(_compat.FixtureSteps):
    """Checks class and module fixtures around unittest's own handling of them.

    Mixed into the class of every suite of the run (`_checked_suite_class`).
    """

    _leaktest_settings: Settings = Settings()
    _leaktest_verbose = False

    def leaktest_class_setup(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        _prepare_test(test, self._leaktest_settings, self._leaktest_verbose)  # before each test (`prepare`)
        cls = test.__class__
        fresh = (
            cls != _compat.previous_test_class(result)
            and not _compat.module_setup_failed(result)
            and not getattr(cls, "__unittest_skip__", False)
        )
        state = _fixture_state(result)
        if fresh and issubclass(cls, case._LeakChecked):
            # Checked by its own doClassCleanups; its ignores also hold for the module.
            state.module_settings.setdefault(cls.__module__, []).append(cls._leaktest_settings)
            fresh = False
        if fresh:
            baseline = check.take_baseline(
                self._leaktest_settings, owner=cls, fixture=True, running=case.users_setup_class(cls)
            )
            if baseline is not None:  # None: the mode in force is off
                state.classes[cls] = baseline
        super().leaktest_class_setup(test, result)
        if fresh:
            ownership.setup_ended(state.classes.get(cls))
        if fresh and _compat.class_setup_failed(cls):
            baseline = state.classes.pop(cls, None)
            self._leaktest_fixture(result, baseline, "setUpClass", _class_name(cls))

    def leaktest_previous_class_teardown(self, test: unittest.TestCase | None, result: unittest.TestResult) -> None:
        previous = _compat.previous_test_class(result)
        if previous is None or previous == test.__class__:
            super().leaktest_previous_class_teardown(test, result)
            return
        ownership.teardown_begins(_fixture_state(result).classes.get(previous))
        super().leaktest_previous_class_teardown(test, result)
        baseline = _fixture_state(result).classes.pop(previous, None)
        self._leaktest_fixture(result, baseline, "tearDownClass", _class_name(previous))

    def leaktest_module_setup(self, test: unittest.TestCase, result: unittest.TestResult) -> None:
        current = test.__class__.__module__
        fresh = current != _compat.previous_module(self, result)
        state = _fixture_state(result)
        if fresh:
            # The baseline is taken after the previous module's teardown (below).
            state.pending_module = current
        super().leaktest_module_setup(test, result)
        if state.pending_module == current:  # no teardown ran: there was no previous module
            state.pending_module = None
            self._leaktest_module_baseline(state, current)
        if fresh:
            ownership.setup_ended(state.modules.get(current))
        if fresh and _compat.module_setup_failed(result):
            self._leaktest_module(result, current, "setUpModule")

    def leaktest_module_teardown(self, result: unittest.TestResult) -> None:
        previous = _compat.previous_module(self, result)
        state = _fixture_state(result)
        if previous is not None:
            ownership.teardown_begins(state.modules.get(previous))
        super().leaktest_module_teardown(result)
        if previous is not None:
            self._leaktest_module(result, previous, "tearDownModule")
        pending, state.pending_module = state.pending_module, None
        if pending is not None:
            self._leaktest_module_baseline(state, pending)

    def _leaktest_module_baseline(self, state: _FixtureState, module: str) -> None:
        baseline = check.take_baseline(self._leaktest_settings, owner=f"module {module}", fixture=True)
        if baseline is not None:  # None: the mode in force is off
            state.modules[module] = baseline

    def _leaktest_module(self, result: unittest.TestResult, module: str, method: str) -> None:
        state = _fixture_state(result)
        baseline = state.modules.pop(module, None)
        if baseline is not None:
            baseline.settings = baseline.settings.merged(state.module_settings.pop(module, ()))
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
            _compat.add_fixture_error(self, result, leak, method, parent, sys.exc_info())
        finally:
            if isinstance(result, LeakTestResult):
                result.grace_seconds += baseline.waited
                result.note_warned(f"{method} ({parent})", baseline.warned)


def _class_name(cls: type) -> str:
    """``module.Class``, as unittest names a class in a fixture error."""
    return f"{cls.__module__}.{cls.__qualname__}"


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


def prepare(test: object, settings: Settings, *, verbose: bool = False) -> None:
    """Make every test in the tree checked; suites check class and module fixtures.

    Tests that are already leak-checked keep their own settings and are not wrapped.
    A test of a suite that unittest's own `TestSuite.run` runs is prepared when the
    suite reaches it (`leaktest_class_setup`): prepared now, the five objects it gets
    would be five more for every garbage collection to traverse until it ran.
    """
    if isinstance(test, unittest.TestSuite):
        when_run = type(test).run is unittest.TestSuite.run
        try:
            test.__class__ = _checked_suite_class(type(test))
        except TypeError:  # an incompatible layout: the tests are still checked
            when_run = False
        else:
            test._leaktest_settings = settings  # type: ignore[attr-defined]
            test._leaktest_verbose = verbose  # type: ignore[attr-defined]
        for child in test:
            if not (when_run and isinstance(child, unittest.TestCase)):
                prepare(child, settings, verbose=verbose)
    elif isinstance(test, unittest.TestCase):
        _prepare_test(test, settings, verbose)


def _prepare_test(test: unittest.TestCase, settings: Settings, verbose: bool) -> None:
    if verbose:
        case.state_of(test).verbose = True
    if not isinstance(test, case._LeakChecked) and not _wrapped(test):
        _wrap_test(test, settings)


# -- result, runner, program ---------------------------------------------------


def _exceptions(leaks: list[Leak]) -> int:
    """How many are failures found by a probe's `errors` (an exception nobody caught),
    not something left running: those fall under no probe's own kind."""
    kinds = {probe.kind for probe in PROBES}
    return sum(1 for leak in leaks if leak.kind not in kinds)


class LeakTestResult(unittest.TextTestResult):
    """A TextTestResult that also notes leaks, grace time and (with -v) the counts."""

    def __init__(self, stream: Any, descriptions: bool, verbosity: int, **kwargs: Any) -> None:
        super().__init__(stream, descriptions, verbosity, **kwargs)
        self.leaking: list[str] = []  # ids of the tests that leaked
        self.leaking_fixtures: list[str] = []  # "tearDownClass (module.Class)", ...
        self.raising: list[str] = []  # tests with exceptions nobody caught
        self.raising_fixtures: list[str] = []
        self.leaks_found = 0
        self.exceptions_found = 0
        self.grace_seconds = 0.0
        # The longest a test that did not leak kept the check waiting: how close the
        # suite's stragglers come to the grace period.
        self.slowest_straggler: tuple[float, str] | None = None
        self.warned: list[str] = []  # ids of the tests whose leaks were warnings (warn mode)
        self.leaks_warned = 0
        self.expected_leaks = 0
        self._leaktest_verbosity = verbosity

    def note_warned(self, name: str, leaks: int) -> None:
        if leaks:
            self.leaks_warned += leaks
            self.warned.append(name)

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:
        if isinstance(err, tuple) and isinstance(err[1], LeakError):
            self.expected_leaks += 1
        super().addExpectedFailure(test, err)

    def _note_leak(self, test: unittest.TestCase, err: Any) -> None:
        if isinstance(err, tuple) and isinstance(err[1], LeakError):
            found = err[1].leaks
            exceptions = _exceptions(found)
            leaks = len(found) - exceptions
            self.exceptions_found += exceptions
            self.leaks_found += leaks
            name = test.id()
            is_test = isinstance(test, unittest.TestCase)  # else unittest's holder for a fixture
            for count, names in (
                (leaks, self.leaking if is_test else self.leaking_fixtures),
                (exceptions, self.raising if is_test else self.raising_fixtures),
            ):
                if count and name not in names:
                    names.append(name)

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        self._note_leak(test, err)
        super().addFailure(test, err)

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        self._note_leak(test, err)
        super().addError(test, err)

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        if leak_log.current is not None:
            leak_log.current.running = (test.id(),)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        if leak_log.current is not None:
            leak_log.current.running = None
            leak_log.current.ran(test.id())
        state: case.PerTestState | None = getattr(test, case.STATE, None)
        if state is None:
            return
        self.grace_seconds += state.waited
        self.note_warned(test.id(), state.warned)
        straggler = state.straggler
        if straggler and (self.slowest_straggler is None or straggler > self.slowest_straggler[0]):
            self.slowest_straggler = (straggler, test.id())
        if state.counts is not None and self._leaktest_verbosity > 1:
            self.stream.write(f"    {format_counts(*state.counts)}\n")
            self.stream.flush()
        state.summarised()


class LeakTestRunner(unittest.TextTestRunner):
    """unittest's TextTestRunner, with leaktest's result; the program prints the
    summary after it (`LeakTestProgram.leaktest_finish`)."""

    resultclass = LeakTestResult
    files: RunFiles | None = None  # the run's known-leaks file and JSON report, if asked for


def summary(result: LeakTestResult) -> str:
    """Tests run, leaks and uncaught exceptions found, grace time, the slowest
    straggler; then who, one a line.

    Leaks (something left running) are told from exceptions nobody caught, and
    tests from class and module fixtures.
    """
    text = f"leaktest: {_plural(result.testsRun, 'test')} run, {_plural(result.leaks_found, 'leak')} found"
    text += _owners(result.leaking, result.leaking_fixtures)
    if result.exceptions_found:
        text += f", {_plural(result.exceptions_found, 'exception')} not caught (in threads or tasks)"
        text += _owners(result.raising, result.raising_fixtures)
    if result.leaks_warned:
        text += f", {_plural(result.leaks_warned, 'leak')} warned in {_plural(len(result.warned), 'test')}"
    if result.expected_leaks:
        text += f", {_plural(result.expected_leaks, 'expected leak')}"
    text += f", {result.grace_seconds:.3f}s spent waiting in grace periods\n"
    if result.slowest_straggler is not None:
        seconds, name = result.slowest_straggler
        text += f"leaktest: slowest straggler: {seconds:.3f}s after the cleanups of {name}\n"
    for heading, names in (
        ("leaking (warn mode, not failed)", result.warned),
        ("leaking tests", result.leaking),
        ("leaking fixtures", result.leaking_fixtures),
        ("exceptions not caught in", result.raising + result.raising_fixtures),
    ):
        if names:
            text += f"leaktest: {heading}:\n" + "".join(f"  {name}\n" for name in names)
    return text


def _owners(tests: list[str], fixtures: list[str]) -> str:
    """' in 2 tests and 1 fixture', or nothing."""
    owners = [_plural(len(names), noun) for names, noun in ((tests, "test"), (fixtures, "fixture")) if names]
    return " in " + " and ".join(owners) if owners else ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun if count == 1 else noun + 's'}"


class LeakTestProgram(_compat.ProgramSteps):
    """unittest.main with the leaktest options, its runner, and a checked suite; made as
    `python -m unittest` makes unittest's: ``LeakTestProgram(module=None, argv=...)``.

    Each option is parsed into the attribute ``leaktest_<name>`` (None when not given).
    Neither a function nor an ``__init__`` of leaktest's stands between the program and
    its tests: asyncio's debug mode (every IsolatedAsyncioTestCase) records the whole
    stack each time a Future or a Task is made, and pays for every frame below the test.
    """

    settings: Settings = Settings()
    test: unittest.TestSuite | unittest.TestCase
    testRunner: Any  # unittest's: a runner class or instance, None for its default

    def leaktest_finish(self) -> int:
        """After the run (made with ``exit=False``, as `__main__` does): the leaktest summary
        after unittest's lines, then the status unittest would exit with. Not printed by the
        runner's `run`: its frame would be below every test, extracted each time a Future or
        a Task is made in debug mode, with its line and its file's stat."""
        result = self.result
        if isinstance(result, LeakTestResult):
            text = summary(result)
            files: RunFiles | None = getattr(self.testRunner, "files", None)
            log = leak_log.current
            if files is not None and log is not None:
                text += "".join(line + "\n" for line in files.finish(log.records, log.tests_run, result.testsRun))
            sys.stderr.write(text)
            sys.stderr.flush()
        return _compat.exit_status(result)

    def parseArgs(self, argv: list[str]) -> None:
        if self.testRunner is None:
            self.testRunner = LeakTestRunner
        super().parseArgs(_discover_after_options(list(argv)))

    def leaktest_add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("leaktest options (given before the unittest arguments)")
        for option in all_options():
            group.add_argument(
                *option.flags()[:1], dest=f"leaktest_{option.name}", default=None, **option.flag_arguments()
            )
        group.add_argument(
            "--leak-baseline",
            dest="leaktest_baseline",
            metavar="FILE",
            help="the known-leaks file (JSON): missing, every leak found is recorded there and passes;"
            " there, only leaks it does not list fail, and the fixed ones are listed",
        )
        group.add_argument(
            "--update-leak-baseline",
            dest="leaktest_update_baseline",
            action="store_true",
            help="rewrite the known-leaks file with the leaks this run finds (they pass)",
        )
        group.add_argument(
            "--leak-report", dest="leaktest_report", metavar="FILE", help="write every leak of the run to FILE (JSON)"
        )

    def leaktest_print_help(self) -> None:
        print(DESCRIPTION)

    def createTests(self, from_discovery: bool = False, Loader: Any = None) -> None:
        self.settings = self._leaktest_settings()
        self._leaktest_files()
        super().createTests(from_discovery, Loader)
        prepare(self.test, self.settings, verbose=self.verbosity > 1)
        if self.verbosity > 1:
            sys.stderr.write("".join(line + "\n" for line in ignore_sources_listing(self.settings)))

    def _leaktest_files(self) -> None:
        """The run's files: its runner class knows them (a subclass made for this run)."""
        baseline: str | None = getattr(self, "leaktest_baseline", None)
        update = bool(getattr(self, "leaktest_update_baseline", False))
        report: str | None = getattr(self, "leaktest_report", None)
        if update and not baseline:
            _compat.usage_error(self, "--update-leak-baseline needs --leak-baseline FILE")
        if not (baseline or report):
            return
        from .run_files import RunFiles  # (with its file formats: only for a run that asks for them)

        try:
            files = RunFiles(baseline, update, report)
        except ValueError as error:
            _compat.usage_error(self, str(error))
            raise  # not reached: a usage error exits with status 2
        runner: object = getattr(self, "testRunner", None)
        if isinstance(runner, type) and issubclass(runner, LeakTestRunner):
            self.testRunner = type(runner.__name__, (runner,), {"files": files})

    def _leaktest_settings(self) -> Settings:
        """The settings of the tests it wraps; `--mode` is for every test (mode.py)."""
        chosen = getattr(self, f"leaktest_{LEAK_MODE.name}", None)
        mode.set_command_line_mode(None if chosen is None else str(LEAK_MODE.from_flag(chosen)))

        def given(option: Option[Any]) -> object:
            return None if option is LEAK_MODE else getattr(self, f"leaktest_{option.name}", None)

        try:
            return from_flags((PROG, given))
        except (TypeError, ValueError) as error:
            _compat.usage_error(self, str(error))
            raise  # not reached: a usage error exits with status 2
