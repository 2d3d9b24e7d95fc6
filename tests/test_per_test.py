"""`leak_settings` and `expected_leak` on one test method, sync or async, in both runners."""

from __future__ import annotations

import asyncio
import unittest

import leaktest
from hubs import Hub
from support import FAST, leaktest_run, report, run_tests, verdict
from test_runner import leaking, summary_line


class LeakSettings(leaktest.LeakCheckedTestCase):
    def hub(self, name: str = "per-test-hub") -> Hub:
        hub = Hub(name)
        self.addCleanup(hub.stop)
        return hub

    def test_ignores_add_to_the_class_for_that_test_only(self) -> None:
        hub, other = self.hub("vendor-pool"), self.hub("vendor-pool-2")

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            @leaktest.leak_settings(ignore_threads=["vendor-*"])
            def test_marked(self) -> None:
                hub.start()

            def test_unmarked(self) -> None:
                other.start()

        result = run_tests(Inner)
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_unmarked"])
        self.assertEqual(result.errors, [])  # nor is it the class's leak

    def test_values_replace_the_class_values(self) -> None:
        hub = self.hub()

        class Inner(leaktest.LeakCheckedTestCase):
            check_threads = True

            @leaktest.leak_settings(check_threads=False)
            def test(self) -> None:
                hub.start()

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_grace_period_for_one_test(self) -> None:
        hub = self.hub()

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            @leaktest.leak_settings(grace_period=30)
            def test(self) -> None:
                hub.start()
                self.addCleanup(hub.stop_later)  # ends only after the cleanups: the grace covers it

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_on_an_async_test(self) -> None:
        tasks: list[asyncio.Task[bool]] = []  # kept: cancelled with the loop, never garbage-collected pending

        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 0

            @leaktest.leak_settings(check_tasks=False)
            async def test_marked(self) -> None:
                tasks.append(asyncio.create_task(asyncio.Event().wait()))

            async def test_unmarked(self) -> None:
                tasks.append(asyncio.create_task(asyncio.Event().wait(), name="unmarked-task"))

        self.assertEqual(verdict(run_tests(Inner, "test_marked")), "ok")
        result = run_tests(Inner, "test_unmarked")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("Task 'unmarked-task'", report(result))

    def test_what_a_test_may_leave_is_not_the_class_fixtures_leak(self) -> None:
        hub = self.hub()

        class Inner(leaktest.LeakCheckedTestCase):
            @leaktest.leak_settings(check_threads=False)
            def test(self) -> None:
                hub.start()

        self.assertEqual(run_tests(Inner).errors, [])

    def test_bad_values_fail_when_the_decorator_is_applied(self) -> None:
        for options, error in [
            ({"grace_period": -1}, ValueError),
            ({"ignore_threads": "hub-*"}, TypeError),
            ({"check_tasks": "no"}, TypeError),
            ({"leak_mode": "loud"}, ValueError),
            ({"ignore_thread": ["x"]}, TypeError),
        ]:
            with self.subTest(options=options):
                with self.assertRaises(error) as caught:
                    leaktest.leak_settings(**options)
                self.assertIn("leak_settings", str(caught.exception))
                self.assertIn(next(iter(options)), str(caught.exception))


class ExpectedLeak(leaktest.LeakCheckedTestCase):
    def test_a_leak_is_an_expected_failure(self) -> None:
        hub = Hub("known-leak")
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0

            @leaktest.expected_leak(reason="issue 123: the pool is never shut down")
            def test(self) -> None:
                hub.start()

        result = run_tests(Inner, "test")
        self.assertTrue(result.wasSuccessful())
        self.assertEqual((len(result.failures), len(result.unexpectedSuccesses)), (0, 0))
        self.assertEqual(len(result.expectedFailures), 1)
        text = result.expectedFailures[0][1]
        self.assertIn("expected leak (issue 123: the pool is never shut down)", text)
        self.assertIn("Thread 'known-leak'", text)

    def test_a_test_that_stopped_leaking_is_an_unexpected_success(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            @leaktest.expected_leak(reason="fixed since")
            async def test(self) -> None:
                pass

        result = run_tests(Inner, "test")
        self.assertFalse(result.wasSuccessful())
        self.assertEqual(len(result.unexpectedSuccesses), 1)
        self.assertEqual(result.expectedFailures, [])

    def test_the_tests_own_failure_is_not_hidden(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            @leaktest.expected_leak(reason="known")
            def test(self) -> None:
                self.fail("the test's own failure")

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("the test's own failure", report(result))
        self.assertEqual((result.expectedFailures, result.unexpectedSuccesses), ([], []))

    def test_expected_even_in_warn_mode(self) -> None:
        hub = Hub("known-leak-warn")
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            leak_mode = "warn"
            grace_period = 0

            @leaktest.expected_leak(reason="known")
            def test(self) -> None:
                hub.start()

        self.assertEqual(len(run_tests(Inner, "test").expectedFailures), 1)

    def test_reason_is_required(self) -> None:
        with self.assertRaises(TypeError):
            leaktest.expected_leak()  # type: ignore[call-arg]
        with self.assertRaises(TypeError):
            leaktest.expected_leak(reason="  ")

    def test_stacks_with_leak_settings(self) -> None:
        hub = Hub("stacked-leak")
        self.addCleanup(hub.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            @leaktest.expected_leak(reason="known")
            @leaktest.leak_settings(grace_period=0)
            def test(self) -> None:
                hub.start()

        self.assertEqual(len(run_tests(Inner, "test").expectedFailures), 1)


class UnderTheRunner(unittest.TestCase):
    def test_marks_work_on_an_unchanged_suite(self) -> None:
        checked = leaktest_run(*FAST, "suites.sample_per_test")
        self.assertEqual(checked.returncode, 1, checked.stderr)  # the unexpected success
        self.assertEqual(leaking(checked.stderr), [], checked.stderr)
        self.assertIn("1 expected leak", summary_line(checked.stderr))
        self.assertIn("expected failures=1", checked.stderr)
        self.assertIn("unexpected successes=1", checked.stderr)


if __name__ == "__main__":
    unittest.main()
