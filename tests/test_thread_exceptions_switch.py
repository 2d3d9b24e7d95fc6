"""check_thread_exceptions: a thread that died of an uncaught exception fails the test, by default."""

from __future__ import annotations

import contextlib
import io
import threading
import unittest
from collections.abc import Iterator

import leaktest
from support import leaktest_run, report, run_tests, verdict


def fail() -> None:
    raise RuntimeError("raised on purpose")


def start_failing_thread() -> None:
    thread = threading.Thread(target=fail, name="reraiser")
    thread.start()
    thread.join()


@contextlib.contextmanager
def quiet_threads() -> Iterator[None]:
    """The chained excepthook prints the traceback: not the point here."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


class ThreadExceptionsSwitch(leaktest.LeakCheckedTestCase):
    # The threads raise inside this test too: where the inner check is off, only
    # this switch keeps the outer one from reporting them.
    check_thread_exceptions = False

    def test_default_fails_the_test(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                start_failing_thread()

        with quiet_threads():
            result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("RuntimeError: raised on purpose", report(result))

    def test_class_attribute_false_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            check_thread_exceptions = False

            def test(self) -> None:
                start_failing_thread()

        with quiet_threads():
            self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_class_attribute_is_validated(self) -> None:
        with self.assertRaisesRegex(TypeError, "BadCase: check_thread_exceptions must be True or False"):
            type("BadCase", (leaktest.LeakCheckedTestCase,), {"check_thread_exceptions": "no"})

    def test_no_leaks_option(self) -> None:
        with quiet_threads():
            with leaktest.no_leaks(check_thread_exceptions=False):
                start_failing_thread()
            with self.assertRaises(leaktest.LeakError):
                with leaktest.no_leaks():
                    start_failing_thread()
        with self.assertRaisesRegex(TypeError, "no_leaks: check_thread_exceptions must be True or False"):
            leaktest.no_leaks(check_thread_exceptions=None)  # type: ignore[arg-type]

    def test_verify_none_option(self) -> None:
        with quiet_threads():
            start_failing_thread()
            leaktest.verify_none(check_thread_exceptions=False)

    def test_runner_option(self) -> None:
        name = "suites.sample_thread_exception"
        self.assertEqual(leaktest_run(name).returncode, 1)
        quiet = leaktest_run("--no-check-thread-exceptions", name)
        self.assertEqual(quiet.returncode, 0, quiet.stderr)


if __name__ == "__main__":
    unittest.main()
