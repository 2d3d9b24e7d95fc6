"""leaktest with the TestCase families suites already use, each against the real framework.

Django, tornado, aiohttp and Twisted (and pytest, pytest-django) are test-only
dependencies: the suites in tests/family_suites run in a subprocess with the
python named by LEAKTEST_FAMILIES_PYTHON (a venv that has them), else with this
python, and a family's tests are skipped when its framework cannot be imported
there (CI's families step fails when they are).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

import leaktest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SUITES = HERE / "family_suites"
PYTHON_ENV = "LEAKTEST_FAMILIES_PYTHON"
# What the suites leak on purpose is waited for 0.05 s, not the default 1.0 s (their
# leak-checked classes say so too): the tests answer in seconds.
FAST = ("--grace-period", "0.05")


def families_python() -> str:
    return os.environ.get(PYTHON_ENV) or sys.executable


@functools.cache
def importable(module: str) -> bool:
    """Whether `module` imports in the python that runs the family suites."""
    if not os.environ.get(PYTHON_ENV):
        return importlib.util.find_spec(module) is not None
    check = subprocess.run([families_python(), "-c", f"import {module}"], capture_output=True)
    return check.returncode == 0


def needs(module: str) -> Callable[[Any], Any]:
    """Skip the decorated test (or class) unless `module` is importable."""
    return unittest.skipUnless(
        importable(module), f"{module} is not importable (set {PYTHON_ENV} to a python that has it)"
    )


# unittest's verbose line: "test_x (module.Class.test_x) ... ok", the description
# (trial's tests have one) on a line of its own before the dots.
UNITTEST_VERDICT = re.compile(r"^(\w+) \(([\w.]+)\)(?:\n.*)? \.\.\. (ok|FAIL|ERROR)$", re.MULTILINE)
# trial's tree reporter: the class on a line, then "  test_x ...   [OK]" under it.
TRIAL_VERDICT = re.compile(r"^ +(\w+) \.\.\. +\[(\w+)\]$", re.MULTILINE)


class Run:
    """One run of a family suite in a subprocess: its exit status, output and verdicts."""

    def __init__(self, *args: str, cwd: Path = SUITES, django_settings: str = "") -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKTEST_", "DJANGO_"))}
        environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(SUITES), str(cwd)])
        if django_settings:  # for pytest-django
            environment["DJANGO_SETTINGS_MODULE"] = django_settings
        self.process = subprocess.run(
            [families_python(), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
        )
        self.output = self.process.stdout + self.process.stderr

    def verdicts(self) -> dict[str, str]:
        """Class.test -> ok, FAIL or ERROR, from unittest's verbose lines."""
        return {_short(name, test_id): verdict for name, test_id, verdict in UNITTEST_VERDICT.findall(self.output)}

    def report(self, test: str, kind: str = "FAIL|ERROR") -> str:
        """The text unittest printed under the test's FAIL or ERROR headings (`kind`)."""
        sections = re.split(r"^={20,}$", self.output, flags=re.MULTILINE)
        heading = re.compile(rf"\n(?:{kind}): (\w+) \(([\w.]+)\)")
        found = ((heading.match(section), section) for section in sections)
        return "".join(section for match, section in found if match and _short(*match.groups()) == test)


def _short(name: str, test_id: str) -> str:
    """Class.test, from unittest's "test (module.Class.test)" (3.11+) or "test (module.Class)"."""
    parts = test_id.split(".")
    return f"{parts[-2] if parts[-1] == name else parts[-1]}.{name}"


class FamilyCase(unittest.TestCase):
    maxDiff = None

    def assert_verdicts(self, run: Run, expected: dict[str, str]) -> None:
        verdicts = run.verdicts()
        self.assertEqual({test: verdicts.get(test) for test in expected}, expected, run.output)
        self.assertEqual(run.process.returncode, 1, run.output)

    def assert_reported(self, run: Run, test: str, thread: str) -> None:
        """The test's FAIL names the leaked thread, and no other test's report does."""
        self.assertIn(f"[Thread '{thread}'", run.report(test), run.output)
        # Reported once; the short summary repeats the message in full where CI is set (pytest 8+).
        reports = run.output.split("short test summary info")[0]
        self.assertEqual(reports.count(f"[Thread '{thread}'"), 1, run.output)


class WrongBaseClass(unittest.TestCase):
    """The sync base class with an IsolatedAsyncioTestCase family would report the
    family's own loop: the class statement fails, naming the class to use."""

    def test_leak_checked_test_case_with_an_asyncio_test_case_is_rejected(self) -> None:
        with self.assertRaises(TypeError) as raised:

            class Mixed(leaktest.LeakCheckedTestCase, unittest.IsolatedAsyncioTestCase):
                pass

        message = str(raised.exception)
        self.assertIn("Mixed", message)
        self.assertIn("leaktest.LeakCheckedAsyncTestCase", message)


@needs("tornado")
class Tornado(FamilyCase):
    """AsyncTestCase and AsyncHTTPTestCase: pending tasks are checked on the test's IOLoop before
    tornado's tearDown cancels them, the rest after it (it closes the IOLoop) and the cleanups."""

    def test_base_class_first(self) -> None:
        run = Run("-m", "unittest", "-v", "tornado_suite")
        self.assert_verdicts(
            run,
            {
                "TornadoChecked.test_clean": "ok",
                "TornadoChecked.test_leaks_thread": "FAIL",
                "TornadoChecked.test_leaks_task": "FAIL",
                "TornadoChecked.test_awaits_its_task": "ok",
                "TornadoTearDownChecked.test_task_cancelled_by_tear_down": "ok",
                "TornadoHTTPChecked.test_clean_fetch": "ok",
                "TornadoHTTPChecked.test_leaks_thread": "FAIL",
            },
        )
        self.assert_reported(run, "TornadoChecked.test_leaks_thread", "tornado-thread-leak")
        self.assert_reported(run, "TornadoHTTPChecked.test_leaks_thread", "tornado-http-thread-leak")

    def test_a_pending_task_is_reported_before_tornado_cancels_it(self) -> None:
        run = Run("-m", "unittest", "-v", "tornado_suite")
        self.assertIn("[Task 'tornado-task-leak'", run.report("TornadoChecked.test_leaks_task"), run.output)
        self.assertEqual(run.output.count("tornado-task-leak"), 1, run.output)

    def test_runner_on_unchanged_tests(self) -> None:
        run = Run("-m", "leaktest", *FAST, "-v", "plain_tornado")
        self.assert_verdicts(
            run,
            {
                "TornadoPlain.test_clean": "ok",
                "TornadoPlain.test_leaks_thread": "FAIL",
                "TornadoPlain.test_leaks_task": "FAIL",
            },
        )
        self.assert_reported(run, "TornadoPlain.test_leaks_thread", "tornado-plain-leak")
        self.assertIn("[Task 'tornado-plain-task-leak'", run.report("TornadoPlain.test_leaks_task"), run.output)


@needs("aiohttp")
class Aiohttp(FamilyCase):
    """AioHTTPTestCase, an IsolatedAsyncioTestCase: checked after asyncTearDown closed its server and client."""

    def test_base_class_first(self) -> None:
        run = Run("-m", "unittest", "-v", "aiohttp_suite")
        self.assert_verdicts(
            run,
            {
                "AiohttpChecked.test_clean_request": "ok",
                "AiohttpChecked.test_leaks_thread": "FAIL",
                "AiohttpChecked.test_leaks_task": "FAIL",
            },
        )
        self.assert_reported(run, "AiohttpChecked.test_leaks_thread", "aiohttp-thread-leak")
        self.assertIn("[Task 'aiohttp-task-leak'", run.report("AiohttpChecked.test_leaks_task"), run.output)

    def test_runner_on_unchanged_tests(self) -> None:
        run = Run("-m", "leaktest", *FAST, "-v", "plain_aiohttp")
        self.assert_verdicts(run, {"AiohttpPlain.test_clean": "ok", "AiohttpPlain.test_leaks_thread": "FAIL"})
        self.assert_reported(run, "AiohttpPlain.test_leaks_thread", "aiohttp-plain-leak")


@needs("twisted")
class Trial(FamilyCase):
    """SynchronousTestCase runs its own way (no doCleanups): checked at the end of its tearDown."""

    def test_base_class_first_under_unittest(self) -> None:
        run = Run("-m", "unittest", "-v", "trial_suite")
        self.assert_verdicts(run, {"TrialChecked.test_clean": "ok", "TrialChecked.test_leaks_thread": "FAIL"})
        self.assert_reported(run, "TrialChecked.test_leaks_thread", "trial-thread-leak")
        self.assertIn("FAILED (failures=2, errors=1)", run.output)

    def test_a_failing_tear_down_keeps_its_error_and_the_leak_fails(self) -> None:
        run = Run("-m", "unittest", "-v", "trial_suite")
        test = "TrialChecked.test_tear_down_fails_and_leaks"
        self.assertIn("RuntimeError: tearDown fails on purpose", run.report(test, "ERROR"), run.output)
        self.assertIn("[Thread 'trial-teardown-leak'", run.report(test, "FAIL"), run.output)

    def test_base_class_first_under_trial(self) -> None:
        with tempfile.TemporaryDirectory() as scratch:  # trial's _trial_temp, out of the tree
            run = Run("-m", "twisted.trial", f"--temp-directory={scratch}/_trial_temp", "trial_suite")
        verdicts = dict(TRIAL_VERDICT.findall(run.output))
        self.assertEqual(
            verdicts,
            {"test_clean": "OK", "test_leaks_thread": "FAIL", "test_tear_down_fails_and_leaks": "FAIL"},
            run.output,
        )
        self.assertEqual(run.output.count("[Thread 'trial-thread-leak'"), 1, run.output)
        self.assertEqual(run.process.returncode, 1, run.output)

    def test_the_asynchronous_test_case_is_rejected(self) -> None:
        """trial's TestCase tears down in the reactor, after its tearDown returns: no place to check."""
        run = Run(
            "-c",
            "import leaktest, twisted.trial.unittest as t\nclass Deferred(leaktest.LeakCheckedTestCase, t.TestCase): pass",
        )
        self.assertEqual(run.process.returncode, 1, run.output)
        self.assertIn("TypeError: Deferred is a twisted.trial.unittest.TestCase", run.output)
        self.assertIn("leaktest checks trial's SynchronousTestCase only", run.output)

    def test_runner_on_unchanged_tests(self) -> None:
        run = Run("-m", "leaktest", *FAST, "-v", "plain_trial")
        self.assert_verdicts(run, {"TrialPlain.test_clean": "ok", "TrialPlain.test_leaks_thread": "FAIL"})
        self.assert_reported(run, "TrialPlain.test_leaks_thread", "trial-plain-leak")
        self.assertIn("leaktest: 2 tests run, 1 leak found in 1 test", run.output)


@needs("django")
class Django(FamilyCase):
    """SimpleTestCase, TestCase and TransactionTestCase under `manage.py test`: fixtures,
    settings and transactions keep working, and the check follows Django's own teardown."""

    def test_base_class_first_under_manage_py_test(self) -> None:
        run = Run("manage.py", "test", "-v", "2", cwd=SUITES / "django_project")
        self.assert_verdicts(
            run,
            {
                "SimpleChecked.test_clean": "ok",
                "SimpleChecked.test_leaks_thread": "FAIL",
                "DatabaseChecked.test_clean": "ok",
                "DatabaseChecked.test_rolled_back": "ok",
                "DatabaseChecked.test_clean_async": "ok",
                "DatabaseChecked.test_leaks_thread": "FAIL",
                "TransactionChecked.test_clean_query": "ok",
                "TransactionChecked.test_leaks_thread": "FAIL",
            },
        )
        self.assert_reported(run, "TransactionChecked.test_leaks_thread", "django-transaction-thread-leak")
        # The connection a TransactionTestCase's test opened is closed by Django's own
        # teardown, after unittest's run(): the check follows it.
        self.assertNotIn("file descriptors", run.output)
        self.assert_reported(run, "SimpleChecked.test_leaks_thread", "django-simple-thread-leak")
        self.assert_reported(run, "DatabaseChecked.test_leaks_thread", "django-db-thread-leak")


class UnderPytest(FamilyCase):
    """`pytest --leaktest` (the plugin checks every item after its teardown) on unchanged tests."""

    # pytest -rA: "PASSED file.py::Class::test" or "FAILED file.py::Class::test - ..."
    VERDICT = re.compile(r"^(PASSED|FAILED|ERROR) [\w/]+\.py::(\w+)::(\w+)", re.MULTILINE)

    def pytest(self, suite: str, **where: Any) -> tuple[Run, dict[str, str]]:
        run = Run(
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "leaktest.pytest_plugin",
            "--leaktest",
            "-o",
            "leaktest_grace_period=0.05",
            "-rA",
            suite,
            **where,
        )
        return run, {f"{cls}.{test}": verdict for verdict, cls, test in self.VERDICT.findall(run.output)}

    def assert_plain_suite(self, suite: str, cls: str, thread: str, *more_leaking: str) -> None:
        run, verdicts = self.pytest(suite)
        expected = {f"{cls}.test_clean": "PASSED", f"{cls}.test_leaks_thread": "FAILED"}
        expected.update((f"{cls}.{test}", "FAILED") for test in more_leaking)
        self.assertEqual(verdicts, expected, run.output)
        # Reported once; the short summary repeats the message in full where CI is set (pytest 8+).
        reports = run.output.split("short test summary info")[0]
        self.assertEqual(reports.count(f"[Thread '{thread}'"), 1, run.output)
        self.assertEqual(run.process.returncode, 1, run.output)

    @needs("pytest")
    @needs("tornado")
    def test_tornado(self) -> None:
        self.assert_plain_suite("plain_tornado.py", "TornadoPlain", "tornado-plain-leak", "test_leaks_task")

    @needs("pytest")
    @needs("aiohttp")
    def test_aiohttp(self) -> None:
        self.assert_plain_suite("plain_aiohttp.py", "AiohttpPlain", "aiohttp-plain-leak")

    @needs("pytest")
    @needs("twisted")
    def test_trial(self) -> None:
        self.assert_plain_suite("plain_trial.py", "TrialPlain", "trial-plain-leak")

    @needs("pytest_django")
    def test_django(self) -> None:
        """pytest-django calls a test as Django's runner does: checked after Django's teardown too."""
        run, verdicts = self.pytest("leakapp/plain_tests.py", cwd=SUITES / "django_project", django_settings="settings")
        expected = {
            "DatabasePlain.test_clean": "PASSED",
            "DatabasePlain.test_leaks_thread": "FAILED",
            "TransactionPlain.test_clean_query": "PASSED",
        }
        self.assertEqual(verdicts, expected, run.output)
        reports = run.output.split("short test summary info")[0]
        self.assertEqual(reports.count("[Thread 'django-plain-leak'"), 1, run.output)


if __name__ == "__main__":
    unittest.main()
