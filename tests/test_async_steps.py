"""Where an IsolatedAsyncioTestCase is hooked: its loop set-up, not around its run.

In the debug mode IsolatedAsyncioTestCase turns on, every task and future records
the whole stack: a frame of leaktest's around the test would be paid for by
every task the test makes. So no leaktest frame may be on the stack while the
test runs, and what begins in the loop set-up must end without a `finally`
around the run: at the check, for a skipped test never, after `debug()` too.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import traceback
import unittest
import unittest.mock
from typing import Any

import leaktest
from leaktest import check, runner, stacks
from leaktest.probes import event_loops, install, threads
from leaktest.settings import Settings
from support import report, run_tests, verdict

LEAKTEST_DIR = os.path.dirname(leaktest.__file__)
SUITE_FILE = unittest.suite.__file__


def leaktest_frames() -> list[str]:
    """leaktest's frames on the stack of the inner test, as "file:function": those
    inside its suite's `run` (the outer test is a leak-checked one too)."""
    stack = traceback.extract_stack()
    suite_runs = [i for i, frame in enumerate(stack) if frame.filename == SUITE_FILE and frame.name == "run"]
    return [
        f"{os.path.basename(frame.filename)}:{frame.name}"
        for frame in stack[suite_runs[-1] :]
        if frame.filename.startswith(LEAKTEST_DIR)
    ]


class StackSeen(unittest.IsolatedAsyncioTestCase):
    """Notes leaktest's frames at each step, and in a task the test creates."""

    seen: dict[str, list[str]] = {}

    async def asyncSetUp(self) -> None:
        self.seen["asyncSetUp"] = leaktest_frames()

    async def test(self) -> None:
        self.seen["test"] = leaktest_frames()
        self.seen["task"] = await asyncio.get_running_loop().create_task(self.in_task())

    async def in_task(self) -> list[str]:
        return leaktest_frames()

    async def asyncTearDown(self) -> None:
        self.seen["asyncTearDown"] = leaktest_frames()


class CheckedStackSeen(StackSeen, leaktest.LeakCheckedAsyncTestCase):
    seen: dict[str, list[str]] = {}


class PlainStackSeen(StackSeen):
    seen: dict[str, list[str]] = {}


class NoFramesWhileTheTestRuns(leaktest.LeakCheckedTestCase):
    def test_base_class(self) -> None:
        result = run_tests(CheckedStackSeen, "test")
        self.assertEqual(verdict(result), "ok")
        self.assertEqual(CheckedStackSeen.seen, {"asyncSetUp": [], "test": [], "task": [], "asyncTearDown": []})

    def test_runner(self) -> None:
        suite = unittest.TestSuite([PlainStackSeen("test")])
        runner.prepare(suite, Settings())
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual(verdict(result), "ok")
        self.assertEqual(PlainStackSeen.seen, {"asyncSetUp": [], "test": [], "task": [], "asyncTearDown": []})

    def test_a_leak_is_still_the_tests_failure(self) -> None:
        class Leaky(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 0

            async def test(self) -> None:
                asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="left-waiting")

        result = run_tests(Leaky, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("left-waiting", result.failures[0][1])

    def test_a_task_built_directly_is_seen_on_the_clean_path(self) -> None:
        # asyncio.Task(...) does not go through loop.create_task: the clock does not
        # move, and only the look at what is pending on the test's loop sees it.
        class Direct(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 0

            async def test(self) -> None:
                asyncio.Task(asyncio.Event().wait(), name="built-directly")
                await asyncio.sleep(0)

        result = run_tests(Direct, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("built-directly", result.failures[0][1])

    def test_a_test_that_leaves_nothing_takes_the_clean_path(self) -> None:
        # On every version: the loop the base class makes, and its own tasks (3.10's
        # `_asyncioCallsTask`, 3.11+'s runner's), are not the test's doing.
        checked: list[object] = []

        class Clean(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                await asyncio.sleep(0)

            def _leaktest_check(self, baseline: check.Baseline) -> None:
                checked.append(baseline)
                super()._leaktest_check(baseline)

        result = run_tests(Clean, "test")
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertEqual(checked, [])


def made_something_noting_closing_frames(
    base: type[unittest.IsolatedAsyncioTestCase],
) -> tuple[type[Any], dict[str, list[str]]]:
    """A test class of `base` that makes a socket (the clock moves: the whole check runs)
    and notes, per task made on its loop, leaktest's frames in its source traceback."""
    made_at: dict[str, list[str]] = {}

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        stack = task._source_traceback  # type: ignore[attr-defined]
        suite_runs = [i for i, frame in enumerate(stack) if frame.filename == SUITE_FILE and frame.name == "run"]
        made_at[coro.__qualname__] = [
            f"{os.path.basename(frame.filename)}:{frame.name}"
            for frame in stack[suite_runs[-1] :]
            if frame.filename.startswith(LEAKTEST_DIR) and frame.filename != install.WRAPPER_FILE  # (3.10-3.11)
        ]
        return task

    class MadeSomething(base):  # type: ignore[valid-type, misc]
        async def asyncSetUp(self) -> None:
            asyncio.get_running_loop().set_task_factory(factory)

        async def test(self) -> None:
            socket.socket().close()

    return MadeSomething, made_at


class TheTestsOwnLoop(leaktest.LeakCheckedTestCase):
    """The loop the base class's runner makes for the test, at the baseline, is named
    by its innermost frame, what a report names: no walk out to the framework's frames."""

    def test_its_making_walks_no_stack(self) -> None:
        walked: list[object] = []
        loops: list[asyncio.AbstractEventLoop] = []
        creation_stack = stacks.creation_stack

        def spy(frame: Any) -> Any:
            walked.append(frame.f_code.co_name)
            return creation_stack(frame)

        class Trivial(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                loops.append(asyncio.get_running_loop())

        with unittest.mock.patch.object(stacks, "creation_stack", spy):
            result = run_tests(Trivial, "test")
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertEqual(walked, [])
        site = event_loops.origin_of(loops[0])
        assert site is not None
        self.assertEqual(site.origin.function, "asyncio.selector_events.BaseSelectorEventLoop.__init__")
        self.assertIsNotNone(site.test)


@unittest.skipIf(sys.version_info >= (3, 11), "3.10: the loop's set-up makes the task that runs the test's steps")
class FewFramesWhileTheLoopIsSetUp(leaktest.LeakCheckedTestCase):
    """3.10's loop set-up makes the task that runs every step of the test, and runs the
    loop: each task and callback made then extracts the whole stack in debug mode,
    leaktest's frames included. One is there, the step that replaces the set-up."""

    def leaktest_frames_under_the_steps(self, base: type[unittest.IsolatedAsyncioTestCase]) -> list[str]:
        seen: list[str] = []

        class Trivial(base):  # type: ignore[valid-type, misc]
            async def test(self) -> None:
                made_at = asyncio.current_task()._source_traceback  # type: ignore[union-attr]
                inner = max(i for i, f in enumerate(made_at) if f.filename == SUITE_FILE and f.name == "run")
                seen.extend(
                    f"{os.path.basename(f.filename)}:{f.name}"
                    for f in made_at[inner:]
                    if f.filename.startswith(LEAKTEST_DIR)
                )

        suite = unittest.TestSuite([Trivial("test")])
        runner.prepare(suite, Settings())
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual(verdict(result), "ok", report(result))
        return seen

    def test_base_class(self) -> None:
        self.assertEqual(
            self.leaktest_frames_under_the_steps(leaktest.LeakCheckedAsyncTestCase), ["_async_compat.py:_set_up"]
        )

    def test_runner(self) -> None:
        self.assertEqual(
            self.leaktest_frames_under_the_steps(unittest.IsolatedAsyncioTestCase), ["_async_compat.py:set_up_hooked"]
        )


class FewFramesWhileTheLoopCloses(leaktest.LeakCheckedTestCase):
    """A test that made something is checked around the closing of its loop, which makes
    tasks: each extracts the whole stack in debug mode, leaktest's frames included. The
    loop is closed from `doCleanups` itself, the check's first frame."""

    # 3.10: `_tearDownAsyncioLoop` is disarmed once, in a function of leaktest's.
    CLOSING = ["async_case.py:checked_cleanups"] + (["_async_compat.py:closer"] if sys.version_info < (3, 11) else [])

    def test_base_class(self) -> None:
        made, made_at = made_something_noting_closing_frames(leaktest.LeakCheckedAsyncTestCase)
        result = run_tests(made, "test")
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertEqual(made_at["BaseEventLoop.shutdown_default_executor"], self.CLOSING, made_at)

    def test_runner(self) -> None:
        made, made_at = made_something_noting_closing_frames(unittest.IsolatedAsyncioTestCase)
        suite = unittest.TestSuite([made("test")])
        runner.prepare(suite, Settings())
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual(verdict(result), "ok", report(result))
        self.assertEqual(made_at["BaseEventLoop.shutdown_default_executor"], self.CLOSING, made_at)


class BaselinesEnd(leaktest.LeakCheckedTestCase):
    """A baseline holds a token of the thread probe until it ends: none may stay behind."""

    def assertNoBaselineLeft(self, run: object) -> None:
        before = dict(threads._alive)
        assert callable(run)
        run()
        self.assertEqual(threads._alive, before)

    def test_clean_and_failing_tests(self) -> None:
        class Tests(leaktest.LeakCheckedAsyncTestCase):
            grace_period = 0

            async def test_clean(self) -> None:
                pass

            async def test_failing(self) -> None:
                self.fail("its own failure")

        self.assertNoBaselineLeft(lambda: self.assertEqual(len(run_tests(Tests).failures), 1))

    def test_an_error_closing_the_loop_is_the_tests_error(self) -> None:
        # The check closes the loop from `doCleanups`; what that raises is the test's ERROR.
        teardown = "_tearDownAsyncioRunner" if sys.version_info >= (3, 11) else "_tearDownAsyncioLoop"
        failed: list[bool] = []

        def failing_once(self: unittest.IsolatedAsyncioTestCase) -> None:
            if not failed:
                failed.append(True)
                raise RuntimeError("the loop would not close")
            getattr(unittest.IsolatedAsyncioTestCase, teardown)(self)

        class Closing(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                socket.socket().close()  # the clock moves: the whole check runs

        setattr(Closing, teardown, failing_once)

        def run() -> None:
            result = run_tests(Closing, "test")
            self.assertEqual(verdict(result), "ERROR", report(result))
            self.assertIn("the loop would not close", result.errors[0][1])

        self.assertNoBaselineLeft(run)

    def test_skipped_test(self) -> None:
        class Skipped(leaktest.LeakCheckedAsyncTestCase):
            @unittest.skip("not today")
            async def test(self) -> None:
                pass

        self.assertNoBaselineLeft(lambda: self.assertEqual(len(run_tests(Skipped, "test").skipped), 1))

    def test_skipped_class(self) -> None:
        @unittest.skip("not today")
        class Skipped(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                pass

        self.assertNoBaselineLeft(lambda: self.assertEqual(len(run_tests(Skipped, "test").skipped), 1))

    def test_skipped_test_under_the_runner(self) -> None:
        class Skipped(unittest.IsolatedAsyncioTestCase):
            @unittest.skip("not today")
            async def test(self) -> None:
                pass

        def run() -> None:
            suite = unittest.TestSuite([Skipped("test")])
            runner.prepare(suite, Settings())
            result = unittest.TestResult()
            suite.run(result)
            self.assertEqual(len(result.skipped), 1)

        self.assertNoBaselineLeft(run)

    def test_debug_checks_nothing_and_ends_its_baseline(self) -> None:
        class Debugged(leaktest.LeakCheckedAsyncTestCase):
            async def test(self) -> None:
                pass

        self.assertNoBaselineLeft(Debugged("test").debug)


if __name__ == "__main__":
    unittest.main()
