"""`no_leaks` (context manager and decorator) and `verify_none`."""

from __future__ import annotations

import threading
import unittest
from unittest import mock

import leaktest
from hubs import Hub, start_hub
from leaktest import settings
from support import INNER_GRACE_PERIOD, THE_SUITES_OWN, no_load_stretch


class NoLeaks(leaktest.LeakCheckedTestCase):
    def leaked_hub(self, name: str = "guarded-hub") -> Hub:
        hub = Hub(name)
        self.addCleanup(hub.stop)
        return hub

    def test_clean_block_passes(self) -> None:
        with leaktest.no_leaks():
            start_hub().stop()

    def test_leaking_block_raises_leak_error(self) -> None:
        hub = self.leaked_hub()
        with self.assertRaises(leaktest.LeakError) as caught:
            with leaktest.no_leaks(grace_period=0):
                hub.start()
        self.assertIn("[Thread 'guarded-hub'", str(caught.exception))
        self.assertEqual([leak.kind for leak in caught.exception.leaks], ["threads"])

    def test_decorator_with_and_without_parentheses(self) -> None:
        hubs = [self.leaked_hub("bare"), self.leaked_hub("called")]
        # The bare form takes the default grace: the inner one here, the leak is certain.
        with mock.patch.object(settings.GRACE_PERIOD, "default", INNER_GRACE_PERIOD), no_load_stretch():

            @leaktest.no_leaks
            def bare() -> str:
                hubs[0].start()
                return "bare result"

            @leaktest.no_leaks(grace_period=0)
            def called() -> None:
                hubs[1].start()

            self.assertEqual(bare.__name__, "bare")
            with self.assertRaisesRegex(leaktest.LeakError, "Thread 'bare'"):
                bare()
            with self.assertRaisesRegex(leaktest.LeakError, "Thread 'called'"):
                called()

    def test_decorated_function_returns_its_value(self) -> None:
        @leaktest.no_leaks
        def clean(x: int) -> int:
            return x * 2

        self.assertEqual(clean(21), 42)

    def test_ignores_apply(self) -> None:
        hub = self.leaked_hub("ignored-hub")
        with leaktest.no_leaks(grace_period=0, ignore_threads=["ignored-*"]):
            hub.start()

    def test_the_bodys_exception_propagates_with_the_leak_as_a_note(self) -> None:
        hub = self.leaked_hub()
        with self.assertRaises(KeyError) as caught:
            with leaktest.no_leaks(grace_period=0):
                hub.start()
                raise KeyError("the body's own error")
        self.assertEqual(caught.exception.args, ("the body's own error",))
        notes = getattr(caught.exception, "__notes__", [])
        self.assertEqual(len(notes), 1)
        self.assertIn("[Thread 'guarded-hub'", notes[0])

    def test_clean_body_exception_gets_no_note(self) -> None:
        with self.assertRaises(KeyError) as caught:
            with leaktest.no_leaks():
                raise KeyError("x")
        self.assertFalse(hasattr(caught.exception, "__notes__"))

    def test_a_guard_object_can_be_reused(self) -> None:
        guard = leaktest.no_leaks(grace_period=0)
        with guard:
            pass
        hub = self.leaked_hub()
        with self.assertRaises(leaktest.LeakError):
            with guard:
                hub.start()

    def test_leak_reported_by_the_guard_is_not_reported_again_by_the_test(self) -> None:
        hub = self.leaked_hub()

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                with self.assertRaises(leaktest.LeakError):
                    with leaktest.no_leaks(grace_period=0):
                        hub.start()

        result = unittest.TestResult()
        Inner("test").run(result)
        self.assertEqual((result.failures, result.errors), ([], []))


class VerifyNone(unittest.TestCase):
    """A plain TestCase: verify_none looks at every thread, the outer check's included
    (but for what this test suite runs in the background, `support.THE_SUITES_OWN`)."""

    def test_passes_with_only_the_main_and_calling_threads(self) -> None:
        leaktest.verify_none(**THE_SUITES_OWN)

    def test_reports_a_thread_started_before_leaktest_knew(self) -> None:
        hub = Hub("old-hub")
        self.addCleanup(hub.stop)
        hub.start()
        with self.assertRaises(leaktest.LeakError) as caught:
            leaktest.verify_none(grace_period=0, **THE_SUITES_OWN)
        self.assertIn("[Thread 'old-hub'", str(caught.exception))

    def test_ignores_apply(self) -> None:
        hub = Hub("old-hub")
        self.addCleanup(hub.stop)
        hub.start()
        leaktest.verify_none(grace_period=0, ignore_top_functions=[Hub.run], **THE_SUITES_OWN)

    def test_calling_thread_is_not_a_leak(self) -> None:
        errors: list[BaseException] = []

        def verify() -> None:
            try:
                leaktest.verify_none(grace_period=0, **THE_SUITES_OWN)
            except BaseException as error:  # noqa: BLE001 - handed to the test thread
                errors.append(error)

        thread = threading.Thread(target=verify, name="verifier")
        thread.start()
        thread.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
