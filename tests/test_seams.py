"""The seams: a probe plugged in from outside, the hooks' one owner, two copies, forks."""

from __future__ import annotations

import gc
import linecache
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import traceback
import unittest
import unittest.mock
import warnings
from collections.abc import Sequence
from typing import Any

import leaktest
from leaktest import check  # noqa: F401  (installs the hooks)
from leaktest.options import Flag, Patterns
from leaktest.probes import PROBES, Probe, clock, install, register
from leaktest.report import Leak
from leaktest.rules import Candidate
from support import importable, pytest_python, report, run_tests, verdict

PACKAGE = os.path.dirname(os.path.abspath(leaktest.__file__))


class Widget:
    """A resource of a kind leaktest does not know: open until closed."""

    open_widgets: list[Widget] = []

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = clock.tick()
        Widget.open_widgets.append(self)

    def close(self) -> None:
        Widget.open_widgets.remove(self)


class WidgetProbe(Probe[int, Widget]):
    kind = "widgets"
    switch = Flag("check_widgets", True, "check widgets")
    names = Patterns("ignore_widgets", "ignore widgets by name", flag="--ignore-widget")
    headings = {"widgets": "found unexpected widgets:"}

    def mark(self, everything: bool = False) -> int:
        return -1 if everything else clock.now

    def count(self) -> int:
        return len(Widget.open_widgets)

    def new_since(self, mark: int) -> list[Widget]:
        return [widget for widget in Widget.open_widgets if widget.seq > mark]

    def candidates(self, items: Sequence[Widget], with_frames: bool) -> list[Candidate]:
        return [Candidate((widget.name,)) for widget in items]

    def wait(self, items: Sequence[Widget], deadline: float) -> list[Widget]:
        return [widget for widget in items if widget in Widget.open_widgets]

    def describe(self, items: Sequence[Widget]) -> list[Leak]:
        return [Leak("widgets", f"Widget {w.name!r}", f"Widget {w.name!r} (still open)", w) for w in items]

    def claim(self, items: Sequence[Widget]) -> None:
        for widget in items:
            widget.close()


class PluggedProbe(leaktest.LeakCheckedTestCase):
    def setUp(self) -> None:
        probe = WidgetProbe()
        register(probe)
        self.addCleanup(PROBES.remove, probe)

    def test_its_leaks_are_reported_under_its_heading(self) -> None:
        class Inner(leaktest.LeakCheckedTestCase):
            def test(self) -> None:
                Widget("w-1")

        result = run_tests(Inner, "test")
        self.assertEqual(verdict(result), "FAIL")
        self.assertIn("found unexpected widgets:\n[Widget 'w-1' (still open)]", report(result))
        self.assertIn("widgets 0 -> 0", report(result))

    def test_its_options_are_class_attributes_and_keywords(self) -> None:
        class Ignoring(leaktest.LeakCheckedTestCase):
            ignore_widgets = ["w-*"]

            def test(self) -> None:
                Widget("w-2").close = lambda: None  # type: ignore[method-assign]

        class Off(leaktest.LeakCheckedTestCase):
            check_widgets = False

            def test(self) -> None:
                Widget("w-3")

        for case in (Ignoring, Off):
            with self.subTest(case.__name__):
                self.assertEqual(verdict(run_tests(case, "test")), "ok")
        Widget.open_widgets.clear()
        with self.assertRaises(TypeError) as caught:
            type("Bad", (leaktest.LeakCheckedTestCase,), {"ignore_widgets": "w-*"})
        self.assertIn("Bad: ignore_widgets", str(caught.exception))
        with self.assertRaises(leaktest.LeakError) as leaked:
            with leaktest.no_leaks(ignore_widgets=["other"]):
                Widget("w-4")
        self.assertIn("Widget 'w-4'", str(leaked.exception))


def run_python(code: str, *paths: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )


class Hooks(leaktest.LeakCheckedTestCase):
    def test_importing_the_report_alone_patches_nothing(self) -> None:
        done = run_python(
            """
            import os, threading, leaktest.report
            print(hasattr(threading.Thread.start, "_leaktest_hook"), hasattr(os.fork, "_leaktest_hook"))
            """,
            os.path.dirname(PACKAGE),
        )
        self.assertEqual(done.stdout.strip(), "False False", done.stderr)

    def test_two_copies_each_see_every_start(self) -> None:
        with tempfile.TemporaryDirectory() as home:
            shutil.copytree(PACKAGE, os.path.join(home, "leaktest2"), ignore=shutil.ignore_patterns("__pycache__"))
            done = run_python(
                """
                import subprocess, sys, threading, unittest
                import leaktest, leaktest2

                def start_both(stop):
                    threading.Thread(target=stop.wait, name="left-running").start()
                    return subprocess.Popen([sys.executable, "-c", "pass"])

                children = []
                for package in (leaktest, leaktest2, leaktest):
                    stop = threading.Event()

                    class Inner(package.LeakCheckedTestCase):
                        grace_period = 0

                        def test(self):
                            children.append(start_both(stop))

                    result = unittest.TestResult()
                    Inner("test").run(result)
                    stop.set()
                    children[-1].wait()
                    text = "".join(t for _, t in result.failures + result.errors)
                    print(package.__name__, len(result.failures), "left-running" in text,
                          "found unexpected processes:" in text, "leaktest2.probes" in text,
                          "started by __main__.start_both" in text)
                    if package is leaktest2:
                        leaktest2.probes.install.uninstall()
                print(hasattr(threading.Thread.start, "_leaktest_hook"))
                """,
                home,
                os.path.dirname(PACKAGE),
            )
        self.assertEqual(
            done.stdout.split("\n"),
            [
                "leaktest 1 True True False True",
                "leaktest2 1 True True False True",
                "leaktest 1 True True False True",  # the other copy's uninstall leaves ours
                "True",
                "",
            ],
            done.stderr,
        )

    def test_the_finalizer_hook_is_shared_and_undone_like_a_wrapper(self) -> None:
        with tempfile.TemporaryDirectory() as home:
            shutil.copytree(PACKAGE, os.path.join(home, "leaktest2"), ignore=shutil.ignore_patterns("__pycache__"))
            done = run_python(
                """
                import _socket, socket
                import leaktest.check, leaktest2.check  # the engine installs the hooks
                from leaktest.probes import install

                hook = socket.socket.__dict__["__del__"]
                print(len(hook._leaktest_hook["before"]))
                try:  # nothing could run after a finalizer the interpreter calls
                    install.install([install.Hook(lambda: socket.socket, "__del__", print, after=True)])
                except ValueError:
                    print("ValueError")
                leaktest2.probes.install.uninstall()
                print(len(hook._leaktest_hook["before"]), socket.socket.__del__ is hook)
                install.uninstall()
                print(socket.socket.__del__ is _socket.socket.__del__)
                """,
                home,
                os.path.dirname(PACKAGE),
            )
        self.assertEqual(done.stdout.split("\n"), ["2", "ValueError", "1 True", "True", ""], done.stderr)

    def test_linecache_never_stats_a_wrappers_file_and_a_traceback_shows_its_line(self) -> None:
        # asyncio's debug mode extracts the create_task wrapper's frame into every task's
        # source traceback, and linecache.checkcache stats each file it holds whole.
        def fail() -> None:
            socket.socket(-12345)  # no such family: raised through the wrapper

        try:
            fail()
        except OSError:
            text = traceback.format_exc()
        else:
            self.fail("no OSError")
        wrapper = socket.socket.__init__.__code__
        self.assertIn(f'File "{wrapper.co_filename}"', text)
        self.assertIn("original(*args, **kwargs)", text)  # its line, read through the module's loader
        stats: list[str] = []
        real_stat = os.stat

        def counted_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
            stats.append(str(path))
            return real_stat(path, *args, **kwargs)

        with unittest.mock.patch("os.stat", counted_stat):
            linecache.checkcache(wrapper.co_filename)
        self.assertEqual(stats, [])

    @unittest.skipUnless(importable("coverage"), "coverage is not importable (set LEAKTEST_PYTEST_PYTHON)")
    def test_coverage_counts_a_wrappers_lines_as_its_files(self) -> None:
        # coverage.py takes a frame's __file__ for its code's file where the base names agree;
        # else it records the code's file, and its report fails on one with no source.
        with tempfile.TemporaryDirectory() as home:
            with open(os.path.join(home, "test_one_socket.py"), "w") as module:
                module.write("import socket, unittest\n\n")
                module.write("class OneSocket(unittest.TestCase):\n    def test(self):\n")
                module.write("        socket.socket().close()\n")
            data = os.path.join(home, "coverage-data")
            env = {**os.environ, "PYTHONPATH": os.path.dirname(PACKAGE)}

            def coverage(command: str, *args: str) -> subprocess.CompletedProcess[str]:
                command_line = [pytest_python(), "-m", "coverage", command, f"--data-file={data}", *args]
                return subprocess.run(command_line, cwd=home, env=env, capture_output=True, text=True, timeout=300)

            ran = coverage("run", "-m", "leaktest", "test_one_socket")
            self.assertEqual(ran.returncode, 0, ran.stdout + ran.stderr)
            reported = coverage("report", f"--include={PACKAGE}{os.sep}probes{os.sep}*")
        self.assertEqual(reported.returncode, 0, reported.stdout + reported.stderr)
        self.assertIn(os.path.join("probes", "install.py"), reported.stdout)
        self.assertNotIn("(hook)", reported.stdout)

    @unittest.skipIf(sys.version_info < (3, 12), "sys.monitoring is 3.12+: a wrapper hears of create_task")
    def test_create_task_runs_with_no_frame_of_leaktests_and_is_heard(self) -> None:
        import asyncio

        from leaktest.probes import tasks

        on_the_stack: list[str] = []

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            on_the_stack.extend(frame.f_code.co_filename for frame, _ in traceback.walk_stack(None))
            return asyncio.Task(coro, loop=loop, **kwargs)

        async def nothing() -> None:
            pass

        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        loop.set_task_factory(factory)
        task = loop.create_task(nothing())
        loop.run_until_complete(task)
        self.assertNotIn(install.WRAPPER_FILE, on_the_stack)
        self.assertIn(__file__, on_the_stack)  # (the stack was walked out to this test)
        self.assertGreater(tasks.task_seq(task), 0)
        self.assertEqual(
            asyncio.BaseEventLoop.__dict__["create_task"].__code__.co_filename, asyncio.base_events.__file__
        )

    @unittest.skipIf(sys.version_info < (3, 12), "sys.monitoring is 3.12+")
    def test_create_task_has_a_wrapper_when_the_tool_id_is_taken_and_uninstall_gives_it_back(self) -> None:
        done = run_python(
            """
            import asyncio, sys
            from leaktest.probes import install

            sys.monitoring.use_tool_id(5, "someone's")
            import leaktest.check
            from leaktest.probes import tasks

            async def nothing():
                pass

            loop = asyncio.new_event_loop()
            task = loop.create_task(nothing())
            loop.run_until_complete(task)
            loop.close()
            print(hasattr(asyncio.BaseEventLoop.create_task, "_leaktest_hook"), tasks.task_seq(task) > 0)
            install.uninstall()
            sys.monitoring.free_tool_id(5)
            install.install(tasks.TaskProbe().hooks())
            print(hasattr(asyncio.BaseEventLoop.create_task, "_leaktest_hook"), sys.monitoring.get_tool(5))
            install.uninstall()
            print(sys.monitoring.get_tool(5))
            """,
            os.path.dirname(PACKAGE),
        )
        self.assertEqual(done.stdout.split("\n"), ["True True", "False leaktest", "None", ""], done.stderr)

    def test_a_finalizer_may_tick_inside_the_clocks_lock(self) -> None:
        """A probe lists what it numbers inside the clock's lock; a list growing there may
        run the garbage collector, and a finalizer it runs may tick (asyncio reporting a
        pending task it destroys)."""
        ticked: list[int] = []

        class TicksWhenCollected:
            def __init__(self) -> None:
                self.cycle = self

            def __del__(self) -> None:
                if clock.lock.acquire(timeout=5):  # (`clock.tick()` alone would wait for good)
                    try:
                        ticked.append(clock.tick())
                    finally:
                        clock.lock.release()

        def collect_in_the_lock() -> None:
            TicksWhenCollected()
            clock.lock.acquire()
            try:
                gc.collect()
            finally:
                clock.lock.release()

        collector = threading.Thread(target=collect_in_the_lock, daemon=True)
        collector.start()
        collector.join()
        self.assertEqual(len(ticked), 1)

    @unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
    def test_a_forked_child_gets_every_lock_free(self) -> None:
        locks = install.locks()
        self.assertGreaterEqual(len(locks), 5)  # install, clock, threads, tasks, processes
        held, release = threading.Event(), threading.Event()

        def hold_them_all() -> None:
            for lock in locks:
                lock.acquire()
            held.set()
            release.wait()
            for lock in reversed(locks):
                lock.release()

        holder = threading.Thread(target=hold_them_all)
        holder.start()
        held.wait()
        fork = getattr(os.fork, "_leaktest_hook")["original"]  # the hook would wait for the held locks
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # forking with threads (3.12+)
            pid = fork()
        if pid == 0:
            os._exit(sum(not lock.acquire(timeout=0) for lock in locks))
        release.set()
        holder.join()
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)


class ExcepthookOrder(unittest.TestCase):
    """A plain TestCase: a leak-checked test's own baseline would keep leaktest's
    excepthook in place (it covers the threads this test starts) past the body."""

    def test_excepthook_survives_blocks_ending_out_of_order(self) -> None:
        previous = threading.excepthook
        self.addCleanup(setattr, threading, "excepthook", previous)
        threading.excepthook = before = lambda args: None  # chained to: keeps stderr quiet
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
        caught: list[BaseException] = []

        blocks = ["first", "second"]  # each block sees the other's thread start

        def first() -> None:
            try:
                with leaktest.no_leaks(ignore_threads=blocks):
                    first_in.set()
                    second_in.wait()
            finally:
                first_out.set()

        def second() -> None:
            first_in.wait()
            try:
                with leaktest.no_leaks(ignore_threads=blocks):
                    second_in.set()
                    first_out.wait()
                    thread = threading.Thread(target=lambda: 1 / 0, name="raising")
                    thread.start()
                    thread.join()
            except leaktest.LeakError as error:
                caught.append(error)

        threads = [threading.Thread(target=first, name="first"), threading.Thread(target=second, name="second")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(caught), 1)
        self.assertRegex(str(caught[0]), r"\[Thread 'raising':\n(  .*\n)+ started by ")
        self.assertIn("ZeroDivisionError", str(caught[0]))
        self.assertIs(threading.excepthook, before)


if __name__ == "__main__":
    unittest.main()
