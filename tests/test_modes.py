"""fail, warn, off: what a leak does, and who decides (command line > environment > class)."""

from __future__ import annotations

import contextlib
import io
import unittest
import warnings

import leaktest
from hubs import Hub
from support import FAST, Started, report, run_tests, started_module, verdict
from test_runner import leaking, summary_line

MODES = "suites.sample_modes"


class ClassAttribute(leaktest.LeakCheckedTestCase):
    def leaking_case(self, mode: str) -> type[leaktest.LeakCheckedTestCase]:
        hub = Hub("mode-hub")
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            leak_mode = mode
            grace_period = 0

            def test(self) -> None:
                hub.start()

        return Inner

    def run_capturing(
        self, case: type[unittest.TestCase]
    ) -> tuple[unittest.TestResult, list[warnings.WarningMessage], str]:
        stderr = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
            warnings.simplefilter("always")
            result = run_tests(case, "test")
        return result, caught, stderr.getvalue()

    def test_warn_passes_reports_to_stderr_and_warns(self) -> None:
        result, caught, stderr = self.run_capturing(self.leaking_case("warn"))
        self.assertEqual(verdict(result), "ok")
        self.assertEqual([w.category for w in caught], [leaktest.LeakWarning])
        self.assertIn("Thread 'mode-hub'", str(caught[0].message))
        self.assertIn("(warn mode: not a failure)", stderr)
        self.assertIn("[Thread 'mode-hub' (ident", stderr)  # the full entry
        self.assertIn("started by", stderr)

    def test_leak_warning_is_shown_by_default(self) -> None:
        self.assertTrue(issubclass(leaktest.LeakWarning, UserWarning))
        self.assertFalse(issubclass(leaktest.LeakWarning, (ResourceWarning, DeprecationWarning)))

    def test_warning_made_an_error_fails_the_test_as_fail_mode_does(self) -> None:
        stderr = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stderr(stderr):
            warnings.simplefilter("error", leaktest.LeakWarning)
            result = run_tests(self.leaking_case("warn"), "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("leaktest.report.LeakError: found unexpected threads:", report(result))
        self.assertEqual(stderr.getvalue(), "")

    def test_every_warning_made_an_error_still_passes_and_warns(self) -> None:
        """`-W error` (a suite's `filterwarnings = error`) does not name LeakWarning: warn mode stays warn."""
        stderr = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
            warnings.simplefilter("error")
            result = run_tests(self.leaking_case("warn"), "test")
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertEqual([w.category for w in caught], [leaktest.LeakWarning])
        self.assertIn("(warn mode: not a failure)", stderr.getvalue())

    def test_off_checks_nothing(self) -> None:
        result, caught, stderr = self.run_capturing(self.leaking_case("off"))
        self.assertEqual(verdict(result), "ok")
        self.assertEqual((caught, stderr), ([], ""))

    def test_fail_is_the_default(self) -> None:
        self.assertEqual(verdict(run_tests(self.leaking_case("fail"), "test")), "FAIL")

    def test_bad_mode_fails_at_class_definition(self) -> None:
        with self.assertRaises(ValueError) as caught:
            type("BadMode", (leaktest.LeakCheckedTestCase,), {"leak_mode": "loud"})
        self.assertIn("BadMode", str(caught.exception))
        self.assertIn("leak_mode", str(caught.exception))

    def test_no_leaks_warns_in_warn_mode_too(self) -> None:
        hub = Hub("guarded-mode-hub")
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            leak_mode = "off"  # the class's own check is off; the block's is not

            def test(self) -> None:
                with self.assertRaises(leaktest.LeakError):
                    with leaktest.no_leaks(grace_period=0):
                        hub.start()

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")


class Precedence(unittest.TestCase):
    """Runner option, then LEAKTEST_MODE, then the class attribute, then fail."""

    runs: dict[str, Started]

    @classmethod
    def setUpClass(cls) -> None:
        """Start every run at once, so that they overlap."""
        if "runs" in vars(cls):
            return
        cls.runs = {
            "class attribute": started_module("leaktest", *FAST, MODES),
            "environment warn": started_module("leaktest", *FAST, MODES, LEAKTEST_MODE="warn"),
            "environment fail": started_module("leaktest", *FAST, MODES, LEAKTEST_MODE="fail"),
            "environment off": started_module("leaktest", *FAST, MODES, LEAKTEST_MODE="off"),
            "warn over fail": started_module("leaktest", "--mode", "warn", *FAST, MODES, LEAKTEST_MODE="fail"),
            "fail over off": started_module("leaktest", "--mode", "fail", *FAST, MODES, LEAKTEST_MODE="off"),
            "plain unittest": started_module("unittest", f"{MODES}.WarnsByClass", LEAKTEST_MODE="fail"),
            "warnings made errors": started_module(
                "leaktest", "--mode", "warn", *FAST, MODES, PYTHONWARNINGS="error::leaktest.LeakWarning"
            ),
            "bad environment": started_module("leaktest", *FAST, MODES, LEAKTEST_MODE="loud"),
            "bad option": started_module("leaktest", "--mode", "loud", MODES),
        }

    def test_class_attribute_alone(self) -> None:
        checked = self.runs["class attribute"].result()
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertEqual(leaking(checked.stderr), [f"{MODES}.PlainLeak.test_leaks"])
        self.assertIn("1 leak warned in 1 test", summary_line(checked.stderr))
        self.assertIn(
            f"leaktest: leaking (warn mode, not failed):\n  {MODES}.WarnsByClass.test_leaks\n", checked.stderr
        )

    def test_environment_turns_the_suite_to_warn(self) -> None:
        checked = self.runs["environment warn"].result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("2 leaks warned in 2 tests", summary_line(checked.stderr))
        self.assertIn("LeakWarning", checked.stderr)

    def test_environment_beats_the_class_attribute(self) -> None:
        checked = self.runs["environment fail"].result()
        self.assertEqual(len(leaking(checked.stderr)), 2, checked.stderr)

    def test_environment_off_checks_nothing(self) -> None:
        checked = self.runs["environment off"].result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertNotIn("Leak", checked.stderr)

    def test_command_line_beats_the_environment(self) -> None:
        checked = self.runs["warn over fail"].result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        checked = self.runs["fail over off"].result()
        self.assertEqual(len(leaking(checked.stderr)), 2, checked.stderr)

    def test_environment_applies_under_plain_unittest(self) -> None:
        checked = self.runs["plain unittest"].result()
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertIn("FAIL: test_leaks", checked.stderr)

    def test_dash_w_error_turns_warnings_back_into_failures(self) -> None:
        checked = self.runs["warnings made errors"].result()
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertEqual(len(leaking(checked.stderr)), 2, checked.stderr)

    def test_bad_values_are_clear_errors(self) -> None:
        checked = self.runs["bad environment"].result()
        self.assertNotEqual(checked.returncode, 0)
        self.assertIn("LEAKTEST_MODE: leak_mode must be one of fail, warn, off, not 'loud'", checked.stderr)
        checked = self.runs["bad option"].result()
        self.assertEqual(checked.returncode, 2, checked.stderr)


def start_runs() -> None:
    Precedence.setUpClass()


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()


class OffWatchesNothing(unittest.TestCase):
    """With `off` forced on every check, no hook is in place: nothing is ever checked,
    so watching would only cost (a socket, a task, a thread made)."""

    WATCHED = "suites.sample_watched"

    def watched(self, *args: str, **env: str) -> str:
        run = started_module("leaktest", *args, self.WATCHED, **env).result()
        self.assertEqual(run.returncode, 0, run.stderr)
        return run.stdout.strip()

    def test_off_in_the_environment(self) -> None:
        self.assertEqual(self.watched(LEAKTEST_MODE="off"), "sockets watched: False")

    def test_off_on_the_command_line(self) -> None:
        self.assertEqual(self.watched("--mode", "off"), "sockets watched: False")

    def test_another_mode_on_the_command_line_over_off_in_the_environment(self) -> None:
        self.assertEqual(self.watched("--mode", "fail", LEAKTEST_MODE="off"), "sockets watched: True")

    def test_any_other_mode(self) -> None:
        self.assertEqual(self.watched("--mode", "warn"), "sockets watched: True")
