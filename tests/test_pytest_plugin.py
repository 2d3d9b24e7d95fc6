"""The pytest plugin, run in a subprocess on the small suites in tests/pytest_suites.

pytest and its plugins are test-only dependencies: these tests run with the
python named by LEAKTEST_PYTEST_PYTHON (see tests/test_pytest.py) and are skipped
when pytest (or the plugin a test needs) cannot be imported there.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from support import PYTHON_ENV, ROOT, TESTS, Outcomes, PytestRun, importable

SUITES = TESTS / "pytest_suites"
HAVE_PYTEST = importable("pytest")
HAVE_XDIST = HAVE_PYTEST and importable("xdist")
HAVE_ASYNCIO_PLUGIN = HAVE_PYTEST and importable("pytest_asyncio")
HAVE_ANYIO = HAVE_PYTEST and importable("anyio")
HAVE_UVLOOP = HAVE_ANYIO and importable("uvloop")
NEEDS_PYTEST = f"pytest is not importable (set {PYTHON_ENV} to a python that has it)"


class Run:
    """One pytest run on the suites, started at once: its process, and per test
    (outcome, report text) from its JUnit XML (`support.junit_outcomes`)."""

    def __init__(
        self,
        *args: str,
        plugin: tuple[str, ...] = ("-p", "leaktest.pytest_plugin"),
        path: str = "",
        needs: tuple[str, ...] = (),
    ) -> None:
        self._run = PytestRun([*plugin, *args], SUITES, [path, str(ROOT), str(TESTS)], needs)

    def finished(self) -> None:
        """Wait for the run to end."""
        self._run.finished()

    @property
    def process(self) -> subprocess.CompletedProcess[str]:
        return self._run.process

    @property
    def outcomes(self) -> Outcomes:
        return self._run.outcomes

    @property
    def output(self) -> str:
        return self.process.stdout + self.process.stderr

    def outcome(self, test: str) -> str:
        return self.outcomes.get(test, ("not run", ""))[0]

    def report(self, test: str) -> str:
        return self.outcomes.get(test, ("", ""))[1]


#: The runs of the module, by arguments: `start_runs` starts them all at once.
_SHARED: dict[tuple[tuple[str, ...], tuple[str, ...], str, tuple[str, ...]], Run] = {}


def shared_run(
    *args: str, plugin: tuple[str, ...] = ("-p", "leaktest.pytest_plugin"), path: str = "", needs: tuple[str, ...] = ()
) -> Run:
    """The run of these arguments, started once: each class names its runs in
    `setUpClass`, which `start_runs` calls for all, so that every run overlaps the others."""
    key = (args, plugin, path, needs)
    if key not in _SHARED:
        _SHARED[key] = Run(*args, plugin=plugin, path=path, needs=needs)
    return _SHARED[key]


def start_runs() -> None:
    """Start the runs of every class, so that they overlap."""
    for case in (
        VerdictsTest,
        XdistVerdictsTest,
        FixtureScopeTest,
        FixtureOwnershipTest,
        SettingsTest,
        BadMarkerTest,
        XdistBadMarkerTest,
        NotEnabledTest,
        InstalledTest,
        UnittestCasesTest,
        AsyncioTest,
        UnderWarningsErrorTest,
        AnyioTest,
        UvloopTest,
    ):
        if not getattr(case, "__unittest_skip__", False):
            case.setUpClass()


def tearDownModule() -> None:
    """Wait for the runs no test selected read, then remove what they ran on."""
    for run in _SHARED.values():
        run.finished()
    if "installed" in vars(InstalledTest):
        InstalledTest.installed.cleanup()


VERDICTS = {
    "pytest_verdicts.test_clean": "passed",
    "pytest_verdicts.test_leaks_thread": "error",
    "pytest_verdicts.test_fails_and_leaks": "failed+error",
    "pytest_verdicts.test_fixture_finalizer_stops_the_thread": "passed",
    "pytest_verdicts.test_thread_ends_within_the_grace": "passed",
    "pytest_verdicts.test_ignored_by_marker": "passed",
    "pytest_verdicts.test_threads_not_checked": "passed",
    "pytest_verdicts.test_disabled": "passed",
    "TestMarkedClass.test_ignored_by_class_marker": "passed",
    "TestMarkedClass.test_class_and_method_ignores_add_up": "passed",
    "TestMarkedClass.test_other_leaks_still_fail": "error",
    "TestDisabledClass.test_a_closer_marker_without_enabled_keeps_it_off": "passed",
}


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class VerdictsTest(unittest.TestCase):
    """Plain test functions, fixtures and markers under `pytest --leaktest`."""

    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    pytest: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run("--leaktest", *cls.args, "pytest_verdicts.py", needs=cls.needs)

    def test_each_test_has_its_verdict(self) -> None:
        self.assertEqual({name: self.pytest.outcome(name) for name in VERDICTS}, VERDICTS, self.pytest.output)
        self.assertEqual(self.pytest.process.returncode, 1, self.pytest.output)

    def test_a_leak_is_an_error_at_teardown_with_the_report(self) -> None:
        report = self.pytest.report("pytest_verdicts.test_leaks_thread")
        self.assertIn("failed on teardown", report)
        self.assertIn("[Thread 'function-leak' (ident", report)
        self.assertIn("started by conftest.leak at ", report)
        self.assertIn("counts before -> after: threads ", report)
        self.assertIn("Thread 'class-not-ignored'", self.pytest.report("TestMarkedClass.test_other_leaks_still_fail"))

    def test_a_failing_test_that_leaks_reports_both(self) -> None:
        report = self.pytest.report("pytest_verdicts.test_fails_and_leaks")
        self.assertIn("fails on purpose", report)
        self.assertIn("Thread 'failing-leak'", report)

    def test_the_summary_lists_the_leaks(self) -> None:
        self.assertRegex(
            self.pytest.process.stdout,
            r"ERROR pytest_verdicts\.py::test_leaks_thread - leaktest\.report\.LeakError: found unexpected threads",
        )
        self.assertRegex(self.pytest.process.stdout, r"PASSED pytest_verdicts\.py::test_leaks_thread")

    def test_no_leaktest_frames_in_the_traceback(self) -> None:
        for module in ("pytest_plugin", "check.py", "case.py", "report.py"):
            self.assertNotIn(f"leaktest{os.sep}{module}", self.pytest.process.stdout)


@unittest.skipUnless(HAVE_XDIST, f"pytest-xdist is not importable (set {PYTHON_ENV} to a python that has it)")
class XdistVerdictsTest(VerdictsTest):
    """Two workers, each checking the tests it runs: nothing to configure."""

    args = ("-n", "2", "-v")
    needs = ("xdist",)

    def test_both_workers_ran_tests(self) -> None:
        self.assertRegex(self.pytest.process.stdout, r"\[gw0\] .*(PASSED|FAILED|ERROR)")
        self.assertRegex(self.pytest.process.stdout, r"\[gw1\] .*(PASSED|FAILED|ERROR)")


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class FixtureScopeTest(unittest.TestCase):
    """What a class, module or session fixture starts is that fixture's."""

    pytest: Run
    package_scope: Run
    served: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run("--leaktest", "pytest_fixtures.py")
        cls.package_scope = shared_run("--leaktest", "package_scope/pytest_first.py", "package_scope/pytest_last.py")
        cls.served = shared_run("--leaktest", "pytest_served.py")

    def test_the_tests_pass_and_the_module_fixture_leak_is_a_teardown_error(self) -> None:
        outcomes = {name: outcome for name, (outcome, _) in self.pytest.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                "pytest_fixtures.test_first_uses_the_leaky_module_fixture": "passed",
                "pytest_fixtures.test_last_of_the_module": "passed",
                "TestWithClassFixture.test_one": "passed",
                "TestWithClassFixture.test_two": "passed",
                # The module's last test: pytest finalizes the module fixture in its teardown.
                "pytest_fixtures.test_after_the_class": "error",
            },
            self.pytest.output,
        )
        self.assertEqual(self.pytest.process.returncode, 1, self.pytest.output)

    def test_the_report_names_the_fixture(self) -> None:
        report = self.pytest.report("pytest_fixtures.test_after_the_class")
        self.assertIn("leaked by fixture 'module_leak' (module scope, pytest_fixtures.py)", report)
        self.assertIn("[Thread 'module-fixture-leak' (ident", report)
        self.assertRegex(self.pytest.process.stdout, r"PASSED pytest_fixtures\.py::test_after_the_class")

    def test_hubs_stopped_by_their_fixtures_are_never_reported(self) -> None:
        self.assertNotIn("session-hub", self.pytest.output)
        self.assertNotIn("class-hub", self.pytest.output)

    def test_a_package_fixture_leak_is_reported_against_it(self) -> None:
        run = self.package_scope
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        self.assertEqual(outcomes, {"pytest_first.test_first": "passed", "pytest_last.test_last": "error"}, run.output)
        report = run.report("pytest_last.test_last")
        self.assertIn("leaked by fixture 'package_leak' (package scope, package_scope)", report)
        self.assertIn("[Thread 'package-fixture-leak' (ident", report)
        self.assertNotIn("package-hub", run.output)

    def test_what_a_fixtures_server_makes_while_serving_a_test_is_the_fixtures(self) -> None:
        """The accepted connection, the handler task and the keep-alive timer of a module
        fixture's server (its loop in its thread) are not the first test's; nor is the
        worker thread a class fixture's thread cache starts for a test."""
        run = self.served
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                "pytest_served.test_first_request": "passed",
                "pytest_served.test_second_request": "passed",
                "TestThreadCache.test_first_needs_a_worker": "passed",
                "TestThreadCache.test_second_reuses_it": "passed",
            },
            run.output,
        )


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class FixtureOwnershipTest(unittest.TestCase):
    """One ownership model with unittest's class fixtures (pytest_fixture_ownership.py)."""

    owned: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.owned = shared_run("--leaktest", "pytest_fixture_ownership.py")

    def test_what_a_teardown_leaves_is_the_fixtures(self) -> None:
        self.assertEqual(self.owned.outcome("TestTeardownLeak.test_one"), "passed", self.owned.output)
        self.assertEqual(self.owned.outcome("TestTeardownLeak.test_two"), "error", self.owned.output)
        report = self.owned.report("TestTeardownLeak.test_two")
        self.assertIn("leaked by fixture 'teardown_leak' (class scope, ", report)
        self.assertIn("[Thread 'left-by-a-teardown' (ident", report)
        self.assertIn("from pytest_fixture_ownership.teardown_leak at ", report)

    def test_a_connection_its_server_keeps_after_the_test_closed_its_side_is_the_fixtures(self) -> None:
        self.assertEqual(self.owned.outcome("TestHeldConnection.test_closes_its_side"), "passed", self.owned.output)
        self.assertEqual(self.owned.outcome("TestHeldConnection.test_last"), "error", self.owned.output)
        report = self.owned.report("TestHeldConnection.test_last")
        self.assertIn("leaked by fixture 'holding_server' (class scope, ", report)
        self.assertIn("through socket.socket.accept", report)

    def test_a_file_a_fixture_opens_in_the_setup_of_a_test_is_not_the_tests(self) -> None:
        self.assertEqual(self.owned.outcome("TestScratchFile.test_first_use"), "passed", self.owned.output)
        self.assertEqual(self.owned.outcome("TestScratchFile.test_second_use"), "passed", self.owned.output)

    def test_a_fixture_finalized_by_a_parameter_change_leaves_the_next_tests_leak_to_it(self) -> None:
        self.assertEqual(self.owned.outcome("TestSwitchedParameter.test_leaks_with_the_second[first]"), "passed")
        name = "TestSwitchedParameter.test_leaks_with_the_second[second]"
        self.assertEqual(self.owned.outcome(name), "error", self.owned.output)
        self.assertIn("[Thread 'leaked-after-a-switch' (ident", self.owned.report(name))
        self.assertNotIn("leaked by fixture", self.owned.report(name))

    def test_a_fixture_set_up_inside_another_fixtures_setup_is_its_own(self) -> None:
        self.assertEqual(self.owned.outcome("TestNestedSetup.test_one"), "passed", self.owned.output)
        self.assertEqual(self.owned.outcome("TestNestedSetup.test_two"), "passed", self.owned.output)
        self.assertNotIn("set-up-inside-a-class-fixture", self.owned.output)

    def test_an_exception_of_a_fixtures_thread_during_a_test_is_the_fixtures(self) -> None:
        self.assertEqual(self.owned.outcome("TestFixtureThreadRaising.test_makes_it_raise"), "passed")
        self.assertEqual(self.owned.outcome("TestFixtureThreadRaising.test_last"), "error", self.owned.output)
        report = self.owned.report("TestFixtureThreadRaising.test_last")
        self.assertIn("leaked by fixture 'failing_worker' (class scope, ", report)
        self.assertIn("RuntimeError: the fixture's worker failed", report)


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class SettingsTest(unittest.TestCase):
    """The ini options and the command-line options."""

    ini_switch: Run
    command_line_ignores: Run
    by_flag: Run
    by_ini: Run
    by_both: Run
    bad_ini_switch: Run
    mode_warn: Run
    mode_warn_made_an_error: Run
    mode_off: Run
    mode_off_watched: Run
    bad_command_line_value: Run
    bad_ini_value: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.ini_switch = shared_run(
            "-o",
            "leaktest=true",
            "-o",
            "leaktest_ignore_threads=function-*",
            "-k",
            "test_leaks_thread or test_fails_and_leaks",
            "pytest_verdicts.py",
        )
        cls.command_line_ignores = shared_run(
            "--leaktest",
            "-o",
            "leaktest_ignore_threads=function-*",
            "--leaktest-ignore-thread=failing-*",
            "--leaktest-grace-period=0",
            "-k",
            "test_leaks_thread or test_fails_and_leaks",
            "pytest_verdicts.py",
        )
        cls.by_flag = shared_run(
            "--leaktest", "--no-leaktest-check-threads", "-k", "test_leaks_thread", "pytest_verdicts.py"
        )
        cls.by_ini = shared_run(
            "--leaktest", "-o", "leaktest_check_threads=false", "-k", "test_leaks_thread", "pytest_verdicts.py"
        )
        # The command line comes after the ini file.
        cls.by_both = shared_run(
            "--leaktest",
            "-o",
            "leaktest_check_threads=false",
            "--leaktest-check-threads",
            "-k",
            "test_leaks_thread",
            "pytest_verdicts.py",
        )
        cls.bad_ini_switch = shared_run("--leaktest", "-o", "leaktest_check_threads=sometimes", "pytest_verdicts.py")
        cls.mode_warn = shared_run(
            "--leaktest",
            "--leaktest-mode=warn",
            "--leaktest-grace-period=0",
            "-k",
            "test_leaks_thread",
            "pytest_verdicts.py",
        )
        cls.mode_warn_made_an_error = shared_run(
            "--leaktest",
            "--leaktest-mode=warn",
            "--leaktest-grace-period=0",
            "-W",
            "error::leaktest.LeakWarning",
            "-k",
            "test_leaks_thread",
            "pytest_verdicts.py",
        )
        cls.mode_off = shared_run("--leaktest", "--leaktest-mode=off", "-k", "test_leaks_thread", "pytest_verdicts.py")
        cls.mode_off_watched = shared_run("--leaktest", "--leaktest-mode=off", "-s", "pytest_watched.py")
        cls.bad_command_line_value = shared_run("--leaktest", "--leaktest-grace-period=-1", "pytest_verdicts.py")
        cls.bad_ini_value = shared_run("--leaktest", "-o", "leaktest_grace_period=soon", "pytest_verdicts.py")

    def test_the_ini_option_turns_the_check_on_and_adds_ignores(self) -> None:
        run = self.ini_switch
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "passed", run.output)
        self.assertEqual(run.outcome("pytest_verdicts.test_fails_and_leaks"), "failed+error", run.output)

    def test_command_line_ignores_add_to_the_ini_ones(self) -> None:
        run = self.command_line_ignores
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "passed", run.output)
        self.assertEqual(run.outcome("pytest_verdicts.test_fails_and_leaks"), "failed", run.output)

    def test_every_runner_option_is_a_flag_and_an_ini_option(self) -> None:
        self.assertEqual(self.by_flag.outcome("pytest_verdicts.test_leaks_thread"), "passed", self.by_flag.output)
        self.assertEqual(self.by_ini.outcome("pytest_verdicts.test_leaks_thread"), "passed", self.by_ini.output)
        self.assertEqual(self.by_both.outcome("pytest_verdicts.test_leaks_thread"), "error", self.by_both.output)

    def test_a_bad_ini_switch_is_a_usage_error(self) -> None:
        run = self.bad_ini_switch
        self.assertEqual(run.process.returncode, 4, run.output)
        self.assertIn("leaktest_check_threads", run.output)
        self.assertIn("'sometimes'", run.output)

    def test_mode_warn_reports_and_passes(self) -> None:
        run = self.mode_warn
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "passed", run.output)
        self.assertIn("LeakWarning: pytest_verdicts.py::test_leaks_thread leaked: Thread 'function-leak'", run.output)

    def test_mode_warn_made_an_error_fails_again(self) -> None:
        run = self.mode_warn_made_an_error
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "error", run.output)

    def test_mode_off_checks_nothing(self) -> None:
        run = self.mode_off
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "passed", run.output)
        self.assertNotIn("LeakWarning", run.output)

    def test_mode_off_puts_no_hook_in_place(self) -> None:
        """Nothing is ever checked: watching what the tests make would only cost."""
        run = self.mode_off_watched
        self.assertEqual(run.outcome("pytest_watched.test_prints_whether_sockets_are_watched"), "passed", run.output)
        self.assertIn("sockets watched: False", run.output)

    def test_a_bad_command_line_value_is_a_usage_error(self) -> None:
        run = self.bad_command_line_value
        self.assertEqual(run.process.returncode, 4, run.output)
        self.assertIn("--leaktest-grace-period", run.output)
        self.assertEqual(run.outcomes, {})

    def test_a_bad_ini_value_is_a_usage_error(self) -> None:
        run = self.bad_ini_value
        self.assertEqual(run.process.returncode, 4, run.output)
        self.assertIn("leaktest_grace_period", run.output)
        self.assertIn("'soon'", run.output)


class BadMarkerChecks:
    """Every bad marker is named at collection; no test runs."""

    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    pytest: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run(
            "--leaktest", *cls.args, "pytest_bad_marker.py", "pytest_bad_class_marker.py", needs=cls.needs
        )

    def test_bad_markers_are_collection_errors_naming_each(self) -> None:
        assert isinstance(self, unittest.TestCase)
        run = self.pytest
        self.assertNotEqual(run.process.returncode, 0, run.output)
        self.assertIn("ERROR collecting", run.output)
        self.assertNotIn("INTERNALERROR", run.output)
        self.assertNotIn("PASSED", run.output)
        self.assertIn(
            "@pytest.mark.leaktest on pytest_bad_marker.py::test_negative_grace: grace_period must be finite",
            run.output,
        )
        self.assertIn(
            "@pytest.mark.leaktest on pytest_bad_marker.py::test_bare_string: ignore_threads must be a list",
            run.output,
        )
        self.assertIn(
            "@pytest.mark.leaktest on pytest_bad_marker.py::test_unknown_option: unknown option 'grace'", run.output
        )
        # A bad marker on a class (read once for all its items) fails their collection, named once.
        on_the_class = "@pytest.mark.leaktest on pytest_bad_class_marker.py::TestUnderABadClassMarker: grace_period"
        error = run.output.split("ERROR collecting pytest_bad_class_marker.py", 1)[-1].split("\n_", 1)[0]
        self.assertEqual(error.split("\n=", 1)[0].count(on_the_class), 1, run.output)


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class BadMarkerTest(BadMarkerChecks, unittest.TestCase):
    pass


@unittest.skipUnless(HAVE_XDIST, f"pytest-xdist is not importable (set {PYTHON_ENV} to a python that has it)")
class XdistBadMarkerTest(BadMarkerChecks, unittest.TestCase):
    args = ("-n", "2")
    needs = ("xdist",)


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class NotEnabledTest(unittest.TestCase):
    """Loaded but not asked for: nothing is checked, nothing is patched."""

    pytest: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run("pytest_verdicts.py", "pytest_untouched.py")

    def test_leaky_tests_pass_and_the_standard_library_is_untouched(self) -> None:
        run = self.pytest
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "passed", run.output)
        self.assertEqual(run.outcome("pytest_verdicts.test_fails_and_leaks"), "failed", run.output)
        self.assertEqual(run.outcome("pytest_untouched.test_threading_is_not_patched"), "passed", run.output)
        self.assertEqual(run.outcome("pytest_untouched.test_the_engine_is_not_imported"), "passed", run.output)


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class InstalledTest(unittest.TestCase):
    """Installed, the package's pytest11 entry point loads the plugin; -p names the same one."""

    installed: tempfile.TemporaryDirectory[str]  # removed by tearDownModule, once the runs have ended
    by_entry_point: Run
    by_entry_point_and_p: Run
    not_asked_for: Run
    unrewritten: Run

    @classmethod
    def setUpClass(cls) -> None:
        if "installed" in vars(cls):
            return
        # What an installation leaves for importlib.metadata: a dist-info with setup.cfg's entry points.
        cls.installed = tempfile.TemporaryDirectory()
        path = cls.installed.name
        config = configparser.ConfigParser()
        config.read(ROOT / "setup.cfg")
        info = Path(path, "leaktest-0.0.dist-info")
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: leaktest\nVersion: 0.0\n")
        (info / "entry_points.txt").write_text(f"[pytest11]{config['options.entry_points']['pytest11']}\n")
        # Its files, which pytest marks for assertion rewriting: importlib.metadata lists
        # only those that exist, so the package is there too (a link to this tree's).
        (info / "RECORD").write_text("leaktest/__init__.py,,\n")
        Path(path, "leaktest").symlink_to(ROOT / "leaktest", target_is_directory=True)
        leaking = ("--leaktest", "-k", "test_leaks_thread", "pytest_verdicts.py")
        cls.by_entry_point = shared_run(*leaking, plugin=(), path=path)
        cls.by_entry_point_and_p = shared_run(*leaking, path=path)
        cls.not_asked_for = shared_run("pytest_verdicts.py", "pytest_untouched.py", plugin=(), path=path)
        cls.unrewritten = shared_run("--leaktest", "pytest_unrewritten.py", plugin=(), path=path)

    def test_the_entry_point_loads_the_plugin(self) -> None:
        run = self.by_entry_point
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "error", run.output)

    def test_naming_the_installed_plugin_with_p_is_no_conflict(self) -> None:
        run = self.by_entry_point_and_p
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "error", run.output)

    def test_installed_but_not_asked_for_it_changes_nothing(self) -> None:
        run = self.not_asked_for
        self.assertEqual(run.outcome("pytest_verdicts.test_leaks_thread"), "passed", run.output)
        self.assertEqual(run.outcome("pytest_untouched.test_threading_is_not_patched"), "passed", run.output)
        self.assertEqual(run.outcome("pytest_untouched.test_the_engine_is_not_imported"), "passed", run.output)

    def test_pytest_does_not_rewrite_the_engines_modules(self) -> None:
        # Rewritten, each would cost every run a second search and a source hash, and a
        # parse and a compile where pytest cannot write its cache.
        run = self.unrewritten
        test = "pytest_unrewritten.test_only_the_modules_imported_before_the_plugin_opts_out_are_rewritten"
        self.assertEqual(run.outcome(test), "passed", run.output)


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class UnittestCasesTest(unittest.TestCase):
    """TestCase classes collected by pytest are checked once."""

    pytest: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run("--leaktest", "pytest_unittest_cases.py")

    def test_each_test_has_its_verdict(self) -> None:
        outcomes = {name: outcome for name, (outcome, _) in self.pytest.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                "PlainCase.test_clean": "passed",
                "PlainCase.test_leaks": "failed",  # a FAIL, as under python -m leaktest; not again at teardown
                "PlainCaseWithClassFixture.test_passes": "error",  # its class fixture leaked
                "CheckedCase.test_own_ignores_hold": "passed",
                "CheckedCase.test_leaks_once": "failed",
            },
            self.pytest.output,
        )

    def test_the_reports(self) -> None:
        self.assertIn("Thread 'plain-case-leak'", self.pytest.report("PlainCase.test_leaks"))
        report = self.pytest.report("PlainCaseWithClassFixture.test_passes")
        self.assertIn("leaked by setUpClass/tearDownClass of PlainCaseWithClassFixture", report)
        self.assertIn("Thread 'setupclass-leak'", report)
        self.assertIn("Thread 'checked-case-leak'", self.pytest.report("CheckedCase.test_leaks_once"))


@unittest.skipUnless(
    HAVE_ASYNCIO_PLUGIN, f"pytest-asyncio is not importable (set {PYTHON_ENV} to a python that has it)"
)
class AsyncioTest(unittest.TestCase):
    """Tasks left pending on pytest-asyncio's loops, found before the loop's fixture cancels them."""

    pytest: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run("--leaktest", "pytest_asyncio_tasks.py", needs=("asyncio",))

    def test_each_test_has_its_verdict(self) -> None:
        outcomes = {name: outcome for name, (outcome, _) in self.pytest.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                "pytest_asyncio_tasks.test_clean": "passed",
                "pytest_asyncio_tasks.test_leaves_a_task_pending": "error",
                "pytest_asyncio_tasks.test_task_finishing_within_the_grace": "passed",
                "pytest_asyncio_tasks.test_module_loop_task": "error",
                "pytest_asyncio_tasks.test_module_loop_clean": "passed",
                "TestClassLoop.test_clean": "passed",
                "TestClassLoop.test_last_on_the_loop_leaves_a_task": "error",
            },
            self.pytest.output,
        )

    def test_the_reports_name_the_tasks(self) -> None:
        self.assertIn("[Task 'pending-task'", self.pytest.report("pytest_asyncio_tasks.test_leaves_a_task_pending"))
        self.assertIn("[Task 'module-loop-task'", self.pytest.report("pytest_asyncio_tasks.test_module_loop_task"))
        self.assertIn(
            "[Task 'class-loop-task'", self.pytest.report("TestClassLoop.test_last_on_the_loop_leaves_a_task")
        )

    def test_the_start_site_leads_to_the_test_not_to_the_plugin(self) -> None:
        report = self.pytest.report("pytest_asyncio_tasks.test_leaves_a_task_pending")
        self.assertRegex(report, r"created by pytest_asyncio_tasks\.test_leaves_a_task_pending at \S+:\d+\]")
        self.assertNotIn("pytest_asyncio.plugin", report)  # the plugin's runner is the framework


@unittest.skipUnless(HAVE_PYTEST, NEEDS_PYTEST)
class UnderWarningsErrorTest(unittest.TestCase):
    """`-W error` (a suite's `filterwarnings = error`): leaktest's own doings change no outcome."""

    checked: Run
    thread_raising: Run
    warn_mode: Run
    warn_mode_made_an_error: Run

    @classmethod
    def setUpClass(cls) -> None:
        # The suites' ini names pytest-asyncio's option, which these runs do not load.
        under_error = ("--leaktest", "-W", "error", "-W", "ignore:Unknown config option:pytest.PytestConfigWarning")
        suite = "pytest_under_warnings_error.py"
        cls.checked = shared_run(*under_error, suite)
        cls.thread_raising = shared_run(*under_error, "-p", "release_after_teardown", "pytest_thread_raising.py")
        cls.warn_mode = shared_run(*under_error, "--leaktest-mode=warn", suite)
        cls.warn_mode_made_an_error = shared_run(
            *under_error, "--leaktest-mode=warn", "-W", "error::leaktest.LeakWarning", suite
        )

    def test_what_the_checks_collection_finalizes_stays_with_the_test_checked(self) -> None:
        run = self.checked
        self.assertEqual(run.outcome("pytest_under_warnings_error.test_drops_a_socket_in_a_cycle"), "error", run.output)
        self.assertEqual(
            run.outcome("pytest_under_warnings_error.test_after_the_check_collected_it"), "passed", run.output
        )
        self.assertNotIn("PytestUnraisableExceptionWarning", run.output)

    def test_an_exception_raised_during_the_check_is_the_checked_tests(self) -> None:
        run = self.checked
        report = run.report("pytest_under_warnings_error.test_drops_a_socket_and_a_broken_finalizer_in_a_cycle")
        self.assertIn("raised by a finalizer the check's collection ran", report)
        self.assertEqual(
            run.outcome("pytest_under_warnings_error.test_after_the_broken_finalizer_ran"), "passed", run.output
        )

    def test_a_threads_exception_raised_during_the_check_is_the_checked_tests(self) -> None:
        run = self.thread_raising
        report = run.report("pytest_thread_raising.test_thread_raising_during_the_check")
        self.assertIn("raised by a thread while the check waited for it", report)
        self.assertEqual(run.outcome("pytest_thread_raising.test_after_the_thread_raised"), "passed", run.output)

    def test_a_socket_closed_by_the_checks_collection_is_reported_as_such(self) -> None:
        report = self.checked.report("pytest_under_warnings_error.test_drops_a_socket_in_a_cycle")
        self.assertRegex(
            report,
            r"\[Socket fd=\d+ \(AF_INET, SOCK_STREAM, not bound, not connected\) never closed: "
            r"dropped, then closed by the garbage collection leaktest ran",
        )
        self.assertNotIn("ResourceWarning", report)  # none was shown

    def test_warn_mode_passes_and_the_warning_is_in_the_summary(self) -> None:
        run = self.warn_mode
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        broken = "pytest_under_warnings_error.test_drops_a_socket_and_a_broken_finalizer_in_a_cycle"
        self.assertEqual(outcomes.pop(broken), "error", run.output)  # its finalizer raised, under -W error
        self.assertIn("raised by a finalizer the check's collection ran", run.report(broken))
        self.assertEqual(set(outcomes.values()), {"passed"}, run.output)
        self.assertRegex(
            run.process.stdout,
            r"warnings summary(.|\n)*LeakWarning: \S+test_leaks_thread leaked: Thread 'leak-under-warnings-error'",
        )

    def test_warn_mode_fails_when_leak_warnings_are_made_errors_by_name(self) -> None:
        run = self.warn_mode_made_an_error
        self.assertEqual(run.outcome("pytest_under_warnings_error.test_leaks_thread"), "error", run.output)


@unittest.skipUnless(HAVE_ANYIO, f"anyio is not importable (set {PYTHON_ENV} to a python that has it)")
class AnyioTest(unittest.TestCase):
    """Tasks left pending under anyio's plugin, found before anyio closes its loop."""

    pytest: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run("--leaktest", "pytest_anyio_tasks.py", needs=("anyio",))

    def test_each_test_has_its_verdict(self) -> None:
        run = self.pytest
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                "pytest_anyio_tasks.test_clean": "passed",
                "pytest_anyio_tasks.test_task_stopped_by_its_fixture": "passed",
                "pytest_anyio_tasks.test_leaves_a_task_pending": "error",
                "pytest_anyio_tasks.test_sync_with_the_backend_runs_its_own_loop": "passed",
            },
            run.output,
        )
        report = run.report("pytest_anyio_tasks.test_leaves_a_task_pending")
        self.assertIn("[Task 'anyio-pending-task'", report)
        self.assertNotIn("_call_in_runner_task", report)  # anyio's own machinery


@unittest.skipUnless(HAVE_UVLOOP, f"uvloop or anyio is not importable (set {PYTHON_ENV} to a python that has it)")
class UvloopTest(unittest.TestCase):
    """uvloop's loops, hooked once the suite imports uvloop (leaktest never does)."""

    pytest: Run

    @classmethod
    def setUpClass(cls) -> None:
        cls.pytest = shared_run("--leaktest", "pytest_uvloop.py", needs=("anyio",))

    def test_each_test_has_its_verdict(self) -> None:
        run = self.pytest
        outcomes = {name: outcome for name, (outcome, _) in run.outcomes.items()}
        self.assertEqual(
            outcomes,
            {
                "pytest_uvloop.test_clean_on_uvloop": "passed",
                "pytest_uvloop.test_leaves_a_task_pending_on_uvloop": "error",
                "pytest_uvloop.test_leaves_a_uvloop_loop_open": "error",
            },
            run.output,
        )
        self.assertIn("[Task 'uvloop-pending-task'", run.report("pytest_uvloop.test_leaves_a_task_pending_on_uvloop"))
        self.assertIn(
            "found asyncio event loops never closed:\n[Event loop #",
            run.report("pytest_uvloop.test_leaves_a_uvloop_loop_open"),
        )


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
