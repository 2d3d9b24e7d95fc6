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
from concurrent.futures import Future

import leaktest
from leaktest import runner
from support import FAST, ROOT, Started, report, run_in_turn, started, started_module, wait_for_started


def started_leaktest(*args: str, **env: str) -> Started:
    """`python -m leaktest args` in tests/, started at once (`support.started_module`)."""
    return started_module("leaktest", *args, **env)


def start_runs() -> None:
    """Start the runs of every class at once, so that they overlap."""
    for case in (
        ArgumentFormsTest,
        ExitStatusTest,
        LeaksReportedTest,
        CheckedSubclassTest,
        OptionsTest,
        SocketsAndHandlesTest,
        DiagnosticsTest,
        StackDepthTest,
    ):
        case.setUpClass()


def tearDownModule() -> None:
    wait_for_started()


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
        (("-k", "no_test_has_this_name", "suites.sample_clean"), 0),  # 3.12+: status 5
    ]
    if sys.version_info >= (3, 12):
        FORMS.append((("--durations", "2", "suites.sample_clean"), 5))

    forms: list[tuple[Started, Started]]
    durations: Started
    clean: Started
    buffered: Started
    discovered_verbose: Started

    @classmethod
    def setUpClass(cls) -> None:
        cls.forms = [(started_module("unittest", *args), started_leaktest(*args)) for args, _ in cls.FORMS]
        if sys.version_info >= (3, 12):
            cls.durations = started_leaktest("--durations", "0", "suites.sample_clean")
        cls.clean = started_leaktest("suites.sample_clean")
        cls.buffered = started_leaktest("-b", "suites.sample_clean")
        cls.discovered_verbose = started_leaktest("discover", "-v", "-s", "suites", "-p", "sample_clean*.py", "-t", ".")

    def test_same_tests_and_status_as_unittest(self) -> None:
        for (args, count), (plain_run, checked_run) in zip(self.FORMS, self.forms):
            plain, checked = plain_run.result(), checked_run.result()
            with self.subTest(args=args):
                self.assertEqual(tests_ran(plain.stderr), count, plain.stderr)
                self.assertEqual(tests_ran(checked.stderr), count, checked.stderr)
                self.assertEqual(checked.returncode, plain.returncode, checked.stderr)
                self.assertIn(f"leaktest: {count} test", checked.stderr)
                self.assertEqual(leaking(checked.stderr), [])

    def test_durations_where_unittest_has_it(self) -> None:
        if sys.version_info < (3, 12):
            self.skipTest("unittest has --durations from 3.12")
        checked = self.durations.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("Slowest test durations", checked.stderr)

    def test_buffer_hides_output_of_passing_tests(self) -> None:
        self.assertIn("output that -b buffers", self.clean.result().stdout)
        self.assertNotIn("output that -b buffers", self.buffered.result().stdout)

    def test_every_test_is_checked(self) -> None:
        """Under -v every test has its counts line: the check ran for each one."""
        checked = self.discovered_verbose.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        counts = re.findall(r"^    counts before -> after: threads \d+ -> \d+", checked.stderr, re.MULTILINE)
        self.assertEqual(len(counts), 7, checked.stderr)


class ExitStatusTest(unittest.TestCase):
    clean: Started
    plain_leak_unchecked: Started
    plain_leak: Started

    @classmethod
    def setUpClass(cls) -> None:
        cls.clean = started_leaktest(*FAST, "suites.sample_clean")
        cls.plain_leak_unchecked = started_module("unittest", f"{LEAKY}.PlainLeak")
        cls.plain_leak = started_leaktest(*FAST, f"{LEAKY}.PlainLeak")

    def test_zero_without_a_leak(self) -> None:
        checked = self.clean.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("leaktest: 5 tests run, 0 leaks found,", checked.stderr)

    def test_non_zero_when_only_a_leak_fails(self) -> None:
        plain = self.plain_leak_unchecked.result()
        checked = self.plain_leak.result()
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertIn("FAILED (failures=1)", checked.stderr)


class LeaksReportedTest(unittest.TestCase):
    """The leaky samples, unchanged, under the runner."""

    leaky: Started
    thread_exception: Started

    @classmethod
    def setUpClass(cls) -> None:
        cls.leaky = started_leaktest(*FAST, LEAKY, "suites.sample_module_leak", "suites.sample_module_setup_fails")
        cls.thread_exception = started_leaktest("suites.sample_thread_exception")

    @property
    def output(self) -> str:
        return self.leaky.result().stderr

    @property
    def returncode(self) -> int:
        return self.leaky.result().returncode

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
        output = self.thread_exception.result().stderr
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
    NAME = f"{LEAKY}.CheckedSubclass.test_leaks_ignored_thread"
    verbose: Started
    whole_class: Started

    @classmethod
    def setUpClass(cls) -> None:
        cls.verbose = started_leaktest(*FAST, cls.NAME, LEAKTEST_VERBOSE="1")
        cls.whole_class = started_leaktest(*FAST, f"{LEAKY}.CheckedSubclass")

    def test_checked_once_with_its_own_settings(self) -> None:
        name = self.NAME
        checked = self.verbose.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(checked.stderr.count(f"leaktest: {name}: counts before -> after:"), 1, checked.stderr)
        self.assertNotIn("own-ignore-1", checked.stderr)

    def test_its_ignores_hold_for_the_module_check(self) -> None:
        checked = self.whole_class.result()
        self.assertEqual(leaking(checked.stderr), [], checked.stderr)


class OptionsTest(unittest.TestCase):
    DISCOVER_PLAIN_LEAK = ("discover", "-s", "suites", "-p", "sample_leaky.py", "-t", ".", "-k", "PlainLeak")
    LEAKING_TEST = f"{LEAKY}.PlainLeak.test_leaks_thread"
    BAD = [
        ("--grace-period", "-1"),
        ("--grace-period", "nan"),
        ("--grace-period", "inf"),
        ("--grace-period", "soon"),
        ("--grace-period",),
        ("--ignore-thread", ""),
        ("--grace-period=-1", "discover", "-s", "suites"),
    ]
    ignore_thread: Started
    ignore_other_thread: Started
    ignore_top_function: Started
    ignore_any_function: Started
    ignore_task: Started
    discovered: Started
    ignore_before_discover: Started
    ignore_after_discover: Started
    short_grace: Started
    long_grace: Started
    straggler: Started
    clean: Started
    bad: list[Started]
    help: Started

    @classmethod
    def setUpClass(cls) -> None:
        cls.ignore_thread = started_leaktest(*FAST, "--ignore-thread", "plain-*", f"{LEAKY}.PlainLeak")
        cls.ignore_other_thread = started_leaktest(*FAST, "--ignore-thread", "other-*", f"{LEAKY}.PlainLeak")
        cls.ignore_top_function = started_leaktest(
            *FAST, "--ignore-top-function", "suites.sample_leaky.hold", f"{LEAKY}.PlainLeak"
        )
        cls.ignore_any_function = started_leaktest(
            *FAST, "--ignore-any-function=suites.sample_leaky.hold", f"{LEAKY}.PlainLeak"
        )
        cls.ignore_task = started_leaktest(*FAST, "--ignore-task", "async-task-*", f"{LEAKY}.AsyncLeak.test_leaks_task")
        cls.discovered = started_leaktest(*FAST, *cls.DISCOVER_PLAIN_LEAK)
        cls.ignore_before_discover = started_leaktest(*FAST, "--ignore-thread", "plain-*", *cls.DISCOVER_PLAIN_LEAK)
        cls.ignore_after_discover = started_leaktest(*cls.DISCOVER_PLAIN_LEAK, "--ignore-thread", "plain-*", *FAST)
        cls.short_grace = started_leaktest(*FAST, cls.LEAKING_TEST)
        cls.long_grace = started_leaktest("--grace-period", "0.4", cls.LEAKING_TEST)
        cls.straggler = started_leaktest("--grace-period", "30", "suites.sample_straggler")
        cls.clean = started_leaktest("suites.sample_clean")
        cls.bad = [started_leaktest(*args, "suites.sample_clean") for args in cls.BAD]
        cls.help = started_leaktest("--help")

    def test_ignore_thread(self) -> None:
        checked = self.ignore_thread.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_thread_does_not_ignore_others(self) -> None:
        checked = self.ignore_other_thread.result()
        self.assertEqual(checked.returncode, 1, checked.stderr)

    def test_ignore_top_function(self) -> None:
        checked = self.ignore_top_function.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_any_function(self) -> None:
        checked = self.ignore_any_function.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_task(self) -> None:
        checked = self.ignore_task.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_options_before_discover(self) -> None:
        self.assertEqual(self.discovered.result().returncode, 1)
        checked = self.ignore_before_discover.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(tests_ran(checked.stderr), 2)

    def test_options_after_discover(self) -> None:
        checked = self.ignore_after_discover.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_grace_period_is_waited_and_summed(self) -> None:
        short = re.search(r"([\d.]+)s spent", summary_line(self.short_grace.result().stderr))
        long = re.search(r"([\d.]+)s spent", summary_line(self.long_grace.result().stderr))
        assert short is not None and long is not None
        self.assertGreaterEqual(float(short.group(1)), 0.04)
        self.assertLess(float(short.group(1)), 0.4)
        self.assertGreaterEqual(float(long.group(1)), 0.39)

    def test_slowest_straggler_is_named(self) -> None:
        checked = self.straggler.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertRegex(
            checked.stderr,
            r"leaktest: slowest straggler: \d+\.\d{3}s after the cleanups of "
            r"suites\.sample_straggler\.Straggler\.test_thread_ends_during_the_check\n",
        )

    def test_no_straggler_line_when_nothing_was_waited_for(self) -> None:
        checked = self.clean.result()
        self.assertNotIn("slowest straggler", checked.stderr)

    def test_bad_options_are_usage_errors(self) -> None:
        for args, run in zip(self.BAD, self.bad):
            checked = run.result()
            with self.subTest(args=args):
                self.assertEqual(checked.returncode, 2, checked.stderr)
                self.assertRegex(checked.stderr, r"(?m)^usage: ")
                self.assertRegex(checked.stderr, r"--grace-period|--ignore-thread")
                self.assertNotIn("Traceback", checked.stderr)
                self.assertNotIn("Ran ", checked.stderr)

    def test_help(self) -> None:
        checked = self.help.result()
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
    sample: Started
    implicit_loop: Started
    switched_off: Started
    ignored_before_discover: Started

    @classmethod
    def setUpClass(cls) -> None:
        cls.sample = started_leaktest(*FAST, cls.SAMPLE)
        if sys.version_info < (3, 14):
            cls.implicit_loop = started_leaktest(*FAST, "suites.sample_implicit_loop")
        cls.switched_off = started_leaktest(*FAST, "--no-check-sockets", "--no-check-handles", cls.SAMPLE)
        cls.ignored_before_discover = started_leaktest(
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

    def test_an_unchanged_suite_leaking_a_socket_and_a_timer(self) -> None:
        checked = self.sample.result()
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertEqual(
            leaking(checked.stderr),
            [f"{self.SAMPLE}.SocketLeak.test_leaks_socket", f"{self.SAMPLE}.TimerLeak.test_leaks_timer"],
        )
        self.assertIn("listening on 127.0.0.1:", checked.stderr)
        self.assertIn("[Timer suites.sample_sockets.reconnect() (call_later/call_at, due in", checked.stderr)

    @unittest.skipIf(sys.version_info >= (3, 14), "3.14+: get_event_loop() no longer creates a loop")
    def test_the_loop_get_event_loop_creates_implicitly_is_the_processs(self) -> None:
        checked = self.implicit_loop.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(tests_ran(checked.stderr), 2)

    def test_switched_off(self) -> None:
        checked = self.switched_off.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)

    def test_ignore_socket_and_switches_before_discover(self) -> None:
        checked = self.ignored_before_discover.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertEqual(tests_ran(checked.stderr), 2)


class DiagnosticsTest(unittest.TestCase):
    BASELINE_COUNTS_SAMPLE = "suites.sample_clean.Alpha.test_select_me"  # reads them when told to
    verbose: Started
    plain_leak: Started
    baseline_counts_unchecked: Started
    baseline_counts: Started
    inner_verbose: Future[subprocess.CompletedProcess[str]]
    inner_quiet: Future[subprocess.CompletedProcess[str]]

    @classmethod
    def setUpClass(cls) -> None:
        cls.verbose = started_leaktest(*FAST, "-v", f"{LEAKY}.PlainLeak")
        cls.plain_leak = started_leaktest(*FAST, f"{LEAKY}.PlainLeak")
        told = {"SAMPLE_EXPECT_BASELINE_COUNTS": "1"}
        cls.baseline_counts_unchecked = started_module("unittest", cls.BASELINE_COUNTS_SAMPLE, **told)
        cls.baseline_counts = started_leaktest(cls.BASELINE_COUNTS_SAMPLE, **told)
        cls.inner_verbose = started(functools.partial(cls.run_inner, "1"))
        cls.inner_quiet = started(functools.partial(cls.run_inner, "0"))

    def test_verbose_runner_prints_counts_under_each_test(self) -> None:
        checked = self.verbose.result()
        self.assertRegex(
            checked.stderr,
            r"test_leaks_thread \(suites\.sample_leaky\.PlainLeak[^\n]*\.\.\. FAIL\n"
            r"    counts before -> after: threads (\d+) -> (\d+), ",
        )
        self.assertRegex(
            checked.stderr, r"test_clean \(suites\.sample_leaky\.PlainLeak[^\n]*\.\.\. ok\n    counts before"
        )

    def test_counts_not_printed_without_verbose(self) -> None:
        checked = self.plain_leak.result()
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

    @classmethod
    def run_inner(cls, verbose: str) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "LEAKTEST_VERBOSE": verbose}
        return run_in_turn([sys.executable, "-c", cls.INNER_SCRIPT], cwd=ROOT, env=environment)

    def test_environment_variable_prints_counts_of_base_class_tests(self) -> None:
        completed = self.inner_verbose.result()
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertRegex(
            completed.stderr,
            r"leaktest: __main__\.Inner\.test_it: counts before -> after: threads \d+ -> \d+",
        )

    def test_quiet_without_the_environment_variable(self) -> None:
        completed = self.inner_quiet.result()
        self.assertEqual((completed.returncode, completed.stderr), (0, ""))

    def test_baseline_counts_attribute(self) -> None:
        seen: dict[str, int] = {}
        release = threading.Event()

        class Inner(leaktest.LeakCheckedTestCase):
            def test_it(self) -> None:
                seen.update(self.leaktest_baseline_counts)

        thread = threading.Thread(target=release.wait)
        thread.start()
        try:
            Inner("test_it").run(unittest.TestResult())
        finally:
            release.set()
            thread.join()
        self.assertGreaterEqual(seen["threads"], 2)

    def test_baseline_counts_under_the_runner(self) -> None:
        plain = self.baseline_counts_unchecked.result()
        self.assertEqual(plain.returncode, 1, plain.stderr)
        checked = self.baseline_counts.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)


class StackDepthTest(unittest.TestCase):
    """Under the runner, a test's stack holds as few of leaktest's frames as it can: asyncio's
    debug mode (every IsolatedAsyncioTestCase runs in it) records the whole stack each
    time a Future or a Task is made, and every frame below the test is paid again there."""

    plain: Started
    checked: Started

    @classmethod
    def setUpClass(cls) -> None:
        cls.plain = started_module("unittest", "suites.sample_stack_depth")
        cls.checked = started_leaktest("suites.sample_stack_depth")

    @staticmethod
    def depths(output: str) -> dict[str, tuple[int, list[str]]]:
        found = re.findall(r"^depth (\w+) (\d+) (.*)$", output, re.MULTILINE)
        return {kind: (int(depth), [] if own == "-" else own.split()) for kind, depth, own in found}

    def test_only_a_sync_tests_wrapper_is_leaktests(self) -> None:
        # The summary is printed after the runner's run, not by it (`leaktest_finish`).
        plain, checked = self.plain.result(), self.checked.result()
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("leaktest: 2 tests run, 0 leaks found", checked.stderr)
        plain_depths, checked_depths = self.depths(plain.stdout), self.depths(checked.stdout)
        expected: dict[str, list[str]] = {"async": [], "sync": ["runner.py:__call__"]}
        for kind, own in expected.items():
            with self.subTest(kind=kind):
                depth, frames = checked_depths[kind]
                self.assertEqual(frames, own)
                self.assertEqual(depth, plain_depths[kind][0] + len(own))


class InProcessTest(unittest.TestCase):
    """`runner.prepare` on a suite built here: what the subprocess tests rely on."""

    def test_prepare_leaves_classes_unchanged(self) -> None:
        class Plain(unittest.TestCase):
            def test_it(self) -> None:
                pass

        test = Plain("test_it")
        runner.prepare(unittest.TestSuite([test]), leaktest_settings())
        runner.prepare(test, leaktest_settings())  # as pytest prepares a TestCase item
        self.assertIs(type(test), Plain)
        self.assertNotIn("run", vars(Plain))
        self.assertIn("run", vars(test))

    def test_a_test_is_prepared_when_its_suite_reaches_it(self) -> None:
        """Not before: what a test is given would be garbage collection's to traverse until then."""
        release = threading.Event()
        self.addCleanup(release.set)
        seen: list[bool] = []

        class Plain(unittest.TestCase):
            def test_first(self) -> None:
                seen.append("run" in vars(second))

            def test_second(self) -> None:
                threading.Thread(target=release.wait, name="second-leak").start()

        second = Plain("test_second")
        suite = unittest.TestSuite([Plain("test_first"), second])
        runner.prepare(suite, leaktest_settings())
        self.assertNotIn("run", vars(second))
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual(seen, [False])
        self.assertEqual([test for test, _ in result.failures], [second])
        self.assertIn("[Thread 'second-leak'", report(result))

    def test_a_test_that_ran_keeps_nothing_of_leaktest(self) -> None:
        """The result keeps skipped and failed tests to the end of the run: nothing of
        leaktest's with them, for every garbage collection to traverse until then."""
        release = threading.Event()
        self.addCleanup(release.set)

        class Plain(unittest.TestCase):
            @unittest.skip("skipped")
            def test_skipped(self) -> None:
                pass

            def test_leaking(self) -> None:
                threading.Thread(target=release.wait, name="kept-leak").start()

        plain_skipped = Plain("test_skipped")
        plain_skipped.run(unittest.TestResult())
        skipped, leaking = Plain("test_skipped"), Plain("test_leaking")
        suite = unittest.TestSuite([skipped, leaking])
        runner.prepare(suite, leaktest_settings())
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual([test for test, _ in result.skipped], [skipped])
        self.assertEqual([test for test, _ in result.failures], [leaking])
        self.assertIn("[Thread 'kept-leak'", report(result))
        for test in (skipped, leaking):
            self.assertEqual(sorted(vars(test)), sorted(vars(plain_skipped)), test)

    def test_a_suite_with_its_own_run_has_its_tests_prepared_at_once(self) -> None:
        release = threading.Event()
        self.addCleanup(release.set)

        class OwnRun(unittest.TestSuite):
            def run(self, result: unittest.TestResult, debug: bool = False) -> unittest.TestResult:
                for test in self:
                    test(result)
                return result

        class Plain(unittest.TestCase):
            def test_it(self) -> None:
                threading.Thread(target=release.wait, name="own-run-leak").start()

        suite = OwnRun([Plain("test_it")])
        runner.prepare(suite, leaktest_settings())
        result = unittest.TestResult()
        suite.run(result)
        self.assertIn("[Thread 'own-run-leak'", report(result))

    def test_does_not_wrap_checked_subclasses(self) -> None:
        class Checked(leaktest.LeakCheckedTestCase):
            def test_it(self) -> None:
                pass

        test = Checked("test_it")
        runner.prepare(unittest.TestSuite([test]), leaktest_settings())
        self.assertNotIn("run", vars(test))


def leaktest_settings() -> leaktest.settings.Settings:
    return leaktest.settings.from_options("test", grace_period=0.05)


start_runs()  # when imported: discovery imports every module before any test runs, so the runs overlap them all


if __name__ == "__main__":
    unittest.main()
