"""A leak is reported once: what a reported thread or task does later stays silent."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import threading
import unittest
import weakref
from typing import Any

import leaktest
from support import report, run_tests


class ReportedOnce(leaktest.LeakCheckedTestCase):
    def test_reported_task_destroyed_later_is_not_reported_again(self) -> None:
        kept: list[asyncio.Task[Any]] = []
        loops: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])

        async def leave_pending() -> None:
            kept.append(asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="doomed"))

        class Leaks(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test(self) -> None:
                loop = asyncio.new_event_loop()
                loop.set_exception_handler(lambda loop, context: None)  # asyncio's log: not the point
                loops.append(loop)
                loop.run_until_complete(leave_pending())

        class Next(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                pass

        first = run_tests(Leaks)
        self.assertIn("[Task 'doomed' ", report(first))
        del first
        task = weakref.ref(kept.pop())
        gc.collect()
        self.assertIsNone(task(), "the task must be destroyed for this test to mean anything")
        result = run_tests(Next)
        self.assertEqual(result.failures + result.errors, [], report(result))

    def test_reported_thread_raising_later_is_not_reported_again(self) -> None:
        release = threading.Event()
        threads: list[threading.Thread] = []
        self.addCleanup(lambda: [(release.set(), thread.join()) for thread in threads])

        def fail_when_released() -> None:
            release.wait()
            raise RuntimeError("raised after the report")

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            def test_1_leaks(self) -> None:
                threads.append(threading.Thread(target=fail_when_released, name="doomed"))
                threads[0].start()

            def test_2_it_raises(self) -> None:
                release.set()
                threads[0].join()

        result = run_tests(Inner)
        self.assertEqual(len(result.failures), 1, report(result))
        self.assertEqual(result.errors, [], report(result))
        self.assertIn("test_1_leaks", result.failures[0][0].id())


class ClassLevelErrors(leaktest.LeakCheckedTestCase):
    """A class-level error names only what the class's own fixtures started."""

    # The inner threads raise inside these tests too: not theirs to report.
    check_thread_exceptions = False

    def test_late_exception_of_a_tests_thread_is_not_the_class_fixtures(self) -> None:
        release = threading.Event()
        threads: list[threading.Thread] = []
        self.addCleanup(lambda: [(release.set(), thread.join()) for thread in threads])

        def fail_when_released() -> None:
            release.wait()
            raise RuntimeError("raised after the test's check")

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_threads = ["tolerated-*"]  # the test lets it run on; its exception is not the class's

            def test_1_starts_it(self) -> None:
                threads.append(threading.Thread(target=fail_when_released, name="tolerated-1"))
                threads[0].start()

            def test_2_it_raises(self) -> None:
                release.set()
                threads[0].join()

        with contextlib.redirect_stderr(io.StringIO()):  # the chained hook prints it
            result = run_tests(Inner)
        self.assertEqual(result.errors + result.failures, [], report(result))

    def test_class_fixture_thread_raising_during_a_test_is_the_classs(self) -> None:
        release = threading.Event()
        threads: list[threading.Thread] = []
        self.addCleanup(lambda: [(release.set(), thread.join()) for thread in threads])

        def fail_when_released() -> None:
            release.wait()
            raise RuntimeError("raised by the class fixture's thread")

        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                threads.append(threading.Thread(target=fail_when_released, name="class-thread"))
                threads[0].start()

            def test_it_raises(self) -> None:
                release.set()
                threads[0].join()

        with contextlib.redirect_stderr(io.StringIO()):
            result = run_tests(Inner)
        self.assertEqual(len(result.errors), 1, report(result))
        self.assertIn("tearDownClass", str(result.errors[0][0]))
        self.assertRegex(report(result), r"\[Thread 'class-thread':\n(  .*\n)+ started by ")


if __name__ == "__main__":
    unittest.main()
