"""The base classes under pytest and pytest-xdist, run in a subprocess on a sample suite.

pytest and pytest-xdist are test-only dependencies: these tests run with the
python named by LEAKTEST_PYTEST_PYTHON (a venv that has them), else with this
python, and are skipped when pytest (or xdist) cannot be imported there.
"""

from __future__ import annotations

import os
import subprocess
import unittest

import support
from support import PYTHON_ENV, ROOT, TESTS, PytestRun, importable

SAMPLE = "suites/pytest_sample.py"


HAVE_PYTEST = importable("pytest")
HAVE_XDIST = HAVE_PYTEST and importable("xdist")

# test id -> (outcome, text that must be in its report). A test that fails and
# leaks is "failed" in its call and has the leak as an error at teardown: pytest
# reports each further error of a unittest test that way.
EXPECTED = {
    "Plain.test_clean": ("passed", ""),
    "Plain.test_ignored": ("passed", ""),
    "Plain.test_leaks": ("failed", "[Thread 'pytest-plain-leak' (ident"),
    "Plain.test_fails_and_leaks": ("failed+error", "[Thread 'pytest-failing-leak' (ident"),
    "Async.test_clean": ("passed", ""),
    "Async.test_leaks_task": ("failed", "[Task 'pytest-task-leak'"),
    "Async.test_leaks_thread": ("failed", "[Thread 'pytest-async-thread-leak' (ident"),
}


def run_pytest(*args: str, needs: tuple[str, ...] = ()) -> PytestRun:
    """Start pytest on the sample."""
    return PytestRun(["-o", "addopts=", *args, SAMPLE], TESTS, [str(ROOT), str(TESTS)], needs)


def start_runs() -> None:
    """Both runs start at once: each class waits for its own."""
    for case in (PytestTest, PytestXdistTest):
        if not getattr(case, "__unittest_skip__", False):
            case.pytest_run = run_pytest(*case.args, needs=case.needs)


def tearDownModule() -> None:
    """Wait for a run no test selected read."""
    for case in (PytestTest, PytestXdistTest):
        if "pytest_run" in vars(case):
            case.pytest_run.finished()


class PytestChecks:
    """Shared by the pytest and the pytest-xdist runs."""

    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    pytest_run: PytestRun
    process: subprocess.CompletedProcess[str]
    outcomes: support.Outcomes

    @classmethod
    def setUpClass(cls) -> None:
        cls.process, cls.outcomes = cls.pytest_run.finished()

    def test_each_test_has_its_outcome(self: unittest.TestCase | PytestChecks) -> None:
        assert isinstance(self, unittest.TestCase) and isinstance(self, PytestChecks)
        output = self.process.stdout + self.process.stderr
        self.assertEqual(self.process.returncode, 1, output)
        self.assertEqual(
            {name: outcome for name, (outcome, _) in self.outcomes.items()},
            {name: outcome for name, (outcome, _) in EXPECTED.items()},
            output,
        )

    def test_the_report_is_there(self: unittest.TestCase | PytestChecks) -> None:
        assert isinstance(self, unittest.TestCase) and isinstance(self, PytestChecks)
        for name, (_, text) in EXPECTED.items():
            with self.subTest(test=name):
                report = self.outcomes.get(name, ("", ""))[1]
                if text:
                    self.assertIn(text, report)
                    self.assertIn("counts before -> after: threads ", report)
                    self.assertIn("pytest_sample.py", report)  # where it was started
                else:
                    self.assertEqual(report, "")
        self.assertIn("fails on purpose", self.outcomes["Plain.test_fails_and_leaks"][1])

    def test_no_leaktest_frames_in_the_traceback(self: unittest.TestCase | PytestChecks) -> None:
        assert isinstance(self, unittest.TestCase) and isinstance(self, PytestChecks)
        output = self.process.stdout
        self.assertIn("LeakError", output)
        for module in ("case.py", "check.py", "runner.py", "guards.py", "report.py"):
            self.assertNotIn(f"leaktest{os.sep}{module}", output)

    def test_summary_lines(self: unittest.TestCase | PytestChecks) -> None:
        assert isinstance(self, unittest.TestCase) and isinstance(self, PytestChecks)
        output = self.process.stdout
        self.assertRegex(output, r"PASSED suites/pytest_sample\.py::Plain::test_clean")
        self.assertRegex(
            output,
            r"FAILED suites/pytest_sample\.py::Plain::test_leaks - leaktest\.report\.LeakError: found unexpected threads",
        )


@unittest.skipUnless(HAVE_PYTEST, f"pytest is not importable (set {PYTHON_ENV} to a python that has it)")
class PytestTest(PytestChecks, unittest.TestCase):
    args = ()


@unittest.skipUnless(HAVE_XDIST, f"pytest-xdist is not importable (set {PYTHON_ENV} to a python that has it)")
class PytestXdistTest(PytestChecks, unittest.TestCase):
    """Two worker processes, each checking the tests it runs."""

    args = ("-n", "2", "-v")
    needs = ("xdist",)

    def test_both_workers_ran_tests(self) -> None:
        output = self.process.stdout
        self.assertRegex(output, r"\[gw0\] .*(PASSED|FAILED)")
        self.assertRegex(output, r"\[gw1\] .*(PASSED|FAILED)")


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
