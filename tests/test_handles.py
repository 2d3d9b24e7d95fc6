"""asyncio callbacks and timers still pending at the check, and event loops never closed."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import itertools
import threading
import unittest
from collections.abc import Callable
from typing import TypeVar

import leaktest
from support import report, run_tests, verdict

T = TypeVar("T")


def reconnect() -> None:
    """A callback the inner tests schedule and forget."""


class Handles(leaktest.LeakCheckedTestCase):
    def test_a_pending_timer_fails_before_the_base_class_drops_it(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                asyncio.get_running_loop().call_later(3600, reconnect)

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("found asyncio callbacks and timers still pending:", text)
        self.assertRegex(
            text, rf"\[Timer {__name__}\.reconnect\(\) \(call_later/call_at, due in \d+\.\d+s, on running loop #\d+\)"
        )
        self.assertIn(f"scheduled by test at {__file__}:", text)

    def test_a_cancelled_timer_passes(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                timer = asyncio.get_running_loop().call_later(3600, reconnect)
                self.addCleanup(timer.cancel)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_a_timer_due_within_the_grace_passes(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 10.0

            async def test(self) -> None:
                asyncio.get_running_loop().call_later(0.01, reconnect)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_a_callback_that_reschedules_itself_fails_as_a_callback(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                loop = asyncio.get_running_loop()

                def poll() -> None:
                    loop.call_soon(poll)

                loop.call_soon(poll)

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("[Callback ", text)
        self.assertIn("poll() (call_soon, not run yet, on running loop", text)

    def test_asyncios_own_callbacks_are_the_tasks_business(self) -> None:
        kept: list[asyncio.Task[None]] = []

        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                kept.append(asyncio.create_task(asyncio.sleep(3600), name="sleeper"))
                await asyncio.sleep(0)

        text = report(run_tests(Inner, "test"))
        self.assertIn("found unexpected tasks:", text)
        self.assertNotIn("callbacks and timers", text)

    def test_check_handles_false_passes(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            check_handles = False

            async def test(self) -> None:
                asyncio.get_running_loop().call_later(3600, reconnect)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")


class Connection:
    """Reaps its tasks through a done-callback, as connection classes do."""

    def reap(self, task: object) -> None:
        pass


def reap(task: object) -> None:
    """A plain function as a done-callback."""


class SharedLoopDoneCallbacks(leaktest.LeakCheckedTestCase):
    """A class shares one loop; each test is one `run_until_complete`. A task finishing in
    the loop's last pass has its done-callback queued behind the stop: it is the future's,
    whatever the callable looks like."""

    def run_shared(self, callback: Callable[[], Callable[[object], None]], future_class: type) -> unittest.TestResult:
        class Inner(leaktest.LeakCheckedTestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.loop = asyncio.new_event_loop()

            @classmethod
            def tearDownClass(cls) -> None:
                cls.loop.close()

            def test_1(self) -> None:
                async def finish() -> int:
                    return 1

                async def main() -> None:
                    asyncio.ensure_future(finish()).add_done_callback(callback())
                    future = future_class(loop=self.loop)
                    future.add_done_callback(callback())
                    self.loop.call_soon(future.set_result, 1)

                self.loop.run_until_complete(main())

            def test_2(self) -> None:
                self.test_1()

        return run_tests(Inner)

    def test_done_callbacks_on_a_shared_loop_pass_whatever_they_call(self) -> None:
        callbacks: dict[str, Callable[[], Callable[[object], None]]] = {
            "partial of a bound method": lambda: functools.partial(Connection().reap),
            "lambda": lambda: lambda task: None,
            "plain function": lambda: reap,
        }
        futures = {"C futures": asyncio.Future, "pure-Python futures": asyncio.futures._PyFuture}  # type: ignore[attr-defined]
        for (what, callback), (kind, future_class) in itertools.product(callbacks.items(), futures.items()):
            with self.subTest(what, futures=kind):
                result = self.run_shared(callback, future_class)
                self.assertEqual(verdict(result), "ok", report(result))
                self.assertEqual(result.testsRun, 2)

    def test_a_callback_the_code_scheduled_on_a_shared_loop_still_fails(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            loop: asyncio.AbstractEventLoop

            @classmethod
            def setUpClass(cls) -> None:
                cls.loop = asyncio.new_event_loop()

            @classmethod
            def tearDownClass(cls) -> None:
                cls.loop.close()

            def test(self) -> None:
                task = self.loop.create_task(asyncio.sleep(0))
                self.loop.run_until_complete(task)
                self.loop.call_soon(functools.partial(reap, task))

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn(f"[Callback functools.partial({__name__}.reap)() (call_soon, not run yet, on stopped loop", text)


class HubLoop(leaktest.LeakCheckedTestCase):
    """A loop running in a thread started before the test (a hub made in setUpClass)."""

    def setUp(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="hub-loop")
        self.thread.start()
        self.addCleanup(self.loop.close)
        self.addCleanup(self.thread.join)
        self.addCleanup(self.loop.call_soon_threadsafe, self.loop.stop)
        self.hub_timer = self.on_loop(lambda: self.loop.call_later(3600, reconnect))
        self.addCleanup(self.hub_timer.cancel)

    def on_loop(self, call: Callable[[], T]) -> T:
        """`call()` in the hub's loop thread; its result."""
        future = concurrent.futures.Future[T]()
        self.loop.call_soon_threadsafe(lambda: future.set_result(call()))
        return future.result()

    def inner(self, schedule: Callable[[], asyncio.Handle]) -> unittest.TestResult:
        timers: list[asyncio.Handle] = []
        self.addCleanup(lambda: [self.on_loop(timer.cancel) for timer in timers])
        on_loop = self.on_loop

        class Inner(leaktest.LeakCheckedTestCase):
            ignore_threads = ["hub-loop"]

            def test(self) -> None:
                timers.append(on_loop(schedule))

        return run_tests(Inner, "test")

    def test_a_timer_left_on_an_older_loop_fails(self) -> None:
        result = self.inner(lambda: self.loop.call_later(3600, reconnect))
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertEqual(text.count("[Timer "), 1, text)  # not the hub's own, older timer
        self.assertRegex(text, r"on running loop #\d+ in thread 'hub-loop'\)")  # whose loop it is

    def test_a_timer_cancelled_on_an_older_loop_passes(self) -> None:
        def schedule_and_cancel() -> asyncio.Handle:
            timer = self.loop.call_later(3600, reconnect)
            timer.cancel()
            return timer

        result = self.inner(schedule_and_cancel)
        self.assertEqual(verdict(result), "ok", report(result))


class Loops(leaktest.LeakCheckedTestCase):
    def test_a_loop_never_closed_fails_with_its_pending_timer(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                loop = asyncio.new_event_loop()
                loops.append(loop)
                loop.call_later(3600, reconnect)

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL", text)
        self.assertIn("found asyncio event loops never closed:", text)
        self.assertRegex(text, r"\[Event loop #\d+ \(\w+EventLoop, stopped, 0 pending tasks\) never closed")
        self.assertIn(f"created by {__name__}.Loops.", text)
        self.assertIn(f"[Timer {__name__}.reconnect() (call_later/call_at, due in", text)

    def test_a_closed_loop_passes(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                loop = asyncio.new_event_loop()
                loop.call_later(3600, reconnect)
                self.addCleanup(loop.close)

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_check_loops_false_passes(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])

        class Inner(leaktest.LeakCheckedTestCase):
            check_loops = False

            def test(self) -> None:
                loops.append(asyncio.new_event_loop())

        self.assertEqual(verdict(run_tests(Inner, "test")), "ok")

    def test_no_leaks_reports_a_loop(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [loop.close() for loop in loops])
        with self.assertRaisesRegex(leaktest.LeakError, "never closed"):
            with leaktest.no_leaks():
                loops.append(asyncio.new_event_loop())
        with leaktest.no_leaks(check_loops=False):
            loops.append(asyncio.new_event_loop())


if __name__ == "__main__":
    unittest.main()
