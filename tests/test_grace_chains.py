"""What starts during the grace period is judged too: chains that re-arm themselves leak."""

from __future__ import annotations

import asyncio
import threading
import unittest

import leaktest
from support import INNER_GRACE_PERIOD, report, run_tests, verdict

#: A grace long enough for many links (a thread link lives `TICK`): must not hide the chain.
#: What makes it long is the number of links it spans, not its value: the tests that
#: wait it out answer in a fraction of the 1.0 s default.
LONG_GRACE = 0.25
#: How long a heartbeat's timer waits before arming the next. The check sees a chain as
#: one when it saw each link's parent: a check starved for longer than this by a loaded
#: machine misses a link (at 0.01 s, 1 full-suite run in 5 on two busy cores).
TICK = 0.05

#: Inner results by (kind, grace period): a chain runs its whole grace period, so
#: the tests of one grace share one run.
RESULTS: dict[tuple[str, float], unittest.TestResult] = {}


class Heartbeat:
    """Each tick arms the next `threading.Timer`: no single timer lives long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        self._arm()

    def _arm(self) -> None:
        with self._lock:
            if not self._stopped:
                self._timer = threading.Timer(TICK, self._arm)
                self._timer.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            timer = self._timer
        if timer is not None:
            timer.cancel()
            timer.join()


async def retry(stop: asyncio.Event) -> None:
    """One attempt: wait a little, then hand over to a successor task and return."""
    await asyncio.sleep(0.01)
    if not stop.is_set():
        asyncio.get_running_loop().create_task(retry(stop), name="retry")


class ThreadChains(leaktest.LeakCheckedTestCase):
    def run_heartbeat(self, grace: float) -> unittest.TestResult:
        if ("threads", grace) not in RESULTS:
            RESULTS["threads", grace] = self.run_new_heartbeat(grace)
        return RESULTS["threads", grace]

    def run_new_heartbeat(self, grace: float) -> unittest.TestResult:
        heartbeat = Heartbeat()
        self.addCleanup(heartbeat.stop)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = grace

            def test(self) -> None:
                heartbeat.start()

        return run_tests(Inner, "test", load_stretch=True)

    def test_timer_heartbeat_fails_with_a_short_grace(self) -> None:
        result = self.run_heartbeat(INNER_GRACE_PERIOD)
        self.assertEqual(verdict(result), "FAIL")
        self.assertRegex(report(result), r"started by test_grace_chains\.Heartbeat\._arm at ")

    def test_timer_heartbeat_fails_with_a_long_grace_reported_by_its_newest_link(self) -> None:
        result = self.run_heartbeat(LONG_GRACE)
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertEqual(text.count("[Thread "), 1, text)
        self.assertRegex(text, r", in a chain of threads begun by \S+Inner\.test at ")
        self.assertRegex(text, r"the newest of \d+ threads, each started by the one before it since the baseline")

    def test_later_tests_are_not_blamed_for_a_reported_chain(self) -> None:
        heartbeat = Heartbeat()
        self.addCleanup(heartbeat.stop)
        second_ran = threading.Event()

        class Inner(leaktest.LeakCheckedTestCase):
            def test_1_starts_it(self) -> None:
                heartbeat.start()

            def test_2_innocent(self) -> None:
                second_ran.set()

        result = run_tests(Inner)
        self.assertTrue(second_ran.is_set())
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_1_starts_it"])
        self.assertEqual(result.errors, [], report(result))

    def test_no_leaks_sees_the_chain(self) -> None:
        heartbeat = Heartbeat()
        self.addCleanup(heartbeat.stop)
        with self.assertRaises(leaktest.LeakError):
            with leaktest.no_leaks(grace_period=INNER_GRACE_PERIOD):
                heartbeat.start()

    def test_an_ancestry_of_different_starters_is_shown_as_such_not_as_a_chain(self) -> None:
        timers: list[threading.Timer] = []

        def cancel() -> None:
            for timer in timers:
                timer.cancel()
                timer.join()

        self.addCleanup(cancel)

        def transport() -> None:
            timer = threading.Timer(3600, lambda: None)
            timers.append(timer)
            timer.start()

        def serve() -> None:
            threading.Thread(target=transport, name="transport").start()

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = LONG_GRACE

            def test(self) -> None:
                threading.Thread(target=serve, name="server").start()

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertEqual(text.count("[Thread "), 1, text)
        self.assertRegex(text, r"started by \S+transport at \S+ in thread 'transport' \(started by \S+serve at ")
        self.assertRegex(text, r", in a chain of threads begun by \S+Inner\.test at ")
        self.assertNotIn("re-arming", text)


class TaskChains(leaktest.LeakCheckedTestCase):
    def run_retries(self, grace: float) -> unittest.TestResult:
        if ("tasks", grace) not in RESULTS:
            RESULTS["tasks", grace] = self.run_new_retries(grace)
        return RESULTS["tasks", grace]

    def run_new_retries(self, grace: float) -> unittest.TestResult:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = grace

            async def test(self) -> None:
                asyncio.get_running_loop().create_task(retry(asyncio.Event()), name="retry")

        return run_tests(Inner, "test", load_stretch=True)

    def test_task_creating_its_successor_fails_with_a_short_grace(self) -> None:
        result = self.run_retries(INNER_GRACE_PERIOD)
        self.assertEqual(verdict(result), "FAIL")
        self.assertRegex(report(result), r"\[Task 'retry' [^\n]*\n(.*\n)* created by test_grace_chains\.retry at ")

    def test_task_creating_its_successor_fails_with_a_long_grace(self) -> None:
        result = self.run_retries(LONG_GRACE)
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertEqual(text.count("[Task "), 1, text)
        self.assertRegex(text, r"the newest of \d+ tasks, each started by the one before it since the baseline")


if __name__ == "__main__":
    unittest.main()
