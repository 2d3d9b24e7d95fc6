"""asyncio tasks: LeakCheckedAsyncTestCase, other loops, reports, ignores, task exceptions."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
import time
import unittest
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from unittest import mock

import leaktest
from leaktest import _async_compat
from leaktest.probes import clock, event_loops
from leaktest.probes.tasks import pending_tasks
from support import report, run_tests, verdict

ROOT = Path(__file__).resolve().parent.parent


async def wait_forever() -> None:
    await asyncio.Event().wait()


async def serve_forever() -> None:
    """A server-like coroutine whose await chain leads through `serve_one`."""
    await serve_one()


async def serve_one() -> None:
    await wait_forever()


#: Inner tests keep their leaked tasks here: a pending task nobody references can be
#: garbage-collected mid-test (it then shows as "garbage-collected while pending").
KEPT: list[object] = []


def keep(task: asyncio.Task[Any]) -> asyncio.Task[Any]:
    KEPT.append(task)
    return task


class LoopHub:
    """An event loop running forever in a background thread, as hubs do."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="loop-hub")

    def start(self) -> LoopHub:
        self.thread.start()
        return self

    def submit(self, coro: Coroutine[Any, Any, object]) -> None:
        """Start `coro` as a task of the hub's loop and wait until it is created."""
        created = threading.Event()

        def create() -> None:
            keep(self.loop.create_task(coro))
            created.set()

        self.loop.call_soon_threadsafe(create)
        created.wait()

    def stop(self) -> None:
        """Stop the loop without cancelling its tasks (the leak under test)."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()

    def close(self) -> None:
        """What a correct hub does: stop, cancel and await every task, close."""
        if self.thread.is_alive():
            self.stop()
        close_loop(self.loop)


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and await a stopped loop's tasks, then close it (no "destroyed pending" noise)."""
    if loop.is_closed():
        return
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


def forget_on_closed_loop(task: asyncio.Task[Any]) -> None:
    """A task of a closed loop can never end: close its coroutine, silence its destruction."""
    task._log_destroy_pending = False  # type: ignore[attr-defined]
    coro = task.get_coro()
    if hasattr(coro, "close"):
        coro.close()


class AsyncCase(leaktest.LeakCheckedTestCase):
    """The check runs on the test's loop, after async cleanups, before IsolatedAsyncioTestCase cancels."""

    def test_leaked_task_fails_and_is_reported_pending_before_any_cancel(self) -> None:
        seen: dict[str, bool] = {}

        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                async def leaky() -> None:
                    try:
                        await wait_forever()
                    except asyncio.CancelledError:
                        # Cancelled by the teardown: the check must have happened already.
                        seen["cancelled_after_check"] = True
                        raise

                keep(asyncio.create_task(leaky(), name="leaky-task"))

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL", report(result))
        text = report(result)
        self.assertIn("found unexpected tasks:", text)
        self.assertIn("[Task 'leaky-task' (coroutine ", text)
        self.assertIn("test.<locals>.leaky, pending, on running loop #", text)
        self.assertRegex(text, r"created by test_tasks\.\S+\.Inner\.test at \S+test_tasks\.py:\d+\]")
        self.assertRegex(text, r"counts before -> after: .*tasks 0 -> 1")
        self.assertTrue(seen.get("cancelled_after_check"))

    def test_task_cancelled_in_async_cleanup_passes(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                task = asyncio.create_task(wait_forever())

                async def stop() -> None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

                self.addAsyncCleanup(stop)

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))

    def test_task_awaited_in_async_teardown_passes(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def asyncSetUp(self) -> None:
                self.stop = asyncio.Event()
                self.task = asyncio.create_task(self.stop.wait())

            async def asyncTearDown(self) -> None:
                self.stop.set()
                await self.task

            async def test(self) -> None:
                pass

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))

    def test_task_finishing_during_the_grace_passes_without_waiting_it_out(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 10.0

            async def test(self) -> None:
                done = asyncio.Event()
                keep(asyncio.create_task(done.wait(), name="finishes-in-grace"))

                async def finish_soon() -> None:
                    # Completion 20 ms after the cleanups: inside the grace, in the loop.
                    asyncio.get_running_loop().call_later(0.02, done.set)

                self.addAsyncCleanup(finish_soon)

        started = time.monotonic()
        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertLess(time.monotonic() - started, 5.0)  # returned when the task ended

    def test_base_machinery_is_not_reported_with_setup_without_super(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            def setUp(self) -> None:  # no super().setUp()
                self.sync_setup = True

            async def asyncSetUp(self) -> None:  # no super().asyncSetUp()
                self.task = asyncio.create_task(wait_forever(), name="from-async-setup")

            async def test(self) -> None:
                pass

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn("[Task 'from-async-setup'", text)
        self.assertEqual(text.count("[Task "), 1, text)  # neither the runner task nor the check's

    def test_failure_and_leak_are_both_reported(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                keep(asyncio.create_task(wait_forever(), name="leaked-by-failing-test"))
                self.fail("the test's own failure")

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertIn("the test's own failure", text)
        self.assertIn("[Task 'leaked-by-failing-test'", text)

    def test_executor_threads_are_not_reported(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                loop = asyncio.get_running_loop()
                self.assertEqual(await loop.run_in_executor(None, sum, [1, 2]), 3)

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))

    def test_thread_leaked_by_an_async_test_is_reported_with_its_task(self) -> None:
        release = threading.Event()
        self.addCleanup(release.set)

        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 0.0

            async def test(self) -> None:
                threading.Thread(target=release.wait, name="async-test-thread").start()
                keep(asyncio.create_task(wait_forever(), name="async-test-task"))

        result = run_tests(Inner, "test")
        release.set()
        text = report(result)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Thread 'async-test-thread'", text)
        self.assertIn("[Task 'async-test-task'", text)
        self.assertEqual(text.count("LeakError"), 1, text)  # one LeakError for both

    def test_no_cascade_to_the_next_async_test(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test_1_leaks(self) -> None:
                keep(asyncio.create_task(wait_forever(), name="first-test-leak"))

            async def test_2_clean(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_1_leaks"])
        self.assertEqual(result.errors, [])

    def test_check_tasks_false_lets_the_base_class_cancel_silently(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            check_tasks = False

            async def test(self) -> None:
                keep(asyncio.create_task(wait_forever()))

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))


class Listing(leaktest.LeakCheckedTestCase):
    """A loop's pending tasks, listed as `asyncio.all_tasks(loop)` lists them."""

    def test_a_check_lists_no_task_made_before_the_test(self) -> None:
        # Every task of the process still alive is no test's to read, on every check.
        class Made(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                await asyncio.get_running_loop().create_task(asyncio.sleep(0))

        clock.tick()  # (the test's mark is then more than 0, in a process of its own too)
        since = clock.InOrder.since
        with mock.patch.object(clock.InOrder, "since", autospec=True, side_effect=since) as listed:
            result = run_tests(Made, "test")
        self.assertEqual(verdict(result), "ok", report(result))
        marks = [call.args[1] for call in listed.call_args_list]
        self.assertTrue(marks)
        self.assertNotIn(0, marks)

    def test_pending_tasks_are_each_loops_all_tasks_without_asyncios_code_per_task(self) -> None:
        loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]
        for loop in loops:
            self.addCleanup(loop.close)
        ours, other = loops
        pending: list[asyncio.Task[Any]] = []

        async def start_some() -> None:
            pending.append(ours.create_task(wait_forever()))
            if sys.version_info >= (3, 12):  # an eager task, started at once and still waiting
                pending.append(asyncio.eager_task_factory(ours, wait_forever()))

        ours.run_until_complete(start_some())
        done = ours.create_task(asyncio.sleep(0))
        ours.run_until_complete(done)
        pending.append(ours.create_task(wait_forever()))  # never started
        elsewhere = other.create_task(wait_forever())
        self.addCleanup(self._cancel, other, [elsewhere])
        self.addCleanup(self._cancel, ours, pending)

        get_loop = vars(asyncio.futures)["_get_loop"]  # what 3.10-3.13's `all_tasks` calls for each task
        calls: list[object] = []

        def counted(future: object) -> object:
            calls.append(future)
            return get_loop(future)

        with mock.patch.object(asyncio.futures, "_get_loop", counted):
            listed = pending_tasks([ours])
        self.assertEqual(calls, [])
        self.assertEqual(set(listed), asyncio.all_tasks(ours))
        self.assertEqual(set(listed), set(pending))
        self.assertEqual(set(pending_tasks([ours, other])), {*pending, elsewhere})
        self.assertEqual(pending_tasks([]), [])

    @staticmethod
    def _cancel(loop: asyncio.AbstractEventLoop, pending: list[asyncio.Task[Any]]) -> None:
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def leave_a_task_on_a_hub(hubs: list[LoopHub]) -> None:
    """Start a hub, noted in `hubs`, and leave a task pending on its running loop."""
    hub = LoopHub().start()
    hubs.append(hub)
    hub.submit(serve_forever())


class OtherLoops(leaktest.LeakCheckedTestCase):
    """Tasks left on loops other than the test's: background hubs, stopped and closed loops."""

    def test_task_on_a_stopped_background_loop_fails(self) -> None:
        hubs: list[LoopHub] = []

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                hub = LoopHub().start()
                hubs.append(hub)
                hub.submit(serve_forever())
                hub.stop()  # forgot to cancel its tasks

        result = run_tests(Inner, "test")
        for hub in hubs:
            hub.close()
        self.assertEqual(verdict(result), "FAIL", report(result))
        text = report(result)
        self.assertIn("test_tasks.serve_forever, pending, on stopped loop #", text)
        self.assertNotIn("[Thread ", text)

    def test_task_on_a_running_background_loop_fails(self) -> None:
        hubs: list[LoopHub] = []

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.05
            ignore_threads = ["loop-hub"]  # the hub keeps running through the check

            def test(self) -> None:
                leave_a_task_on_a_hub(hubs)

        self.assertHubTaskReported(Inner, hubs)

    def assertHubTaskReported(self, inner: type[unittest.TestCase], hubs: list[LoopHub]) -> None:
        result = run_tests(inner, "test")
        for hub in hubs:
            hub.close()
        self.assertEqual(verdict(result), "FAIL")
        self.assertRegex(
            report(result), r"test_tasks\.serve_forever, pending, on running loop #\d+ in thread 'loop-hub'\)"
        )

    def test_an_async_tests_task_left_on_a_hub_is_found_after_its_loop_closes(self) -> None:
        # Nothing waits on the test's own loop: no check runs on it (a task there costs a
        # stack per callback in debug mode); the hub's task is found once it is closed.
        hubs: list[LoopHub] = []

        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 0.05
            ignore_threads = ["loop-hub"]  # the hub keeps running through the check

            async def test(self) -> None:
                leave_a_task_on_a_hub(hubs)

        with mock.patch.object(_async_compat, "run_in_test_loop", wraps=_async_compat.run_in_test_loop) as on_loop:
            self.assertHubTaskReported(Inner, hubs)
        on_loop.assert_not_called()

    def test_an_async_tests_task_left_on_its_own_loop_is_checked_there(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 0.05

            async def test(self) -> None:
                keep(asyncio.get_running_loop().create_task(serve_forever()))

        with mock.patch.object(_async_compat, "run_in_test_loop", wraps=_async_compat.run_in_test_loop) as on_loop:
            result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("test_tasks.serve_forever, pending", report(result))
        on_loop.assert_called_once()

    def test_task_of_a_running_background_loop_ending_in_the_grace_passes(self) -> None:
        hubs: list[LoopHub] = []

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 10.0
            ignore_threads = ["loop-hub"]  # the hub keeps running through the check
            check_loops = False  # and so does its loop

            def test(self) -> None:
                hub = LoopHub().start()
                hubs.append(hub)
                done = asyncio.Event()
                hub.submit(done.wait())
                # Completion 20 ms after the cleanups, on the hub's loop, inside the grace.
                self.addCleanup(hub.loop.call_soon_threadsafe, hub.loop.call_later, 0.02, done.set)

        started = time.monotonic()
        result = run_tests(Inner, "test")
        elapsed = time.monotonic() - started
        for hub in hubs:
            hub.close()
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertLess(elapsed, 5.0)

    def test_loop_closed_with_a_pending_task_fails(self) -> None:
        tasks: list[asyncio.Task[Any]] = []

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                loop = asyncio.new_event_loop()
                tasks.append(loop.create_task(serve_forever(), name="left-on-closed-loop"))
                loop.run_until_complete(asyncio.sleep(0))
                loop.close()

        result = run_tests(Inner, "test")
        for task in tasks:
            forget_on_closed_loop(task)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("[Task 'left-on-closed-loop' (coroutine ", report(result))
        self.assertIn("pending, on closed loop #", report(result))

    def test_tasks_left_by_an_earlier_test_on_a_shared_loop_do_not_cascade(self) -> None:
        hub = LoopHub().start()
        self.addCleanup(hub.close)

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.0

            def test_1_leaks(self) -> None:
                hub.submit(wait_forever())

            def test_2_clean(self) -> None:
                pass

            def test_3_clean_too(self) -> None:
                pass

        result = run_tests(Inner)
        self.assertEqual(result.testsRun, 3)
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_1_leaks"])

    def test_task_created_on_an_older_open_loop_is_new(self) -> None:
        hub = LoopHub().start()
        self.addCleanup(hub.close)
        hub.submit(wait_forever())  # there before the inner test: not its leak

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.0

            def test(self) -> None:
                hub.submit(serve_forever())

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn("serve_forever", text)
        self.assertEqual(text.count("[Task "), 1, text)

    def test_tasks_created_on_an_older_loop_are_still_told_apart_after_hundreds_ended(self) -> None:
        """The tasks made are listed in clock order and pruned as they end: a task left
        before the test and one made in it, around 300 that ended, are each where they were."""
        hub = LoopHub().start()
        self.addCleanup(hub.close)
        hub.submit(wait_forever())  # there before the inner test: not its leak

        async def ends() -> None:
            pass

        async def made_in_the_test() -> None:
            for _ in range(150):
                await asyncio.get_running_loop().create_task(ends())
            keep(asyncio.get_running_loop().create_task(serve_forever()))
            for _ in range(150):
                await asyncio.get_running_loop().create_task(ends())

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.0

            def test(self) -> None:
                asyncio.run_coroutine_threadsafe(made_in_the_test(), hub.loop).result()

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn("serve_forever", text)
        self.assertEqual(text.count("[Task "), 1, text)

    def test_closed_loops_kept_alive_are_not_walked_and_new_ones_still_seen(self) -> None:
        """Closed loops of earlier tests stay alive until a collection: a check asks for
        the open loops (those found closed are forgotten) and the loops made since its mark."""
        closed = [asyncio.new_event_loop() for _ in range(100)]
        for loop in closed:
            loop.close()
        self.assertEqual([loop for loop in event_loops.open_loops() if loop in closed], [])
        self.assertFalse(any(ref() in closed for ref in list(event_loops.OPEN)))
        held: list[asyncio.AbstractEventLoop] = []
        self.addCleanup(lambda: [close_loop(loop) for loop in held])

        class Inner(leaktest.LeakCheckedTestCase):
            grace_period = 0.0

            def test_leaks(self) -> None:
                loop = asyncio.new_event_loop()
                held.append(loop)
                keep(loop.create_task(serve_forever()))

        mark = clock.now
        result = run_tests(Inner)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("serve_forever", report(result))
        self.assertEqual(event_loops.made_since(mark), held)
        self.assertEqual([loop for loop in event_loops.made_since(0) if loop in closed], closed)


class Collected(leaktest.LeakCheckedTestCase):
    ignore_tasks = ["ignored-*"]  # the inner test ignores it; so must this outer test

    def test_pending_task_garbage_collected_during_the_test_fails(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            ignore_tasks = ["ignored-*"]

            async def test(self) -> None:
                asyncio.create_task(wait_forever(), name="collected-task")
                asyncio.create_task(wait_forever(), name="ignored-collected-task")
                await asyncio.sleep(0)
                gc.collect()  # what a GC pass can do at any moment to a pending task nobody holds

        with self.assertLogs("asyncio", "ERROR"):  # asyncio's "Task was destroyed but it is pending!"
            result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        text = report(result)
        self.assertIn("[Task 'collected-task' (coroutine ", text)
        self.assertIn("garbage-collected while pending", text)
        self.assertNotIn("ignored-collected-task", text)

    def test_a_task_finalized_while_leaktest_holds_its_lock_does_not_deadlock(self) -> None:
        # The collector may finalize a task inside any locked block of leaktest's; the
        # finalizer reports through the wrapped call_exception_handler, in that thread.
        script = """if True:
            import asyncio, leaktest.probes.tasks as tasks
            loop = asyncio.new_event_loop()
            async def explode():
                raise ValueError("finalized inside the lock")
            task = loop.create_task(explode())
            loop.run_until_complete(asyncio.sleep(0))
            with tasks._lock:
                del task
            loop.close()
            print("no deadlock")
        """
        child = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
        )  # the timeout only turns a deadlock into an error instead of a hung suite
        self.assertEqual((child.returncode, child.stdout), (0, "no deadlock\n"), child.stderr)
        self.assertIn("ValueError: finalized inside the lock", child.stderr)  # asyncio's own log


class Reports(leaktest.LeakCheckedTestCase):
    def test_await_chain_reaches_the_inner_coroutines_and_awaited_tasks(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                server = keep(asyncio.create_task(serve_forever(), name="server"))

                async def client() -> None:
                    await server

                keep(asyncio.create_task(client(), name="client"))
                await asyncio.sleep(0)

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL")
        client = text[text.index("[Task 'client'") :]
        for name in ("in client", "awaiting Task 'server'", "in serve_forever", "in serve_one", "in wait_forever"):
            self.assertIn(name, client)
        self.assertIn("wait_forever on top of the await chain", text)

    def test_asyncio_debug_mode_names_the_line_that_created_a_task(self) -> None:
        # asyncio's "created at" (a task's repr, "Task was destroyed but it is pending!")
        # is the last frame of its debug traceback: the caller's, not leaktest's hook.
        async def main() -> list[str]:
            loop = asyncio.get_running_loop()
            tasks = [loop.create_task(asyncio.sleep(0)), asyncio.ensure_future(asyncio.sleep(0))]
            await asyncio.gather(*tasks)
            return [repr(task) for task in tasks]

        loop = asyncio.new_event_loop()
        try:
            loop.set_debug(True)
            made_here, through_ensure_future = loop.run_until_complete(main())
        finally:
            loop.close()
        self.assertIn(f"created at {__file__}:", made_here)
        self.assertIn(f"created at {asyncio.tasks.__file__}:", through_ensure_future)


class Ignores(leaktest.LeakCheckedTestCase):
    def leaking_case(self, **attributes: object) -> type[leaktest.LeakCheckedAsyncTestCase]:
        async def test(self: unittest.TestCase) -> None:
            keep(asyncio.create_task(serve_forever(), name="hub-server"))
            keep(asyncio.create_task(wait_forever(), name="plain-waiter"))
            await asyncio.sleep(0)

        return type("Inner", (leaktest.LeakCheckedAsyncTestCase,), {"test": test, **attributes})

    def leaked_names(self, result: unittest.TestResult) -> list[str]:
        leaks = []
        for _, text in result.failures:
            leaks += [line.split("'")[1] for line in text.splitlines() if line.startswith("[Task '")]
        return sorted(leaks)

    def test_baseline_both_leak(self) -> None:
        self.assertEqual(self.leaked_names(run_tests(self.leaking_case(), "test")), ["hub-server", "plain-waiter"])

    def test_ignore_tasks_by_task_name(self) -> None:
        result = run_tests(self.leaking_case(ignore_tasks=["hub-*"]), "test")
        self.assertEqual(self.leaked_names(result), ["plain-waiter"])

    def test_ignore_tasks_by_coroutine_name(self) -> None:
        result = run_tests(self.leaking_case(ignore_tasks=["serve_forever"]), "test")
        self.assertEqual(self.leaked_names(result), ["plain-waiter"])
        result = run_tests(self.leaking_case(ignore_tasks=["*.wait_forever"]), "test")
        self.assertEqual(self.leaked_names(result), ["hub-server"])

    def test_ignore_top_functions_on_the_await_chain(self) -> None:
        # The innermost frame outside the stdlib is wait_forever for both: serve_one is not on top.
        result = run_tests(self.leaking_case(ignore_top_functions=[serve_one]), "test")
        self.assertEqual(self.leaked_names(result), ["hub-server", "plain-waiter"])
        result = run_tests(self.leaking_case(ignore_top_functions=[f"{__name__}.wait_forever"]), "test")
        self.assertEqual(self.leaked_names(result), [])
        result = run_tests(self.leaking_case(ignore_top_functions=[wait_forever]), "test")
        self.assertEqual(self.leaked_names(result), [])

    def test_ignore_any_functions_on_the_await_chain(self) -> None:
        result = run_tests(self.leaking_case(ignore_any_functions=[serve_one]), "test")
        self.assertEqual(self.leaked_names(result), ["plain-waiter"])


class TaskExceptions(leaktest.LeakCheckedTestCase):
    def test_unretrieved_exception_of_a_kept_task_fails_with_its_traceback(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                async def explode() -> None:
                    raise ValueError("kept task blew up")

                self.task = asyncio.create_task(explode(), name="exploding")
                await asyncio.sleep(0)

        result = run_tests(Inner, "test")
        text = report(result)
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("found exceptions raised in tasks and never retrieved:", text)
        self.assertIn("[Task 'exploding' (coroutine ", text)
        self.assertIn("in explode\n", text)
        self.assertIn("ValueError: kept task blew up", text)

    def test_unretrieved_exception_of_a_dropped_task_fails_with_its_traceback(self) -> None:
        def made_by_the_loop(coro: Coroutine[Any, Any, None], name: str) -> object:
            return asyncio.create_task(coro, name=name)

        def pure_python(coro: Coroutine[Any, Any, None], name: str) -> object:
            return asyncio.tasks._PyTask(coro, name=name)  # type: ignore[attr-defined]  # not a subclass of the C Task

        for make in (made_by_the_loop, pure_python):

            class Inner(leaktest.LeakCheckedAsyncTestCase):
                async def test(self) -> None:
                    async def explode() -> None:
                        raise ValueError("dropped task blew up")

                    make(explode(), "dropped")
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)

            with self.subTest(make.__name__), self.assertLogs("asyncio", "ERROR"):  # asyncio logs it too
                result = run_tests(Inner, "test")
                text = report(result)
                self.assertEqual(verdict(result), "FAIL")
                self.assertIn("[Task 'dropped' (coroutine ", text)
                self.assertIn("ValueError: dropped task blew up", text)

    def test_exception_of_a_task_kept_past_the_test_fails_that_test_not_the_next(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test_a_raises(self) -> None:
                async def explode() -> None:
                    raise ValueError("kept past the test")

                keep(asyncio.create_task(explode(), name="kept-past"))
                await asyncio.sleep(0)

            async def test_b_next(self) -> None:
                await asyncio.sleep(0)

        result = run_tests(Inner, "test_a_raises", "test_b_next")
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_a_raises"])
        self.assertIn("ValueError: kept past the test", report(result))

    def test_exception_of_a_dropped_task_in_a_cycle_fails_that_test_not_the_next(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test_a_raises(self) -> None:
                async def explode() -> None:
                    me = asyncio.current_task()  # task -> exception -> frame -> task: a cycle
                    raise ValueError(f"dropped in a cycle: {me is not None}")

                asyncio.create_task(explode(), name="cyclic")
                await asyncio.sleep(0)

            async def test_b_next(self) -> None:
                await asyncio.sleep(0)

        gc.disable()  # only the cyclic collector frees the task: not before the check
        self.addCleanup(gc.enable)
        result = run_tests(Inner, "test_a_raises", "test_b_next")
        with self.assertNoLogs("asyncio", "ERROR"):  # the check retrieved it: nothing left to log
            gc.collect()
        self.assertEqual([test.id().rsplit(".", 1)[1] for test, _ in result.failures], ["test_a_raises"])
        self.assertIn("ValueError: dropped in a cycle: True", report(result))

    @unittest.skipIf(sys.version_info < (3, 12), "eager tasks are new in 3.12")
    def test_exception_of_an_eager_task_fails_the_test(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                async def explode() -> None:
                    raise ValueError("eager")

                asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
                keep(asyncio.create_task(explode(), name="eager"))

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("ValueError: eager", report(result))
        self.assertIn("[Task 'eager' (coroutine ", report(result))

    def test_exception_in_the_grace_is_reported(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 10.0

            async def test(self) -> None:
                go = asyncio.Event()

                async def explode_later() -> None:
                    await go.wait()
                    raise KeyError("late")

                self.task = asyncio.create_task(explode_later(), name="late")

                async def release() -> None:
                    asyncio.get_running_loop().call_later(0.02, go.set)

                self.addAsyncCleanup(release)

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("KeyError: 'late'", report(result))

    def test_retrieved_exception_passes(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                async def explode() -> None:
                    raise ValueError("handled")

                task = asyncio.create_task(explode())
                with self.assertRaises(ValueError):
                    await task

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))

    def test_exception_the_tests_own_loop_handler_handled_passes(self) -> None:
        # CPython's test_futures2 test_task_exc_handler_correct_context: the handler the
        # test set is asyncio's report of the dropped task, and the test asserts on it.
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                async def explode() -> None:
                    raise ValueError("handled by the test's handler")

                seen: list[str] = []
                asyncio.get_running_loop().set_exception_handler(lambda loop, context: seen.append(context["message"]))
                asyncio.create_task(explode())
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                self.assertEqual(seen, ["Task exception was never retrieved"])

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "ok", report(result))

    def test_exception_the_tests_loop_handler_passes_on_fails(self) -> None:
        class Inner(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                async def explode() -> None:
                    raise ValueError("passed on to the default handler")

                loop = asyncio.get_running_loop()
                loop.set_exception_handler(lambda loop, context: loop.default_exception_handler(context))
                asyncio.create_task(explode(), name="passed-on")
                await asyncio.sleep(0)
                await asyncio.sleep(0)

        with self.assertLogs("asyncio", "ERROR"):
            result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("ValueError: passed on to the default handler", report(result))

    def test_exception_a_handler_set_before_the_test_handled_fails(self) -> None:
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        loop.set_exception_handler(lambda loop, context: None)  # a shared loop's quiet handler

        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                async def explode() -> None:
                    raise ValueError("handled by a handler older than the test")

                async def main() -> None:
                    loop.create_task(explode(), name="older-handler")
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)

                loop.run_until_complete(main())

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("ValueError: handled by a handler older than the test", report(result))


class Guards(leaktest.LeakCheckedTestCase):
    def test_async_with_reports_a_leaked_task(self) -> None:
        async def main() -> str:
            with self.assertRaises(leaktest.LeakError) as caught:
                async with leaktest.no_leaks(grace_period=0):
                    leaked = keep(asyncio.create_task(wait_forever(), name="guarded-task"))
            leaked.cancel()
            return str(caught.exception)

        text = asyncio.run(main())
        self.assertIn("[Task 'guarded-task'", text)

    def test_async_with_awaits_tasks_in_the_grace(self) -> None:
        async def main() -> None:
            async with leaktest.no_leaks(grace_period=10):
                done = asyncio.Event()
                keep(asyncio.create_task(done.wait(), name="ends-in-grace"))
                # Set by the loop 20 ms later: only if the check awaits, not blocks.
                asyncio.get_running_loop().call_later(0.02, done.set)

        started = time.monotonic()
        asyncio.run(main())
        self.assertLess(time.monotonic() - started, 5.0)

    def test_async_decorator(self) -> None:
        @leaktest.no_leaks(grace_period=0)
        async def leaky() -> str:
            keep(asyncio.create_task(wait_forever(), name="decorated-leak"))
            return "value"

        @leaktest.no_leaks
        async def clean() -> str:
            await asyncio.sleep(0)
            return "clean value"

        async def main() -> str:
            self.assertEqual(await clean(), "clean value")
            with self.assertRaises(leaktest.LeakError) as caught:
                await leaky()
            for task in asyncio.all_tasks():
                if task.get_name() == "decorated-leak":
                    task.cancel()
            return str(caught.exception)

        self.assertIn("[Task 'decorated-leak'", asyncio.run(main()))

    def test_sync_no_leaks_sees_tasks_of_other_loops(self) -> None:
        hub = LoopHub().start()
        self.addCleanup(hub.close)
        with self.assertRaises(leaktest.LeakError) as caught:
            with leaktest.no_leaks(grace_period=0):
                hub.submit(serve_forever())
        self.assertIn("serve_forever, pending, on running loop", str(caught.exception))

    def test_verify_none_reports_every_pending_task(self) -> None:
        hub = LoopHub().start()
        self.addCleanup(hub.close)
        hub.submit(serve_forever())
        with self.assertRaises(leaktest.LeakError) as caught:
            leaktest.verify_none(grace_period=0, ignore_threads=["loop-hub"])
        self.assertIn("serve_forever", str(caught.exception))


def tearDownModule() -> None:
    KEPT.clear()


if __name__ == "__main__":
    unittest.main()
