"""`python -m leaktest`: unittest's command line, every test of an unchanged suite checked.

Each test runs the runner (and, to compare, `python -m unittest`) in a subprocess
on the sample suites of tests/suites/, whose leaked threads are daemons blocked
for good: they end with that subprocess.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
import unittest

import leaktest
from leaktest import runner
from support import FAST, ROOT, concurrently, leaktest_run, run_module


def tests_ran(output: str) -> int:
    found = re.search(r"^Ran (\d+) tests? in ", output, re.MULTILINE)
    if found is None:
        raise AssertionError(f"no 'Ran N tests' line in:\n{output}")
    return int(found.group(1))


def leaking(output: str, what: str = "leaking tests") -> list[str]:
    """The names one list of the runner's summary holds ("leaking tests", "leaking fixtures", ...)."""
    _, marker, rest = output.partition(f"leaktest: {what}:\n")
    if not marker:
        return []
    names = []
    for line in rest.splitlines():
        if not line.startswith("  "):
            break
        names.append(line[2:])
    return names


def summary_line(output: str) -> str:
    found = re.search(r"^leaktest: \d+ tests? run, .*$", output, re.MULTILINE)
    if found is None:
        raise AssertionError(f"no leaktest summary in:\n{output}")
    return found.group(0)


LEAKY = "suites.sample_leaky"


class ArgumentFormsTest(unittest.TestCase):
    """The runner finds and runs what `python -m unittest` does, for each argument form."""

    FORMS: list[tuple[tuple[str, ...], int]] = [
        (("discover", "-s", "suites", "-p", "sample_clean*.py", "-t", "."), 7),
        (("discover", "suites", "sample_clean*.py", "."), 7),
        (("discover", "--start-directory", "suites", "--pattern", "sample_clean.py", "-t", "."), 5),
        (("suites.sample_clean",), 5),
        (("suites.sample_clean", "suites.sample_clean_other"), 7),
        (("suites.sample_clean.Alpha",), 3),
        (("suites.sample_clean.Alpha.test_one",), 1),
        (("suites/sample_clean.py",), 5),
        (("-k", "select_me", "suites.sample_clean"), 2),
        (("discover", "-s", "suites", "-p", "sample_clean*.py", "-t", ".", "-k", "four"), 1),
        (("-v", "suites.sample_clean"), 5),
        (("discover", "-v", "-s", "suites", "-p", "sample_clean.py", "-t", "."), 5),
        (("-q", "suites.sample_clean"), 5),
        (("-b", "suites.sample_clean"), 5),
        (("-c", "suites.sample_clean"), 5),
        (("--locals", "suites.sample_clean"), 5),
        (("suites.sample_failing",), 3),
        (("-f", "suites.sample_failing"), 1),
    ]
    if sys.version_info >= (3, 12):
        FORMS.append((("--durations", "2", "suites.sample_clean"), 5))

    def test_same_tests_and_status_as_unittest(self) -> None:
        modules = ("unittest", "leaktest")
        runs = concurrently(
            [functools.partial(run_module, module, *args) for args, _ in self.FORMS for module in modules]
        )
        for (args, count), plain, checked in zip(self.FORMS, runs[::2], runs[1::2]):
            with self.subTest(args=args):
                self.assertEqual(tests_ran(plain.stderr), count, plain.stderr)
                self.assertEqual(tests_ran(checked.stderr), count, checked.stderr)
                self.assertEqual(checked.returncode, plain.returncode, checked.stderr)
                self.assertIn(f"leaktest: {count} test", checked.stderr)
                self.assertEqual(leaking(checked.stderr), [])

    def test_durations_where_unittest_has_it(self) -> None:
        if sys.version_info < (3, 12):
            self.skipTest("unittest has --durations from 3.12")
        checked = leaktest_run("--durations", "0", "suites.sample_clean")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("Slowest test durations", checked.stderr)

    def test_buffer_hides_output_of_passing_tests(self) -> None:
        self.assertIn("output that -b buffers", leaktest_run("suites.sample_clean").stdout)
        self.assertNotIn("output that -b buffers", leaktest_run("-b", "suites.sample_clean").stdout)

    def test_every_test_is_checked(self) -> None:
        """Under -v every test has its counts line: the check ran for each one."""
        checked = leaktest_run("discover", "-v", "-s", "suites", "-p", "sample_clean*.py", "-t", ".")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        counts = re.findall(r"^    counts before -> after: threads \d+ -> \d+", checked.stderr, re.MULTILINE)
        self.assertEqual(len(counts), 7, checked.stderr)


class ExitStatusTest(unittest.TestCase):
    def test_zero_without_a_leak(self) -> None:
        checked = leaktest_run(*FAST, "suites.sample_clean")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("leaktest: 5 tests run, 0 leaks found,", checked.stderr)

    def test_non_zero_when_only_a_leak_fails(self) -> None:
        plain = run_module("unittest", f"{LEAKY}.PlainLeak")
        checked = leaktest_run(*FAST, f"{LEAKY}.PlainLeak")
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertIn("FAILED (failures=1)", checked.stderr)


class LeaksReportedTest(unittest.TestCase):
    """The leaky samples, unchanged, under the runner."""

    output = ""
    returncode = -1

    @classmethod
    def setUpClass(cls) -> None:
        process = leaktest_run(*FAST, LEAKY, "suites.sample_module_leak", "suites.sample_module_setup_fails")
        cls.output = process.stderr
        cls.returncode = process.returncode

    def test_exactly_the_leaking_tests_and_fixtures_are_listed(self) -> None:
        self.assertEqual(self.returncode, 1, self.output)
        self.assertEqual(
            sorted(leaking(self.output)),
            sorted(
                [
                    f"{LEAKY}.PlainLeak.test_leaks_thread",
                    f"{LEAKY}.AsyncLeak.test_leaks_thread",
                    f"{LEAKY}.AsyncLeak.test_leaks_task",
                    f"{LEAKY}.SetUpFails.test_never_runs",
                ]
            ),
            self.output,
        )
        self.assertEqual(
            sorted(leaking(self.output, "leaking fixtures")),
            sorted(
                [
                    f"tearDownClass ({LEAKY}.ClassFixtureLeak)",
                    "tearDownModule (suites.sample_module_leak)",
                    "setUpModule (suites.sample_module_setup_fails)",
                ]
            ),
            self.output,
        )

    def test_plain_test_case(self) -> None:
        self.assertRegex(self.output, r"FAIL: test_leaks_thread \(suites\.sample_leaky\.PlainLeak")
        self.assertIn("[Thread 'plain-leak' (ident", self.output)
        self.assertIn("with suites.sample_leaky.hold on top of the stack", self.output)

    def test_isolated_asyncio_test_case(self) -> None:
        self.assertRegex(self.output, r"FAIL: test_leaks_thread \(suites\.sample_leaky\.AsyncLeak")
        self.assertIn("[Thread 'async-thread-leak'", self.output)
        self.assertRegex(self.output, r"FAIL: test_leaks_task \(suites\.sample_leaky\.AsyncLeak")
        self.assertIn("[Task 'async-task-leak'", self.output)

    def test_set_up_failure_is_still_checked(self) -> None:
        self.assertRegex(self.output, r"ERROR: test_never_runs \(suites\.sample_leaky\.SetUpFails")
        self.assertIn("RuntimeError: setUp fails on purpose", self.output)
        self.assertRegex(self.output, r"FAIL: test_never_runs \(suites\.sample_leaky\.SetUpFails")
        self.assertIn("[Thread 'setup-leak'", self.output)

    def test_class_fixture(self) -> None:
        self.assertIn(f"ERROR: tearDownClass ({LEAKY}.ClassFixtureLeak)", self.output)
        self.assertIn("[Thread 'class-fixture-leak'", self.output)

    def test_module_fixtures(self) -> None:
        self.assertIn("ERROR: tearDownModule (suites.sample_module_leak)", self.output)
        self.assertIn("[Thread 'module-fixture-leak'", self.output)
        self.assertIn("ERROR: setUpModule (suites.sample_module_setup_fails)", self.output)
        self.assertIn("RuntimeError: setUpModule fails on purpose", self.output)
        self.assertIn("[Thread 'failed-module-leak'", self.output)

    def test_no_leaktest_frames_in_the_report(self) -> None:
        self.assertNotIn(os.sep + os.path.join("leaktest", "check.py"), self.output)
        self.assertNotIn(os.sep + os.path.join("leaktest", "runner.py"), self.output)
        self.assertNotIn(os.sep + os.path.join("leaktest", "case.py"), self.output)

    def test_summary(self) -> None:
        self.assertRegex(
            summary_line(self.output),
            r"^leaktest: 9 tests run, 7 leaks found in 4 tests and 3 fixtures, "
            r"\d+\.\d{3}s spent waiting in grace periods$",
        )

    def test_exceptions_are_not_counted_as_leaks(self) -> None:
        output = leaktest_run("suites.sample_thread_exception").stderr
        self.assertRegex(
            summary_line(output),
            r"^leaktest: 1 test run, 0 leaks found, 1 exception not caught \(in threads or tasks\) in 1 test, ",
        )
        self.assertEqual(leaking(output), [], output)
        self.assertEqual(
            leaking(output, "exceptions not caught in"),
            ["suites.sample_thread_exception.ThreadRaises.test_thread_raises"],
            output,
        )


class CheckedSubclassTest(unittest.TestCase):
    def test_checked_once_with_its_own_settings(self) -> None:
        name = f"{LEAKY}.CheckedSubclass.test_leaks_ignored_thread"
        checked = leaktest_run(*FAST, name, LEAKTEST_VERBOSE="1")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(checked.stderr.count(f"leaktest: {name}: counts before -> after:"), 1, checked.stderr)
        self.assertNotIn("own-ignore-1", checked.stderr)

    def test_its_ignores_hold_for_the_module_check(self) -> None:
        checked = leaktest_run(*FAST, f"{LEAKY}.CheckedSubclass")
        self.assertEqual(leaking(checked.stderr), [], checked.stderr)


class OptionsTest(unittest.TestCase):
    def test_ignore_thread(self) -> None:
        checked = leaktest_run(*FAST, "--ignore-thread", "plain-*", f"{LEAKY}.PlainLeak")
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_thread_does_not_ignore_others(self) -> None:
        checked = leaktest_run(*FAST, "--ignore-thread", "other-*", f"{LEAKY}.PlainLeak")
        self.assertEqual(checked.returncode, 1, checked.stderr)

    def test_ignore_top_function(self) -> None:
        checked = leaktest_run(*FAST, "--ignore-top-function", "suites.sample_leaky.hold", f"{LEAKY}.PlainLeak")
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_any_function(self) -> None:
        checked = leaktest_run(*FAST, "--ignore-any-function=suites.sample_leaky.hold", f"{LEAKY}.PlainLeak")
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_task(self) -> None:
        checked = leaktest_run(*FAST, "--ignore-task", "async-task-*", f"{LEAKY}.AsyncLeak.test_leaks_task")
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_options_before_discover(self) -> None:
        args = ("discover", "-s", "suites", "-p", "sample_leaky.py", "-t", ".", "-k", "PlainLeak")
        self.assertEqual(leaktest_run(*FAST, *args).returncode, 1)
        checked = leaktest_run(*FAST, "--ignore-thread", "plain-*", *args)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(tests_ran(checked.stderr), 2)

    def test_options_after_discover(self) -> None:
        checked = leaktest_run(
            "discover",
            "-s",
            "suites",
            "-p",
            "sample_leaky.py",
            "-t",
            ".",
            "-k",
            "PlainLeak",
            "--ignore-thread",
            "plain-*",
            *FAST,
        )
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_grace_period_is_waited_and_summed(self) -> None:
        name = f"{LEAKY}.PlainLeak.test_leaks_thread"
        short = re.search(r"([\d.]+)s spent", summary_line(leaktest_run(*FAST, name).stderr))
        long = re.search(r"([\d.]+)s spent", summary_line(leaktest_run("--grace-period", "0.4", name).stderr))
        assert short is not None and long is not None
        self.assertGreaterEqual(float(short.group(1)), 0.04)
        self.assertLess(float(short.group(1)), 0.4)
        self.assertGreaterEqual(float(long.group(1)), 0.39)

    def test_slowest_straggler_is_named(self) -> None:
        checked = leaktest_run("--grace-period", "30", "suites.sample_straggler")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertRegex(
            checked.stderr,
            r"leaktest: slowest straggler: \d+\.\d{3}s after the cleanups of "
            r"suites\.sample_straggler\.Straggler\.test_thread_ends_during_the_check\n",
        )

    def test_no_straggler_line_when_nothing_was_waited_for(self) -> None:
        checked = leaktest_run("suites.sample_clean")
        self.assertNotIn("slowest straggler", checked.stderr)

    def test_bad_options_are_usage_errors(self) -> None:
        bad = [
            ("--grace-period", "-1"),
            ("--grace-period", "nan"),
            ("--grace-period", "inf"),
            ("--grace-period", "soon"),
            ("--grace-period",),
            ("--ignore-thread", ""),
            ("--grace-period=-1", "discover", "-s", "suites"),
        ]
        runs = concurrently([functools.partial(leaktest_run, *args, "suites.sample_clean") for args in bad])
        for args, checked in zip(bad, runs):
            with self.subTest(args=args):
                self.assertEqual(checked.returncode, 2, checked.stderr)
                self.assertRegex(checked.stderr, r"(?m)^usage: ")
                self.assertRegex(checked.stderr, r"--grace-period|--ignore-thread")
                self.assertNotIn("Traceback", checked.stderr)
                self.assertNotIn("Ran ", checked.stderr)

    def test_help(self) -> None:
        checked = leaktest_run("--help")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        for text in (
            "python -m leaktest",
            "--grace-period SECONDS",
            "--ignore-thread GLOB",
            "--ignore-task GLOB",
            "--ignore-top-function FUNC",
            "--ignore-any-function FUNC",
            "--ignore-socket GLOB",
            "--check-sockets, --no-check-sockets",
            "--check-fds, --no-check-fds",
            "-k TESTNAMEPATTERNS",
            "--failfast",
            "discover",
            "Exit status",
        ):
            self.assertIn(text, checked.stdout)


class SocketsAndHandlesTest(unittest.TestCase):
    SAMPLE = "suites.sample_sockets"

    def test_an_unchanged_suite_leaking_a_socket_and_a_timer(self) -> None:
        checked = leaktest_run(*FAST, self.SAMPLE)
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertEqual(
            leaking(checked.stderr),
            [f"{self.SAMPLE}.SocketLeak.test_leaks_socket", f"{self.SAMPLE}.TimerLeak.test_leaks_timer"],
        )
        self.assertIn("listening on 127.0.0.1:", checked.stderr)
        self.assertIn("[Timer suites.sample_sockets.reconnect() (call_later/call_at, due in", checked.stderr)

    @unittest.skipIf(sys.version_info >= (3, 14), "3.14+: get_event_loop() no longer creates a loop")
    def test_the_loop_get_event_loop_creates_implicitly_is_the_processs(self) -> None:
        checked = leaktest_run(*FAST, "suites.sample_implicit_loop")
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(tests_ran(checked.stderr), 2)

    def test_switched_off(self) -> None:
        checked = leaktest_run(*FAST, "--no-check-sockets", "--no-check-handles", self.SAMPLE)
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_socket_and_switches_before_discover(self) -> None:
        checked = leaktest_run(
            *FAST,
            "--ignore-socket",
            "127.0.0.1:*",
            "--no-check-handles",
            "discover",
            "-s",
            "suites",
            "-p",
            "sample_sockets.py",
            "-t",
            ".",
        )
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(tests_ran(checked.stderr), 2)


class DiagnosticsTest(unittest.TestCase):
    def test_verbose_runner_prints_counts_under_each_test(self) -> None:
        checked = leaktest_run(*FAST, "-v", f"{LEAKY}.PlainLeak")
        self.assertRegex(
            checked.stderr,
            r"test_leaks_thread \(suites\.sample_leaky\.PlainLeak[^\n]*\.\.\. FAIL\n"
            r"    counts before -> after: threads (\d+) -> (\d+), ",
        )
        self.assertRegex(
            checked.stderr, r"test_clean \(suites\.sample_leaky\.PlainLeak[^\n]*\.\.\. ok\n    counts before"
        )

    def test_counts_not_printed_without_verbose(self) -> None:
        checked = leaktest_run(*FAST, f"{LEAKY}.PlainLeak")
        self.assertNotIn("    counts before -> after", checked.stderr)

    # The variable is read once, when leaktest is imported: hence a subprocess.
    INNER_SCRIPT = (
        "import unittest, leaktest\n"
        "class Inner(leaktest.LeakCheckedTestCase):\n"
        "    def test_it(self): pass\n"
        "result = unittest.TestResult()\n"
        "Inner('test_it').run(result)\n"
        "raise SystemExit(0 if result.wasSuccessful() else 1)\n"
    )

    def run_inner(self, verbose: str) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "LEAKTEST_VERBOSE": verbose}
        return subprocess.run(
            [sys.executable, "-c", self.INNER_SCRIPT],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_environment_variable_prints_counts_of_base_class_tests(self) -> None:
        completed = self.run_inner("1")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertRegex(
            completed.stderr,
            r"leaktest: __main__\.Inner\.test_it: counts before -> after: threads \d+ -> \d+",
        )

    def test_quiet_without_the_environment_variable(self) -> None:
        completed = self.run_inner("0")
        self.assertEqual((completed.returncode, completed.stderr), (0, ""))

    def test_baseline_counts_attribute(self) -> None:
        seen: dict[str, int] = {}
        release = threading.Event()

        class Inner(leaktest.LeakCheckedTestCase):
            def test_it(self) -> None:
                seen.update(self.leaktest_baseline_counts)  # type: ignore[attr-defined]

        thread = threading.Thread(target=release.wait)
        thread.start()
        try:
            Inner("test_it").run(unittest.TestResult())
        finally:
            release.set()
            thread.join()
        self.assertGreaterEqual(seen["threads"], 2)

    def test_baseline_counts_under_the_runner(self) -> None:
        # The sample reads self.leaktest_baseline_counts when told to.
        name = "suites.sample_clean.Alpha.test_select_me"
        plain = run_module("unittest", name, SAMPLE_EXPECT_BASELINE_COUNTS="1")
        self.assertEqual(plain.returncode, 1, plain.stderr)
        checked = leaktest_run(name, SAMPLE_EXPECT_BASELINE_COUNTS="1")
        self.assertEqual(checked.returncode, 0, checked.stderr)


class InProcessTest(unittest.TestCase):
    """`runner.prepare` on a suite built here: what the subprocess tests rely on."""

    def test_prepare_leaves_classes_unchanged(self) -> None:
        class Plain(unittest.TestCase):
            def test_it(self) -> None:
                pass

        suite = unittest.TestSuite([Plain("test_it")])
        runner.prepare(suite, leaktest_settings())
        (test,) = list(suite)
        self.assertIs(type(test), Plain)
        self.assertNotIn("run", vars(Plain))
        self.assertIn("run", vars(test))

    def test_does_not_wrap_checked_subclasses(self) -> None:
        class Checked(leaktest.LeakCheckedTestCase):
            def test_it(self) -> None:
                pass

        test = Checked("test_it")
        runner.prepare(unittest.TestSuite([test]), leaktest_settings())
        self.assertNotIn("run", vars(test))


def leaktest_settings() -> leaktest.settings.Settings:
    return leaktest.settings.from_options("test", grace_period=0.05)


if __name__ == "__main__":
    unittest.main()
